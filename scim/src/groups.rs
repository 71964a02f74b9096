//! `/Groups`: each entitlement of the tenant's snapshot (a role, an account type, a service)
//! as a Group whose members are the accounts holding it. Changing a Group's members would be
//! a grant or a revoke, which the connector's contract cannot express yet: every write is 501.

use crate::errors::ScimError;
use crate::listing::ListParams;
use crate::resources::{self, GroupEntry, list_response, path_segment};
use crate::service::{Call, resource_answer, scim_json};
use axum::http::StatusCode;
use axum::response::Response;
use connector_host::types::EntitlementKind;
use serde_json::{Value, json};
use std::collections::BTreeMap;

type Answer = Result<Response, ScimError>;

fn kind_of(name: &str) -> Option<EntitlementKind> {
    match name {
        "role" => Some(EntitlementKind::Role),
        "account_type" => Some(EntitlementKind::AccountType),
        "service" => Some(EntitlementKind::Service),
        _ => None,
    }
}

/// The groups of a snapshot's users, in id order.
fn groups_of<'a>(users: impl Iterator<Item = &'a Value>) -> Vec<GroupEntry> {
    let mut groups: BTreeMap<String, GroupEntry> = BTreeMap::new();
    for u in users {
        let member = (
            u["id"].as_str().unwrap_or_default().to_string(),
            u["userName"].as_str().unwrap_or_default().to_string(),
        );
        let roles = u["roles"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| (EntitlementKind::Role, r));
        let others = u["entitlements"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| kind_of(e["type"].as_str().unwrap_or_default()).map(|k| (k, e)));
        for (kind, e) in roles.chain(others) {
            let Some(value) = e["value"].as_str() else {
                continue;
            };
            let id = resources::group_id(kind, value);
            let g = groups.entry(id.clone()).or_insert_with(|| GroupEntry {
                id,
                kind,
                display_name: e["display"].as_str().unwrap_or(value).to_string(),
                members: Vec::new(),
            });
            g.members.push(member.clone());
        }
    }
    groups.into_values().collect()
}

/// A Group as served: location and version.
fn served(base: &str, g: &GroupEntry) -> Value {
    let mut v = resources::group(g, base);
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(v.to_string().as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    v["meta"] = json!({
        "resourceType": "Group",
        "location": format!("{base}/Groups/{}", path_segment(&g.id)),
        "version": format!("W/\"{hex}\""),
    });
    v
}

async fn all_groups(call: &Call<'_>) -> Result<Vec<Value>, ScimError> {
    if !call.support.list {
        return Err(ScimError::not_implemented(format!(
            "app {} cannot list its accounts, so it has no groups to show",
            call.app.name
        )));
    }
    let handle = call
        .service
        .snapshots
        .ensure(&call.tenant, false)
        .await
        .map_err(|e| ScimError::from_call(&e))?;
    let reading = handle.read().ok_or_else(|| {
        ScimError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            "no complete sync yet",
        )
    })?;
    // Deprovisioned accounts are deleted users to SCIM: they hold nothing.
    let groups = groups_of(
        reading
            .snapshot()
            .entries
            .iter()
            .filter(|e| crate::snapshots::status(e) != "deprovisioned")
            .map(|e| &e.resource),
    );
    Ok(groups.iter().map(|g| served(&call.base, g)).collect())
}

/// `GET /Groups`.
pub async fn list(call: &Call<'_>, params: Option<ListParams>) -> Answer {
    let params = match params {
        Some(p) => p,
        None => ListParams::from_query(call.query)?,
    };
    let groups = all_groups(call).await?;
    let (total, page) = params.answer(groups.iter(), Value::clone)?;
    Ok(scim_json(
        StatusCode::OK,
        &list_response(page, total, params.start_index),
    ))
}

/// `POST /Groups/.search`.
pub async fn search(call: &Call<'_>) -> Answer {
    let params = ListParams::from_search(call.body)?;
    list(call, Some(params)).await
}

/// `GET /Groups/{id}`.
pub async fn get(call: &Call<'_>, id: &str) -> Answer {
    let params = ListParams::from_query(call.query)?;
    let mut g = all_groups(call)
        .await?
        .into_iter()
        .find(|g| g["id"] == id)
        .ok_or_else(|| ScimError::not_found(format!("no group {id}")))?;
    params.projection.apply(&mut g);
    Ok(resource_answer(StatusCode::OK, &g))
}

/// Any write to `/Groups`.
pub fn unchangeable(call: &Call<'_>) -> ScimError {
    ScimError::not_implemented(format!(
        "app {}: groups are the entitlements accounts hold; granting or revoking one is not in the connector's contract yet, so groups cannot be created, changed or deleted",
        call.app.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_entitlement_is_a_group_of_its_holders() {
        let users = [
            json!({"id": "WK1", "userName": "alice", "roles": [{"value": "agent", "display": "agent"}],
                   "entitlements": [{"value": "voice", "display": "Voice", "type": "service"}]}),
            json!({"id": "WK2", "userName": "bob", "roles": [{"value": "agent", "display": "agent"}, {"value": "admin", "display": "admin"}]}),
        ];
        let groups = groups_of(users.iter());
        let ids: Vec<&str> = groups.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids, ["role:admin", "role:agent", "service:voice"]);
        assert_eq!(groups[1].members.len(), 2);
        let v = served("http://h/scim/v2/t/flex", &groups[2]);
        assert_eq!(v["displayName"], "Voice");
        assert_eq!(v["members"][0]["$ref"], "http://h/scim/v2/t/flex/Users/WK1");
        assert_eq!(
            v["meta"]["location"],
            "http://h/scim/v2/t/flex/Groups/service:voice"
        );
    }
}
