//! ConductorOne's `baton-file` records as one CSV: a `record_type` column (`user`, `resource`,
//! `entitlement`, `grant`) and the fields baton-file documents for each record type
//! (docs/json_instructions.md of conductorone/baton-file, in its snake_case names):
//!
//! - users: `name`, `display_name`, `email`, `status` (enabled/disabled/deleted here),
//!   `last_login` (MM/DD/YYYY, from last activity), `type`;
//! - resources: `resource_type`, `resource_function`, `name`, `display_name`, `description`,
//!   `parent_resource` — one `app` resource per tenant and app;
//! - entitlements: `resource_name`, `entitlement` (slug), `display_name`, `description` — one
//!   per distinct account type, role and service;
//! - grants: `principal` (a user's `name`), `entitlement_id` (`resource_name:entitlement`).

use super::{Row, csv_record};
use crate::output::kind_name;
use connector_host::types::{AccountStatus, Entitlement};
use std::collections::BTreeMap;
use std::io::Write;

/// The header: `record_type`, then every documented field once, in this order.
pub const COLUMNS: &[&str] = &[
    "record_type",
    "name",
    "display_name",
    "email",
    "status",
    "last_login",
    "type",
    "resource_type",
    "resource_function",
    "description",
    "parent_resource",
    "resource_name",
    "entitlement",
    "principal",
    "entitlement_id",
];

/// Which columns each record type fills (the rest stay empty).
pub const FIELDS: &[(&str, &[&str])] = &[
    (
        "user",
        &[
            "name",
            "display_name",
            "email",
            "status",
            "last_login",
            "type",
        ],
    ),
    (
        "resource",
        &[
            "resource_type",
            "resource_function",
            "name",
            "display_name",
            "description",
            "parent_resource",
        ],
    ),
    (
        "entitlement",
        &[
            "resource_name",
            "entitlement",
            "display_name",
            "description",
        ],
    ),
    ("grant", &["principal", "entitlement_id"]),
];

/// baton-file's user status for an account status.
pub fn user_status(s: AccountStatus) -> &'static str {
    match s {
        AccountStatus::Active => "enabled",
        AccountStatus::Suspended => "disabled",
        AccountStatus::Deprovisioned => "deleted",
    }
}

/// The app resource's name: the app, prefixed with the tenant in multi-tenant runs.
fn resource_name(r: &Row) -> String {
    match &r.tenant {
        Some(t) => format!("{t}-{}", r.app),
        None => r.app.clone(),
    }
}

/// An entitlement's slug: its kind and id, with characters baton ids cannot hold replaced
/// (`:` separates resource and slug in `entitlement_id`).
fn slug(e: &Entitlement) -> String {
    let id: String =
        e.id.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
    format!("{}-{id}", kind_name(e.kind))
}

/// `MM/DD/YYYY` of an RFC 3339 timestamp.
fn last_login(t: Option<&str>) -> String {
    t.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|d| d.format("%m/%d/%Y").to_string())
        .unwrap_or_default()
}

/// One record: `record_type` and `(column, value)` pairs, every other column empty.
fn record(kind: &str, values: &[(&str, &str)]) -> String {
    debug_assert!(values.iter().all(|(k, _)| {
        FIELDS
            .iter()
            .any(|(t, fields)| *t == kind && fields.contains(k))
    }));
    let cells: Vec<&str> = COLUMNS
        .iter()
        .map(|c| {
            if *c == "record_type" {
                kind
            } else {
                values
                    .iter()
                    .find(|(k, _)| k == c)
                    .map(|(_, v)| *v)
                    .unwrap_or("")
            }
        })
        .collect();
    let safe: Vec<String> = cells.iter().map(|c| crate::output::safe(c)).collect();
    let refs: Vec<&str> = safe.iter().map(String::as_str).collect();
    csv_record(&refs)
}

/// Write every user, the app resources, every entitlement and every grant.
pub fn write(rows: &[Row], out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(csv_record(COLUMNS).as_bytes())?;
    for r in rows {
        let a = &r.account;
        let display = a
            .display_name
            .as_deref()
            .or(a.username.as_deref())
            .unwrap_or(&a.id);
        // Twilio subaccounts are accounts of a system, not people.
        let kind = if r.app == "twilio" {
            "service"
        } else {
            "human"
        };
        let login = last_login(a.last_activity.as_deref());
        out.write_all(
            record(
                "user",
                &[
                    ("name", &a.id),
                    ("display_name", display),
                    ("email", a.email.as_deref().unwrap_or("")),
                    ("status", user_status(a.status)),
                    ("last_login", &login),
                    ("type", kind),
                ],
            )
            .as_bytes(),
        )?;
    }
    // Resources and entitlements, each once, in a stable order.
    let mut resources: BTreeMap<String, (String, BTreeMap<String, String>)> = BTreeMap::new();
    for r in rows {
        let entry = resources
            .entry(resource_name(r))
            .or_insert_with(|| (r.app.clone(), BTreeMap::new()));
        for e in &r.account.entitlements {
            entry
                .1
                .entry(slug(e))
                .or_insert_with(|| format!("{}: {}", kind_name(e.kind), e.name));
        }
    }
    for (name, (app, _)) in &resources {
        let description = format!("The {app} app of the governance connector");
        out.write_all(
            record(
                "resource",
                &[
                    ("resource_type", "app"),
                    ("resource_function", "app"),
                    ("name", name),
                    ("display_name", name),
                    ("description", &description),
                    ("parent_resource", ""),
                ],
            )
            .as_bytes(),
        )?;
    }
    for (name, (_, entitlements)) in &resources {
        for (slug, display) in entitlements {
            out.write_all(
                record(
                    "entitlement",
                    &[
                        ("resource_name", name),
                        ("entitlement", slug),
                        ("display_name", display),
                        ("description", display),
                    ],
                )
                .as_bytes(),
            )?;
        }
    }
    for r in rows {
        let resource = resource_name(r);
        for e in &r.account.entitlements {
            let id = format!("{resource}:{}", slug(e));
            out.write_all(
                record(
                    "grant",
                    &[("principal", &r.account.id), ("entitlement_id", &id)],
                )
                .as_bytes(),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_a_record_type_fills_is_a_column() {
        for (_, fields) in FIELDS {
            for f in *fields {
                assert!(COLUMNS.contains(f), "{f}");
            }
        }
        assert_eq!(last_login(Some("2025-11-09T00:00:00Z")), "11/09/2025");
        assert_eq!(last_login(None), "");
    }
}
