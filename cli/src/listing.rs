//! Printing a listing: the format, the inactivity filter and its summary, and the two ways
//! of getting one tenant's accounts (a full listing, or Frontline identities one by one).

use crate::args::Global;
use crate::formats::{self, Format, Row};
use crate::inactivity::{self, By};
use anyhow::{Context, anyhow, bail};
use connector_host::{Host, Tenant};
use std::io::Write;
use std::process::ExitCode;

/// How a listing is printed: its format and, for license reviews, the inactivity filter.
pub struct Listing {
    format: Format,
    inactive: Option<(String, chrono::DateTime<chrono::Utc>, By)>,
}

impl Listing {
    /// From the command line: `--format` (or the global `--json`), `--inactive-for`, `--by`.
    pub fn new(
        g: &Global,
        format: Option<Format>,
        inactive_for: Option<&str>,
        by: By,
    ) -> anyhow::Result<Self> {
        let format = match (format, g.json) {
            (Some(f), true) if f != Format::Json => {
                bail!("--json asks for JSON but --format asks for another; give one of them")
            }
            (Some(f), _) => f,
            (None, true) => Format::Json,
            (None, false) => Format::Table,
        };
        let inactive = match inactive_for {
            None => None,
            Some(p) => {
                let period = inactivity::parse_period(p)?;
                let now = crate::setup::now(g)?.unwrap_or_else(chrono::Utc::now);
                Some((p.to_string(), now - period, by))
            }
        };
        Ok(Self { format, inactive })
    }

    /// A plain listing (the demo).
    pub fn plain(json: bool) -> Self {
        Self {
            format: if json { Format::Json } else { Format::Table },
            inactive: None,
        }
    }

    /// Filter (when asked), print the rows, and the summary line on stderr.
    pub fn emit(&self, rows: Vec<Row>) -> anyhow::Result<()> {
        let rows = match &self.inactive {
            None => rows,
            Some((period, cutoff, by)) => {
                let (kept, summary) = inactivity::filter(rows, *cutoff, *by);
                eprintln!("{}", summary.line(period, *by));
                kept
            }
        };
        let mut out = std::io::stdout().lock();
        formats::render(self.format, &rows, &mut out)?;
        out.flush()?;
        Ok(())
    }
}

/// Rows of one tenant and app.
pub fn rows(
    tenant: Option<&str>,
    app: &str,
    accounts: Vec<connector_host::types::Account>,
) -> Vec<Row> {
    accounts
        .into_iter()
        .map(|account| Row {
            tenant: tenant.map(str::to_string),
            app: app.to_string(),
            account,
        })
        .collect()
}

/// Frontline has no list API: fetch each identity; report the missing ones, keep the rest.
pub async fn accounts_by_identity(
    host: &Host,
    tenant: &Tenant,
    file: &std::path::Path,
    listing: &Listing,
) -> anyhow::Result<ExitCode> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read identities from stdin")?
    } else {
        std::fs::read_to_string(file)
            .with_context(|| format!("cannot read identities file {}", file.display()))?
    };
    let ids: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for id in &ids {
        match host.get_account(tenant, id).await {
            Ok(a) => found.push(a),
            Err(connector_host::CallError::Connector {
                error: connector_host::types::ConnectorError::NotFound(_),
                ..
            }) => missing.push(*id),
            Err(e) => return Err(anyhow!("{id}: {e}")),
        }
    }
    listing.emit(rows(None, &tenant.app, found))?;
    if !missing.is_empty() {
        eprintln!(
            "not found ({} of {}): {}",
            missing.len(),
            ids.len(),
            missing.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Every account of the tenant, with a progress spinner on stderr.
pub async fn accounts(host: &Host, tenant: &Tenant, listing: &Listing) -> anyhow::Result<ExitCode> {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message("syncing accounts");
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let result = host
        .list_all(tenant, |n| bar.set_message(format!("{n} accounts read")))
        .await;
    bar.finish_and_clear();
    listing.emit(rows(None, &tenant.app, result?))?;
    Ok(ExitCode::SUCCESS)
}
