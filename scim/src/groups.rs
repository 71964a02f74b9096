//! `/Groups`: each entitlement of the tenant's snapshot (a role, an account type, a service)
//! as a Group whose members are the accounts holding it. A PATCH that adds members grants
//! them the entitlement, one that removes members revokes it (the connector's audited
//! `grant` and `revoke`), where the app can; creating, replacing or deleting a Group is 501.

use crate::errors::ScimError;
use crate::listing::ListParams;
use crate::resources::{self, GroupEntry, list_response, path_segment};
use crate::service::{Call, resource_answer, scim_json};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
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

/// Run `f` over the tenant's Groups (built once per snapshot), off the async threads.
async fn with_groups<T: Send + 'static>(
    call: &Call<'_>,
    f: impl FnOnce(&[Value]) -> Result<T, ScimError> + Send + 'static,
) -> Result<T, ScimError> {
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
    let base = call.base.clone();
    crate::service::heavy(call.service, move || {
        let reading = handle.read().ok_or_else(|| {
            ScimError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "no complete sync yet",
            )
        })?;
        let groups = reading.snapshot().groups(|entries| {
            // Deprovisioned accounts are deleted users to SCIM: they hold nothing.
            groups_of(
                entries
                    .iter()
                    .filter(|e| crate::snapshots::status(e) != "deprovisioned")
                    .map(|e| &e.resource),
            )
            .iter()
            .map(|g| served(&base, g))
            .collect()
        });
        f(&groups)
    })
    .await
}

/// `GET /Groups`.
pub async fn list(call: &Call<'_>, params: Option<ListParams>) -> Answer {
    let params = match params {
        Some(p) => p,
        None => ListParams::from_query(call.query)?,
    };
    let start = params.start_index;
    let (total, page) = with_groups(call, move |groups| {
        params.answer(groups.iter(), Value::clone)
    })
    .await?;
    Ok(scim_json(
        StatusCode::OK,
        &list_response(page, total, start),
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
    let wanted = id.to_string();
    let mut g = with_groups(call, move |groups| {
        groups
            .iter()
            .find(|g| g["id"] == wanted.as_str())
            .cloned()
            .ok_or_else(|| ScimError::not_found(format!("no group {wanted}")))
    })
    .await?;
    params.projection.apply(&mut g);
    Ok(resource_answer(StatusCode::OK, &g))
}

/// Any write to `/Groups` but a PATCH of members.
pub fn unchangeable(call: &Call<'_>) -> ScimError {
    ScimError::not_implemented(format!(
        "app {}: groups are the entitlements accounts hold: groups cannot be created, replaced or deleted{}",
        call.app.name,
        if call.support.grant || call.support.revoke {
            " (PATCH a group's members to grant or revoke it)"
        } else {
            ", and this app cannot grant or revoke them"
        }
    ))
}

/// One member change a PatchOp asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MemberChange {
    Grant(String),
    Revoke(String),
}

/// The member ids of an operation's value: `[{"value": "ID"}, …]` (or `{"members": […]}`
/// when the operation has no path).
fn member_ids(value: &Value) -> Result<Vec<String>, ScimError> {
    let list = value.get("members").unwrap_or(value);
    let Some(items) = list.as_array() else {
        return Err(ScimError::bad_request(
            "invalidValue",
            "members must be an array of {\"value\": \"<user id>\"}",
        ));
    };
    items
        .iter()
        .map(|m| {
            m["value"]
                .as_str()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or_else(|| {
                    ScimError::bad_request("invalidValue", "each member needs a user id in value")
                })
        })
        .collect()
}

/// The most member changes one PATCH may ask (each is an upstream action).
pub const MAX_MEMBER_CHANGES: usize = 100;

/// What a PatchOp on a Group asks (RFC 7644 §3.5.2): `add` of members (grant), `remove` of
/// `members[value eq "ID"]` or of listed members (revoke). Replacing the member list would
/// revoke from everyone not named, so it is refused.
fn member_changes(body: &Value) -> Result<Vec<MemberChange>, ScimError> {
    let schemas_ok = body["schemas"]
        .as_array()
        .is_some_and(|s| s.iter().any(|s| s == resources::PATCH_OP));
    if !schemas_ok {
        return Err(ScimError::bad_request(
            "invalidSyntax",
            format!(
                "a PATCH body is a PatchOp: its schemas must contain {}",
                resources::PATCH_OP
            ),
        ));
    }
    let ops = body
        .get("Operations")
        .or_else(|| body.get("operations"))
        .and_then(Value::as_array)
        .filter(|o| !o.is_empty())
        .ok_or_else(|| {
            ScimError::bad_request(
                "invalidSyntax",
                "a PatchOp needs at least one operation in Operations",
            )
        })?;
    let mut changes = Vec::new();
    for op in ops {
        let kind = op["op"].as_str().unwrap_or_default().to_ascii_lowercase();
        let path = op["path"].as_str().map(str::trim);
        let on_members = |p: &str| p.eq_ignore_ascii_case("members");
        match (kind.as_str(), path) {
            ("add", Some(p)) if on_members(p) => changes.extend(
                member_ids(&op["value"])?
                    .into_iter()
                    .map(MemberChange::Grant),
            ),
            ("add", None) if op["value"].get("members").is_some() => changes.extend(
                member_ids(&op["value"])?
                    .into_iter()
                    .map(MemberChange::Grant),
            ),
            ("remove", Some(p)) if on_members(p) => {
                if op["value"].is_null() {
                    return Err(ScimError::mutability(
                        "removing every member at once is not done through SCIM: name the members to revoke",
                    ));
                }
                changes.extend(
                    member_ids(&op["value"])?
                        .into_iter()
                        .map(MemberChange::Revoke),
                );
            }
            ("remove", Some(p)) => {
                let filter = p
                    .get(..8)
                    .filter(|head| head.eq_ignore_ascii_case("members["))
                    .and_then(|_| p.strip_suffix(']'))
                    .map(|inner| &inner[8..])
                    .ok_or_else(|| {
                        ScimError::bad_request(
                            "invalidPath",
                            format!(
                                "a Group's members are its only changeable attribute, not {p:?}"
                            ),
                        )
                    })?;
                let parsed = crate::filter::parse(filter)
                    .map_err(|e| ScimError::bad_request("invalidPath", e.to_string()))?;
                match parsed.simple_eq() {
                    Some((attr, id)) if attr == "value" => changes.push(MemberChange::Revoke(id)),
                    _ => {
                        return Err(ScimError::bad_request(
                            "invalidPath",
                            "remove one member with members[value eq \"<user id>\"]",
                        ));
                    }
                }
            }
            ("replace", _) => {
                return Err(ScimError::mutability(
                    "a Group's members are not replaced as a whole (that would revoke from everyone not named): add or remove members",
                ));
            }
            ("add" | "remove", _) => {
                return Err(ScimError::bad_request(
                    "invalidPath",
                    "a Group's members are its only changeable attribute",
                ));
            }
            _ => {
                return Err(ScimError::bad_request(
                    "invalidSyntax",
                    format!("op must be add, replace or remove, not {}", op["op"]),
                ));
            }
        }
    }
    if changes.len() > MAX_MEMBER_CHANGES {
        return Err(ScimError::bad_request(
            "tooMany",
            format!(
                "one PATCH may change at most {MAX_MEMBER_CHANGES} members, not {}",
                changes.len()
            ),
        ));
    }
    Ok(changes)
}

/// `PATCH /Groups/{id}`: grant the entitlement to added members, revoke it from removed ones,
/// in order, each as the connector's audited action. A failure stops there and says which
/// changes were made before it.
pub async fn patch(call: &Call<'_>, id: &str) -> Answer {
    if !(call.support.grant || call.support.revoke) {
        return Err(unchangeable(call));
    }
    let Some(entitlement) = id
        .split_once(':')
        .filter(|(kind, v)| kind_of(kind) == Some(EntitlementKind::Role) && !v.is_empty())
        .map(|(_, v)| v.to_string())
    else {
        return Err(ScimError::mutability(format!(
            "app {}: only role groups (role:…) can be granted or revoked, not {id}",
            call.app.name
        )));
    };
    let body: Value = serde_json::from_slice(call.body).map_err(|e| {
        ScimError::bad_request(
            "invalidSyntax",
            format!("the request body is not JSON: {e}"),
        )
    })?;
    let changes = member_changes(&body)?;
    let mut done: Vec<String> = Vec::new();
    for change in &changes {
        let (grant, member) = match change {
            MemberChange::Grant(m) => (true, m),
            MemberChange::Revoke(m) => (false, m),
        };
        let (can, name) = if grant {
            (call.support.grant, "grant")
        } else {
            (call.support.revoke, "revoke")
        };
        if !can {
            return Err(ScimError::mutability(format!(
                "app {} cannot {name} entitlements",
                call.app.name
            )));
        }
        call.ran(name, member);
        let host = &call.service.host;
        let result = if grant {
            host.grant(&call.tenant, member, &entitlement, false).await
        } else {
            host.revoke(&call.tenant, member, &entitlement, false).await
        };
        if let Err(e) = result {
            let mut err = ScimError::from_call(&e);
            if !done.is_empty() {
                err.detail = format!("{} (done before it: {})", err.detail, done.join(", "));
            }
            return Err(err);
        }
        done.push(format!("{name} {member}"));
        // The snapshot learns the member's new entitlements.
        if call.support.get {
            let _ = call
                .service
                .snapshots
                .read_through(&call.tenant, member)
                .await;
        }
    }
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
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

#[cfg(test)]
mod patch_tests {
    use super::*;

    fn op(ops: Value) -> Value {
        json!({"schemas": [resources::PATCH_OP], "Operations": ops})
    }

    #[test]
    fn member_adds_are_grants_and_removes_are_revokes() {
        let body = op(json!([
            {"op": "add", "path": "members", "value": [{"value": "WK1"}, {"value": "WK2"}]},
            {"op": "remove", "path": "members[value eq \"WK3\"]"},
            {"op": "Remove", "path": "members", "value": [{"value": "WK4"}]},
        ]));
        assert_eq!(
            member_changes(&body).unwrap(),
            [
                MemberChange::Grant("WK1".into()),
                MemberChange::Grant("WK2".into()),
                MemberChange::Revoke("WK3".into()),
                MemberChange::Revoke("WK4".into()),
            ]
        );
    }

    #[test]
    fn replacing_or_emptying_members_and_other_paths_are_refused() {
        let refused = [
            (
                json!([{"op": "replace", "path": "members", "value": []}]),
                "mutability",
            ),
            (json!([{"op": "remove", "path": "members"}]), "mutability"),
            (
                json!([{"op": "add", "path": "displayName", "value": "x"}]),
                "invalidPath",
            ),
            (
                json!([{"op": "remove", "path": "members[display eq \"a\"]"}]),
                "invalidPath",
            ),
            (
                json!([{"op": "add", "path": "members", "value": [{"display": "a"}]}]),
                "invalidValue",
            ),
            (json!([]), "invalidSyntax"),
        ];
        for (ops, scim_type) in refused {
            let e = member_changes(&op(ops.clone())).unwrap_err();
            assert_eq!(e.scim_type, Some(scim_type), "{ops}");
        }
        let many: Vec<Value> = (0..=MAX_MEMBER_CHANGES)
            .map(|i| json!({"value": format!("WK{i}")}))
            .collect();
        let e = member_changes(&op(
            json!([{"op": "add", "path": "members", "value": many}]),
        ))
        .unwrap_err();
        assert_eq!(e.scim_type, Some("tooMany"));
    }
}
