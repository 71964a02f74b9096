//! The subcommands that read and act on accounts; `setup` turns global options into a host,
//! `simulate` and `conformance_report` hold the simulator and conformance commands.

use crate::args::{ActionArgs, Cli, Command, Global, ProvisionArgs};
use crate::formats::{self, Format, Row};
use crate::inactivity::{self, By};
use crate::output;
use crate::setup::{connect_to, load, setup};
use crate::{conformance_report, simulate};
use anyhow::{Context, anyhow, bail};
use connector_host::{Action, Host, Tenant};
use std::io::Write;
use std::process::ExitCode;

/// Run one command.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    match &cli.command {
        Command::Sim(a) => simulate::sim(a).await,
        Command::Demo => simulate::demo(g).await,
        Command::Conformance => conformance_report::run(g).await,
        Command::Apps => {
            let host = load(g, None).await?;
            let cached = host.cache() == connector_host::EngineCache::Cached;
            if g.json {
                let mut v = output::apps_json(host.info());
                v["compiled"] = serde_json::json!(if cached { "cache" } else { "now" });
                println!("{v}");
            } else {
                print!("{}", output::apps_text(host.info()));
                println!(
                    "plugin: {}",
                    if cached {
                        "precompiled, loaded from the cache"
                    } else {
                        "compiled now and cached"
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check => {
            let (host, tenant) = setup(g).await?;
            let summary = host.check(&tenant).await?;
            if g.json {
                println!(
                    "{}",
                    serde_json::json!({"app": tenant.app, "ok": true, "message": summary})
                );
            } else {
                println!("{}", output::safe(&summary));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Accounts {
            tenants,
            concurrency,
            identities,
            format,
            inactive_for,
            by,
        } => {
            let listing = Listing::new(g, *format, inactive_for.as_deref(), *by)?;
            if let Some(file) = tenants {
                return multi_tenant(g, file, *concurrency, &listing).await;
            }
            let (host, tenant) = setup(g).await?;
            match identities {
                Some(file) => accounts_by_identity(&host, &tenant, file, &listing).await,
                None => accounts(&host, &tenant, &listing).await,
            }
        }
        Command::Account { id } => {
            let (host, tenant) = setup(g).await?;
            let a = host.get_account(&tenant, id).await?;
            if g.json {
                println!("{}", output::account_json(&tenant.app, None, &a));
            } else {
                print!("{}", output::account_detail(&a));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Suspend(a) => act(g, Action::Suspend, a).await,
        Command::Reactivate(a) => act(g, Action::Reactivate, a).await,
        Command::Deprovision(a) => act(g, Action::Deprovision, a).await,
        Command::Provision(a) => provision(g, a).await,
    }
}

async fn act(g: &Global, action: Action, a: &ActionArgs) -> anyhow::Result<ExitCode> {
    let (host, mut tenant) = setup(g).await?;
    if let Some(available) = a.available {
        if tenant.app != "frontline" {
            bail!("--available applies to the frontline app only");
        }
        tenant = tenant.with_option("available", if available { "true" } else { "false" });
    }
    let r = host.act(&tenant, action, &a.id, a.dry_run).await?;
    if g.json {
        println!("{}", output::action_json(&tenant.app, &r));
    } else {
        print!("{}", output::action_text(&r));
    }
    Ok(ExitCode::SUCCESS)
}

async fn provision(g: &Global, a: &ProvisionArgs) -> anyhow::Result<ExitCode> {
    let (host, tenant) = setup(g).await?;
    let request = connector_host::types::ProvisionRequest {
        username: a.username.clone(),
        email: a.email.clone(),
        full_name: a.full_name.clone(),
        roles: a.roles.clone(),
        attributes_json: a.worker_attributes.clone(),
    };
    let r = host.provision(&tenant, &request, a.dry_run).await?;
    if g.json {
        println!("{}", output::action_json(&tenant.app, &r));
    } else {
        print!("{}", output::action_text(&r));
    }
    Ok(ExitCode::SUCCESS)
}

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

fn rows(
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

/// Sync every tenant of a tenants file; one tenant's failure is reported, the rest go on.
async fn multi_tenant(
    g: &Global,
    file: &std::path::Path,
    concurrency: usize,
    listing: &Listing,
) -> anyhow::Result<ExitCode> {
    let tenants = connector_host::tenants_file::load(file, &g.app)?;
    let host = std::sync::Arc::new(load(g, connect_to(g)?).await?);
    for t in &tenants {
        host.policy_for(&t.app)
            .map_err(|e| anyhow!("tenant {:?}: {e}", t.name))?;
    }
    let results = host.sync_tenants(tenants, concurrency).await;
    let count = results.len();
    let mut failed = 0;
    let mut all = Vec::new();
    for r in results {
        match r.result {
            Ok(list) => all.extend(rows(Some(&r.tenant), &r.app, list)),
            Err(e) => {
                failed += 1;
                eprintln!(
                    "error: tenant {}: {}",
                    output::safe(&r.tenant),
                    output::safe(&e.to_string())
                );
            }
        }
    }
    listing.emit(all)?;
    if failed > 0 {
        eprintln!("{failed} of {count} tenant(s) failed; the others are complete above");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
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
