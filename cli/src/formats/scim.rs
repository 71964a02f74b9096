//! A SCIM 2.0 `ListResponse` (RFC 7644 §3.4.2) of `User` resources (RFC 7643 §4.1): `id`,
//! `userName`, `displayName`, `emails`, `active`, `roles` and `entitlements` (each with `type`
//! and `value`), `meta`, and an extension, declared in each resource's `schemas`, that carries
//! the app, the tenant, the status and last activity of the account and of each entitlement.

use super::Row;
use crate::output::{kind_name, status_name};
use connector_host::types::EntitlementKind;
use serde_json::{Value, json};
use std::collections::HashSet;

/// The ListResponse message schema (RFC 7644 §3.4.2).
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The core User schema (RFC 7643 §4.1).
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// This connector's extension: activity the core schema has no attribute for.
pub const ACTIVITY_EXTENSION: &str =
    "urn:governance-connector:params:scim:schemas:extension:activity:2.0:User";

/// One User resource. `userName` must be unique across the response (RFC 7643 §4.1.1): the
/// account's username where it is, else its id.
pub fn user(r: &Row, shared_names: &HashSet<&str>) -> Value {
    let a = &r.account;
    let user_name = a
        .username
        .as_deref()
        .filter(|n| !n.trim().is_empty() && !shared_names.contains(n))
        .unwrap_or(&a.id)
        .to_string();
    let mut v = json!({
        "schemas": [USER, ACTIVITY_EXTENSION],
        "id": a.id,
        "userName": user_name,
        "active": a.status == connector_host::types::AccountStatus::Active,
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
        .map(|e| json!({"value": e.id, "display": e.name, "type": r.app}))
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
        "app": r.app,
        "status": status_name(a.status),
        "lastActivity": a.last_activity,
        "entitlementActivity": a.entitlements.iter().map(|e| json!({
            "type": kind_name(e.kind),
            "value": e.id,
            "lastActivity": e.last_activity,
        })).collect::<Vec<_>>(),
    });
    if let Some(t) = &r.tenant {
        ext["tenant"] = json!(t);
    }
    if !a.warnings.is_empty() {
        ext["warnings"] = json!(a.warnings);
    }
    v[ACTIVITY_EXTENSION] = ext;
    v
}

/// Every row as one ListResponse (all results in one page).
pub fn list_response(rows: &[Row]) -> Value {
    let mut seen = HashSet::new();
    let shared: HashSet<&str> = rows
        .iter()
        .filter_map(|r| r.account.username.as_deref())
        .filter(|n| !seen.insert(*n))
        .collect();
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": rows.len(),
        "startIndex": 1,
        "itemsPerPage": rows.len(),
        "Resources": rows.iter().map(|r| user(r, &shared)).collect::<Vec<_>>(),
    })
}
