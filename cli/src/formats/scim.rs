//! A SCIM 2.0 `ListResponse` (RFC 7644 §3.4.2) of `User` resources (RFC 7643 §4.1), in the
//! very mapping `connector serve` uses (`connector_scim::resources`): `id`, `userName`,
//! `displayName`, `emails`, `active`, `roles` and `entitlements`, `meta`, and the connector's
//! activity extension (app, tenant, status, last activity of the account and each entitlement).

use super::Row;
use connector_scim::resources::{self, LIST_RESPONSE};
use serde_json::{Value, json};

/// Every row as one ListResponse (all results in one page).
pub fn list_response(rows: &[Row]) -> Value {
    let shared = resources::shared_names(rows.iter().map(|r| &r.account));
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": rows.len(),
        "startIndex": 1,
        "itemsPerPage": rows.len(),
        "Resources": rows.iter().map(|r| {
            let name = resources::user_name(&r.account, &shared);
            resources::user(&r.account, &r.app, r.tenant.as_deref(), name)
        }).collect::<Vec<_>>(),
    })
}
