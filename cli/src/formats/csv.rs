//! One row per account, for spreadsheets. Cells that a spreadsheet would run as a formula
//! (starting with `=`, `+`, `-`, `@`, tab or carriage return) get a leading `'`, since names
//! and warnings come from upstream and may be hostile.

use super::{Row, csv_record};
use crate::output::status_name;
use connector_host::types::EntitlementKind;
use std::io::Write;

/// The header, in order.
pub const COLUMNS: &[&str] = &[
    "tenant",
    "app",
    "id",
    "username",
    "email",
    "display_name",
    "status",
    "last_activity",
    "account_types",
    "roles",
    "services",
    "warnings",
];

/// Write the header and one row per account.
pub fn write(rows: &[Row], out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(csv_record(COLUMNS).as_bytes())?;
    for r in rows {
        let a = &r.account;
        let names = |kind: EntitlementKind, dated: bool| {
            a.entitlements
                .iter()
                .filter(|e| e.kind == kind)
                .map(|e| match (&e.last_activity, dated) {
                    (Some(t), true) => format!("{} ({t})", e.name),
                    _ => e.name.clone(),
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let cells = [
            r.tenant.clone().unwrap_or_default(),
            r.app.clone(),
            a.id.clone(),
            a.username.clone().unwrap_or_default(),
            a.email.clone().unwrap_or_default(),
            a.display_name.clone().unwrap_or_default(),
            status_name(a.status).to_string(),
            a.last_activity.clone().unwrap_or_default(),
            names(EntitlementKind::AccountType, false),
            names(EntitlementKind::Role, false),
            names(EntitlementKind::Service, true),
            a.warnings.join("; "),
        ]
        .map(|c| defuse(&c));
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        out.write_all(csv_record(&refs).as_bytes())?;
    }
    Ok(())
}

/// Keep a spreadsheet from reading a cell as a formula, and a terminal from running control
/// characters in it.
pub fn defuse(cell: &str) -> String {
    let cell = crate::output::safe(cell);
    if cell.starts_with(['=', '+', '-', '@']) {
        format!("'{cell}")
    } else {
        cell
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused() {
        assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("Alice"), "Alice");
    }
}
