//! Output: JSON lines (the fields of DESIGN §6) or readable tables.

use connector_host::types::{
    Account, AccountStatus, ActionResult, Capability, ConnectorInfo, EntitlementKind,
};
use serde_json::{Value, json};

/// Text from a plugin or an upstream made safe for a terminal: control characters (C0, DEL,
/// C1 — escape sequences, carriage returns, bells) are shown as `\u{..}` escapes.
pub fn safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// An error and its causes as one line: each cause once (one whose text its wrapper already
/// shows is left out), without operating-system error numbers.
pub fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = without_os_error(&cause.to_string());
        let text = text.trim();
        if text.is_empty() || line.contains(text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(text);
    }
    line.replace(['\n', '\r'], " ")
}

/// `Connection refused (os error 111)` → `Connection refused`.
fn without_os_error(s: &str) -> String {
    let mut out = s.to_string();
    while let Some(i) = out.find(" (os error ") {
        let Some(j) = out[i..].find(')') else { break };
        out.replace_range(i..i + j + 1, "");
    }
    out
}

/// Lower-case names of statuses and entitlement kinds: one spelling for every format and
/// the SCIM service.
pub use connector_scim::resources::{kind_name, status_name};

/// An account as one JSON object.
pub fn account_json(app: &str, tenant: Option<&str>, a: &Account) -> Value {
    let mut v = json!({
        "app": app,
        "id": a.id,
        "username": a.username,
        "email": a.email,
        "display_name": a.display_name,
        "status": status_name(a.status),
        "last_activity": a.last_activity,
        "entitlements": a.entitlements.iter().map(|e| json!({
            "kind": kind_name(e.kind),
            "id": e.id,
            "name": e.name,
            "last_activity": e.last_activity,
        })).collect::<Vec<_>>(),
        "attributes": a.attributes.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<String, Value>>(),
        "warnings": a.warnings,
    });
    if let Some(t) = tenant {
        v["tenant"] = json!(t);
    }
    v
}

/// Read back what [`account_json`] wrote (a snapshot line): (tenant, app, account).
pub fn account_from_json(v: &Value) -> Result<(Option<String>, String, Account), String> {
    let text = |k: &str| v[k].as_str().map(str::to_string);
    let status = match v["status"].as_str() {
        Some("active") => AccountStatus::Active,
        Some("suspended") => AccountStatus::Suspended,
        Some("deprovisioned") => AccountStatus::Deprovisioned,
        other => return Err(format!("unknown status {other:?}")),
    };
    let mut entitlements = Vec::new();
    for e in v["entitlements"].as_array().into_iter().flatten() {
        let kind = match e["kind"].as_str() {
            Some("account_type") => EntitlementKind::AccountType,
            Some("role") => EntitlementKind::Role,
            Some("service") => EntitlementKind::Service,
            other => return Err(format!("unknown entitlement kind {other:?}")),
        };
        entitlements.push(connector_host::types::Entitlement {
            kind,
            id: e["id"].as_str().unwrap_or_default().to_string(),
            name: e["name"].as_str().unwrap_or_default().to_string(),
            last_activity: e["last_activity"].as_str().map(str::to_string),
        });
    }
    let account = Account {
        id: text("id").ok_or("no id")?,
        username: text("username"),
        email: text("email"),
        display_name: text("display_name"),
        status,
        last_activity: text("last_activity"),
        entitlements,
        attributes: v["attributes"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, x)| (k.clone(), x.as_str().unwrap_or_default().to_string()))
            .collect(),
        warnings: v["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|w| w.as_str().map(str::to_string))
            .collect(),
    };
    Ok((text("tenant"), text("app").unwrap_or_default(), account))
}

/// A grantable entitlement as one JSON object.
pub fn entitlement_json(app: &str, e: &connector_host::types::EntitlementInfo) -> Value {
    json!({
        "app": app,
        "kind": kind_name(e.kind),
        "id": e.id,
        "name": e.name,
        "description": e.description,
    })
}

/// A grantable entitlement as one line: id, kind, name (terminal-safe).
pub fn entitlement_text(e: &connector_host::types::EntitlementInfo) -> String {
    safe(&format!(
        "{}  {}  {}{}",
        e.id,
        kind_name(e.kind),
        e.name,
        e.description
            .as_deref()
            .map(|d| format!(" — {d}"))
            .unwrap_or_default()
    ))
}

/// An action result as one JSON object.
pub fn action_json(app: &str, r: &ActionResult) -> Value {
    json!({
        "app": app,
        "id": r.account_id,
        "action": connector_host::actions::kind_name(r.action),
        "dry_run": r.dry_run,
        "changed": r.changed,
        "status": r.status.map(status_name),
        "message": r.message,
        "warnings": r.warnings,
    })
}

fn cell(s: &str, width: usize) -> String {
    let s = &safe(s);
    let mut out: String = s.chars().take(width).collect();
    if s.chars().count() > width {
        out.pop();
        out.push('…');
    }
    format!("{out:<width$}")
}

/// Accounts as a table.
pub fn accounts_table(accounts: &[Account]) -> String {
    let mut out = format!(
        "{}  {}  {}  {}  {}\n",
        cell("ID", 34),
        cell("STATUS", 13),
        cell("LAST ACTIVITY", 20),
        cell("NAME", 24),
        "ENTITLEMENTS"
    );
    for a in accounts {
        let ents: Vec<String> = a
            .entitlements
            .iter()
            .map(|e| match &e.last_activity {
                Some(t) => format!("{} ({})", e.name, t.get(..10).unwrap_or(t)),
                None => e.name.clone(),
            })
            .collect();
        out.push_str(&format!(
            "{}  {}  {}  {}  {}\n",
            cell(&a.id, 34),
            cell(status_name(a.status), 13),
            cell(a.last_activity.as_deref().unwrap_or("-"), 20),
            cell(
                a.display_name
                    .as_deref()
                    .or(a.username.as_deref())
                    .unwrap_or("-"),
                24
            ),
            safe(&ents.join(", "))
        ));
        for w in &a.warnings {
            out.push_str(&format!("    warning: {}\n", safe(w)));
        }
    }
    out.push_str(&format!("{} account(s)\n", accounts.len()));
    out
}

/// One account in detail.
pub fn account_detail(a: &Account) -> String {
    let mut out = String::new();
    let line = |k: &str, v: &str| format!("{:<14}{}\n", safe(k), safe(v));
    out.push_str(&line("id", &a.id));
    out.push_str(&line("username", a.username.as_deref().unwrap_or("-")));
    out.push_str(&line("email", a.email.as_deref().unwrap_or("-")));
    out.push_str(&line(
        "display name",
        a.display_name.as_deref().unwrap_or("-"),
    ));
    out.push_str(&line("status", status_name(a.status)));
    out.push_str(&line(
        "last activity",
        a.last_activity.as_deref().unwrap_or("-"),
    ));
    for e in &a.entitlements {
        let when = e
            .last_activity
            .as_deref()
            .map(|t| format!(", last activity {t}"))
            .unwrap_or_default();
        out.push_str(&line(
            "entitlement",
            &format!("{}: {}{when}", kind_name(e.kind), e.name),
        ));
    }
    for (k, v) in &a.attributes {
        out.push_str(&line(k, v));
    }
    for w in &a.warnings {
        out.push_str(&line("warning", w));
    }
    out
}

/// An action result for people.
pub fn action_text(r: &ActionResult) -> String {
    let mut out = String::new();
    if r.dry_run {
        out.push_str("[dry run] ");
    }
    out.push_str(&safe(&r.message));
    out.push('\n');
    for w in &r.warnings {
        out.push_str(&format!("warning: {}\n", safe(w)));
    }
    out
}

/// The plugin's apps.
pub fn apps_text(info: &ConnectorInfo) -> String {
    let mut out = format!("{} {}\n", safe(&info.name), safe(&info.version));
    for a in &info.apps {
        let caps: Vec<String> = a
            .capabilities
            .iter()
            .map(|c| cap_name(*c).to_string())
            .collect();
        out.push_str(&format!(
            "  {:<10} {}\n             hosts: {}\n             can: {}\n",
            safe(&a.name),
            safe(&a.description),
            safe(&a.hosts.join(", ")),
            caps.join(", ")
        ));
    }
    out
}

/// The plugin's apps as JSON.
pub fn apps_json(info: &ConnectorInfo) -> Value {
    json!({
        "name": info.name,
        "version": info.version,
        "apps": info.apps.iter().map(|a| json!({
            "name": a.name,
            "description": a.description,
            "hosts": a.hosts,
            "capabilities": a.capabilities.iter().map(|c| cap_name(*c).to_string()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn cap_name(c: Capability) -> &'static str {
    match c {
        Capability::ListAccounts => "list-accounts",
        Capability::GetAccount => "get-account",
        Capability::Suspend => "suspend",
        Capability::Reactivate => "reactivate",
        Capability::Deprovision => "deprovision",
        Capability::Provision => "provision",
        Capability::ListEntitlements => "list-entitlements",
        Capability::Grant => "grant",
        Capability::Revoke => "revoke",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_chain_is_one_line_with_each_cause_once() {
        #[derive(Debug)]
        struct Wraps(std::io::Error);
        impl std::fmt::Display for Wraps {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "IO error: {}", self.0)
            }
        }
        impl std::error::Error for Wraps {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let io = std::io::Error::from_raw_os_error(111);
        let e = anyhow::Error::new(Wraps(io)).context("cannot connect\nto X");
        assert_eq!(
            error_line(&e),
            "cannot connect to X: IO error: Connection refused"
        );
    }

    #[test]
    fn snapshot_lines_read_back_as_the_same_account() {
        let a = Account {
            id: "WK1".into(),
            username: Some("alice".into()),
            email: None,
            display_name: Some("Alice".into()),
            status: AccountStatus::Suspended,
            last_activity: Some("2025-01-02T00:00:00Z".into()),
            entitlements: vec![connector_host::types::Entitlement {
                kind: EntitlementKind::Role,
                id: "agent".into(),
                name: "agent".into(),
                last_activity: None,
            }],
            attributes: vec![("flex_user_sid".into(), "FU1".into())],
            warnings: vec!["w".into()],
        };
        let (tenant, app, back) =
            account_from_json(&account_json("flex", Some("acme"), &a)).unwrap();
        assert_eq!((tenant.as_deref(), app.as_str()), (Some("acme"), "flex"));
        assert_eq!(back, a);
    }

    #[test]
    fn control_characters_are_shown_not_run() {
        assert_eq!(safe("a\u{1b}[2Jb\r\u{7}"), "a\\u{1b}[2Jb\\u{d}\\u{7}");
        assert_eq!(safe("Zoë"), "Zoë");
    }
}
