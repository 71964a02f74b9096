//! Account listings in the formats governance platforms ingest: a table, JSON lines, a CSV
//! for spreadsheets, ConductorOne's baton-file records as CSV, and a SCIM 2.0 ListResponse.

pub mod baton;
pub mod csv;
pub mod scim;

use crate::output;
use connector_host::types::Account;
use std::io::Write;

/// How `accounts` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable table.
    Table,
    /// One JSON object per account per line.
    Json,
    /// One row per account, for spreadsheets.
    Csv,
    /// ConductorOne baton-file records (users, resources, entitlements, grants) as CSV.
    BatonCsv,
    /// A SCIM 2.0 ListResponse of User resources (RFC 7643/7644).
    Scim,
}

/// One listed account and where it came from.
#[derive(Debug, Clone)]
pub struct Row {
    /// The tenant, in multi-tenant runs.
    pub tenant: Option<String>,
    /// The app of the connector.
    pub app: String,
    /// The account.
    pub account: Account,
}

/// Write `rows` in `format`.
pub fn render(format: Format, rows: &[Row], out: &mut dyn Write) -> std::io::Result<()> {
    match format {
        Format::Table => table(rows, out),
        Format::Json => {
            for r in rows {
                writeln!(
                    out,
                    "{}",
                    output::account_json(&r.app, r.tenant.as_deref(), &r.account)
                )?;
            }
            Ok(())
        }
        Format::Csv => csv::write(rows, out),
        Format::BatonCsv => baton::write(rows, out),
        Format::Scim => writeln!(out, "{:#}", scim::list_response(rows)),
    }
}

/// A tenant (if any) and an app.
type Group<'a> = (Option<&'a str>, &'a str);

/// A table per tenant and app (one table when there is a single one).
fn table(rows: &[Row], out: &mut dyn Write) -> std::io::Result<()> {
    let mut groups: Vec<(Group<'_>, Vec<Account>)> = Vec::new();
    for r in rows {
        let key = (r.tenant.as_deref(), r.app.as_str());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(r.account.clone()),
            None => groups.push((key, vec![r.account.clone()])),
        }
    }
    if groups.is_empty() {
        return write!(out, "{}", output::accounts_table(&[]));
    }
    for ((tenant, app), list) in &groups {
        if let Some(t) = tenant {
            writeln!(out, "== tenant {t} ({app}) ==")?;
        }
        write!(out, "{}", output::accounts_table(list))?;
    }
    Ok(())
}

/// One CSV record (RFC 4180): fields quoted when they hold a comma, quote or line break.
pub fn csv_record(cells: &[&str]) -> String {
    let quoted: Vec<String> = cells
        .iter()
        .map(|c| {
            if c.contains([',', '"', '\n', '\r']) || c.starts_with(' ') || c.ends_with(' ') {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.to_string()
            }
        })
        .collect();
    quoted.join(",") + "\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(csv_record(&["a", "b c"]), "a,b c\r\n");
        assert_eq!(
            csv_record(&["x,y", "say \"hi\"", "two\nlines"]),
            "\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        );
    }
}
