//! The connector's accounts as SCIM resources: `User` (RFC 7643 §4.1) with the connector's
//! activity extension, and `Group` (RFC 7643 §4.2) for each entitlement its members hold.
//!
//! One mapping serves the CLI's `--format scim` and `connector serve`, so a file and the
//! service say the same thing about an account.

use connector_host::types::{Account, AccountStatus, EntitlementKind};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};

/// The ListResponse message schema (RFC 7644 §3.4.2).
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The PatchOp message schema (RFC 7644 §3.5.2).
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The Error message schema (RFC 7644 §3.12).
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The core User schema (RFC 7643 §4.1).
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema (RFC 7643 §4.2).
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// This connector's extension: activity the core schema has no attribute for.
pub const ACTIVITY_EXTENSION: &str =
    "urn:governance-connector:params:scim:schemas:extension:activity:2.0:User";

/// Lower-case account status name.
pub fn status_name(s: AccountStatus) -> &'static str {
    match s {
        AccountStatus::Active => "active",
        AccountStatus::Suspended => "suspended",
        AccountStatus::Deprovisioned => "deprovisioned",
    }
}

/// Lower-case entitlement kind name.
pub fn kind_name(k: EntitlementKind) -> &'static str {
    match k {
        EntitlementKind::AccountType => "account_type",
        EntitlementKind::Role => "role",
        EntitlementKind::Service => "service",
    }
}

/// The `userName` of an account: its username where it has one that no other account of the
/// same listing shares (RFC 7643 §4.1.1 makes `userName` unique), else its id.
pub fn user_name<'a>(a: &'a Account, shared_names: &HashSet<&str>) -> &'a str {
    a.username
        .as_deref()
        .filter(|n| !n.trim().is_empty() && !shared_names.contains(n))
        .unwrap_or(&a.id)
}

/// The usernames that more than one of `accounts` carries.
pub fn shared_names<'a>(accounts: impl IntoIterator<Item = &'a Account>) -> HashSet<&'a str> {
    let mut seen = HashSet::new();
    accounts
        .into_iter()
        .filter_map(|a| a.username.as_deref())
        .filter(|n| !seen.insert(*n))
        .collect()
}

/// One User resource of `app` (and `tenant`, when the listing names one), without `meta`
/// beyond its resource type: the service adds location, version and times.
pub fn user(a: &Account, app: &str, tenant: Option<&str>, user_name: &str) -> Value {
    let mut v = json!({
        "schemas": [USER, ACTIVITY_EXTENSION],
        "id": a.id,
        "userName": user_name,
        "active": a.status == AccountStatus::Active,
        "meta": {"resourceType": "User"},
    });
    if let Some(d) = a.display_name.as_deref().or(a.username.as_deref()) {
        v["displayName"] = json!(d);
    }
    if let Some(e) = &a.email {
        v["emails"] = json!([{"value": e, "type": "work", "primary": true}]);
    }
    let roles: Vec<Value> = a
        .entitlements
        .iter()
        .filter(|e| e.kind == EntitlementKind::Role)
        .map(|e| json!({"value": e.id, "display": e.name, "type": app}))
        .collect();
    if !roles.is_empty() {
        v["roles"] = json!(roles);
    }
    let entitlements: Vec<Value> = a
        .entitlements
        .iter()
        .filter(|e| e.kind != EntitlementKind::Role)
        .map(|e| json!({"value": e.id, "display": e.name, "type": kind_name(e.kind)}))
        .collect();
    if !entitlements.is_empty() {
        v["entitlements"] = json!(entitlements);
    }
    let mut ext = json!({
        "app": app,
        "status": status_name(a.status),
        "lastActivity": a.last_activity,
        "entitlementActivity": a.entitlements.iter().map(|e| json!({
            "type": kind_name(e.kind),
            "value": e.id,
            "lastActivity": e.last_activity,
        })).collect::<Vec<_>>(),
    });
    if let Some(t) = tenant {
        ext["tenant"] = json!(t);
    }
    if !a.warnings.is_empty() {
        ext["warnings"] = json!(a.warnings);
    }
    if !a.attributes.is_empty() {
        // Named pairs, so the schema can describe them (their names are the app's).
        let attrs: BTreeMap<&str, &str> = a
            .attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        ext["attributes"] = attrs
            .into_iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect();
    }
    v[ACTIVITY_EXTENSION] = ext;
    v
}

/// When the account was created, where the app says (`date_created`, RFC 3339).
pub fn created(a: &Account) -> Option<&str> {
    a.attributes
        .iter()
        .find(|(k, _)| k == "date_created")
        .map(|(_, v)| v.as_str())
}

/// A Group's id for an entitlement: its kind and id, so a role and a service of one name stay
/// apart (`role:agent`, `service:voice`).
pub fn group_id(kind: EntitlementKind, id: &str) -> String {
    format!("{}:{id}", kind_name(kind))
}

/// One entitlement as a Group: who holds it, from a listing's accounts.
#[derive(Debug, Clone)]
pub struct GroupEntry {
    pub id: String,
    pub kind: EntitlementKind,
    pub display_name: String,
    /// (account id, its userName), in listing order.
    pub members: Vec<(String, String)>,
}

/// The Group resource of an entitlement (members as RFC 7643 §4.2 `members`).
pub fn group(g: &GroupEntry, base: &str) -> Value {
    json!({
        "schemas": [GROUP],
        "id": g.id,
        "displayName": g.display_name,
        "members": g.members.iter().map(|(id, name)| json!({
            "value": id,
            "display": name,
            "type": "User",
            "$ref": format!("{base}/Users/{}", path_segment(id)),
        })).collect::<Vec<_>>(),
        "meta": {"resourceType": "Group"},
    })
}

/// `s` as one URL path segment: unreserved characters (and `:`) as they are, every other byte
/// percent-encoded.
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Every row as one ListResponse (all results in one page).
pub fn list_response(resources: Vec<Value>, total: usize, start_index: usize) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use connector_host::types::Entitlement;

    fn account(id: &str, username: Option<&str>) -> Account {
        Account {
            id: id.into(),
            username: username.map(str::to_string),
            email: Some("a@example.com".into()),
            display_name: None,
            status: AccountStatus::Suspended,
            last_activity: Some("2025-01-02T00:00:00Z".into()),
            entitlements: vec![
                Entitlement {
                    kind: EntitlementKind::Role,
                    id: "agent".into(),
                    name: "agent".into(),
                    last_activity: None,
                },
                Entitlement {
                    kind: EntitlementKind::Service,
                    id: "voice".into(),
                    name: "Voice".into(),
                    last_activity: Some("2025-01-01T00:00:00Z".into()),
                },
            ],
            attributes: vec![("date_created".into(), "2020-01-01T00:00:00Z".into())],
            warnings: vec![],
        }
    }

    #[test]
    fn a_shared_username_gives_way_to_the_id() {
        let a = account("WK1", Some("alice"));
        let b = account("WK2", Some("alice"));
        let c = account("WK3", Some("bob"));
        let shared = shared_names([&a, &b, &c]);
        assert_eq!(user_name(&a, &shared), "WK1");
        assert_eq!(user_name(&c, &shared), "bob");
        assert_eq!(user_name(&account("WK4", None), &shared), "WK4");
    }

    #[test]
    fn a_user_carries_status_roles_entitlements_and_activity() {
        let a = account("WK1", Some("alice"));
        let u = user(&a, "flex", Some("acme"), "alice");
        assert_eq!(u["active"], false);
        assert_eq!(u["displayName"], "alice");
        assert_eq!(u["roles"][0]["value"], "agent");
        assert_eq!(u["entitlements"][0]["type"], "service");
        let ext = &u[ACTIVITY_EXTENSION];
        assert_eq!(ext["status"], "suspended");
        assert_eq!(ext["tenant"], "acme");
        assert_eq!(ext["attributes"][0]["name"], "date_created");
        assert_eq!(ext["attributes"][0]["value"], "2020-01-01T00:00:00Z");
        assert_eq!(created(&a), Some("2020-01-01T00:00:00Z"));
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(path_segment("role:agent"), "role:agent");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(path_segment("é"), "%C3%A9");
    }
}
