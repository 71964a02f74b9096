//! `/Users` (RFC 7644 §3): listings from the tenant's snapshot, single reads through to the
//! upstream, and writes as the connector's audited actions: PATCH or PUT of `active` is
//! suspend / reactivate, DELETE is deprovision, POST is provision. What the app cannot do is
//! the RFC's error (`mutability`, 501), never a silent success.
//!
//! An account the app reports deprovisioned is, to SCIM, a deleted resource (RFC 7644 §3.6):
//! it is not listed, and reading or changing it answers 404.

use crate::errors::ScimError;
use crate::listing::ListParams;
use crate::resources::{PATCH_OP, list_response, path_segment};
use crate::service::{Call, resource_answer, scim_json};
use crate::snapshots::{self, Entry};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use connector_host::Action;
use connector_host::types::ProvisionRequest;
use serde_json::{Value, json};

type Answer = Result<Response, ScimError>;

/// A resource as served: with its `meta.location`.
fn served(base: &str, resource: &Value) -> Value {
    let mut r = resource.clone();
    let id = r["id"].as_str().unwrap_or_default().to_string();
    r["meta"]["location"] = json!(format!("{base}/Users/{}", path_segment(&id)));
    r
}

/// `Cache-Control: no-cache` asks for a listing no older than the request.
fn wants_fresh(call: &Call<'_>) -> bool {
    call.headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|d| d.trim().eq_ignore_ascii_case("no-cache"))
        })
}

/// `GET /Users`.
pub async fn list(call: &Call<'_>, params: Option<ListParams>) -> Answer {
    let params = match params {
        Some(p) => p,
        None => ListParams::from_query(call.query)?,
    };
    if !call.support.list {
        return list_by_reading(call, &params).await;
    }
    let handle = call
        .service
        .snapshots
        .ensure(&call.tenant, wants_fresh(call))
        .await
        .map_err(|e| ScimError::from_call(&e))?;
    let base = call.base.clone();
    let start = params.start_index;
    let (total, page) = crate::service::heavy(call.service, move || {
        let reading = handle.read().ok_or_else(|| {
            ScimError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "no complete sync yet",
            )
        })?;
        let listed = reading.snapshot().entries.iter().filter(|e| !deleted(e));
        params.answer(listed.map(|e| &e.resource), |r| served(&base, r))
    })
    .await?;
    Ok(scim_json(
        StatusCode::OK,
        &list_response(page, total, start),
    ))
}

/// An app that cannot list answers a filter naming one account (`id eq "…"` or
/// `userName eq "…"`) by reading it; any other listing is not possible.
async fn list_by_reading(call: &Call<'_>, params: &ListParams) -> Answer {
    let one = params
        .filter
        .as_ref()
        .and_then(|f| f.simple_eq())
        .filter(|(attr, _)| attr == "id" || attr == "username");
    let Some((_, value)) = one else {
        return Err(ScimError::not_implemented(format!(
            "app {} cannot list its accounts; ask for one with filter=userName eq \"…\" or id eq \"…\", or GET /Users/{{id}}",
            call.app.name
        )));
    };
    let found = match call
        .service
        .snapshots
        .read_through(&call.tenant, &value)
        .await
    {
        Ok(e) if deleted(&e) => vec![],
        Ok(e) => vec![e.resource],
        Err(e) if ScimError::from_call(&e).status == StatusCode::NOT_FOUND => vec![],
        Err(e) => return Err(ScimError::from_call(&e)),
    };
    let (total, page) = params.answer(found.iter(), |r| served(&call.base, r))?;
    Ok(scim_json(
        StatusCode::OK,
        &list_response(page, total, params.start_index),
    ))
}

/// `POST /Users/.search`.
pub async fn search(call: &Call<'_>) -> Answer {
    let params = ListParams::from_search(call.body)?;
    list(call, Some(params)).await
}

/// Deprovisioned: deleted, to SCIM.
fn deleted(e: &Entry) -> bool {
    snapshots::status(e) == "deprovisioned"
}

/// The account as it is now (404 when it is deprovisioned).
async fn current(call: &Call<'_>, id: &str) -> Result<Entry, ScimError> {
    let e = current_any(call, id).await?;
    if deleted(&e) {
        return Err(ScimError::not_found(format!(
            "user {id} is deprovisioned: to SCIM it is deleted"
        )));
    }
    Ok(e)
}

/// The account as it is now: read through to the upstream where the app can, else from the
/// snapshot.
async fn current_any(call: &Call<'_>, id: &str) -> Result<Entry, ScimError> {
    if call.support.get {
        return call
            .service
            .snapshots
            .read_through(&call.tenant, id)
            .await
            .map_err(|e| ScimError::from_call(&e));
    }
    let handle = call
        .service
        .snapshots
        .ensure(&call.tenant, false)
        .await
        .map_err(|e| ScimError::from_call(&e))?;
    let reading = handle.read();
    reading
        .as_ref()
        .and_then(|r| r.snapshot().get(id).cloned())
        .ok_or_else(|| ScimError::not_found(format!("no user {id}")))
}

/// `If-Match` (RFC 7644 §3.14): a write to a resource that changed since the client read it
/// is refused with 412.
fn check_if_match(call: &Call<'_>, e: &Entry) -> Result<(), ScimError> {
    let Some(want) = call
        .headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    let ok = want.split(',').map(str::trim).any(|w| {
        w == "*"
            || w == e.version
            || w.trim_start_matches("W/") == e.version.trim_start_matches("W/")
    });
    if ok {
        Ok(())
    } else {
        Err(ScimError::new(
            StatusCode::PRECONDITION_FAILED,
            None,
            format!(
                "the user changed since version {want}: it is now {}",
                e.version
            ),
        ))
    }
}

/// `GET /Users/{id}`.
pub async fn get(call: &Call<'_>, id: &str) -> Answer {
    let e = current(call, id).await?;
    if let Some(v) = call
        .headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        && v.split(',').any(|w| w.trim() == e.version)
    {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = e.version.parse() {
            r.headers_mut().insert(header::ETAG, v);
        }
        return Ok(r);
    }
    let params = ListParams::from_query(call.query)?;
    let mut r = served(&call.base, &e.resource);
    params.projection.apply(&mut r);
    Ok(resource_answer(StatusCode::OK, &r))
}

/// A JSON body.
fn body_json(call: &Call<'_>) -> Result<Value, ScimError> {
    serde_json::from_slice(call.body).map_err(|e| {
        ScimError::bad_request(
            "invalidSyntax",
            format!("the request body is not JSON: {e}"),
        )
    })
}

/// `active` as clients send it: a boolean, or (Entra ID) the strings "True" / "False".
fn as_active(v: &Value) -> Result<bool, ScimError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(ScimError::bad_request(
            "invalidValue",
            format!("active must be true or false, not {other}"),
        )),
    }
}

fn only_active(app: &str, attr: &str) -> ScimError {
    ScimError::mutability(format!(
        "app {app}: only `active` can be changed through SCIM (suspend / reactivate), not {attr:?}; DELETE deprovisions"
    ))
}

/// The `active` a PatchOp (RFC 7644 §3.5.2) asks for; `None` when it asks nothing.
fn desired_active(app: &str, body: &Value) -> Result<Option<bool>, ScimError> {
    let schemas_ok = body["schemas"]
        .as_array()
        .is_some_and(|s| s.iter().any(|s| s == PATCH_OP));
    if !schemas_ok {
        return Err(ScimError::bad_request(
            "invalidSyntax",
            format!("a PATCH body is a PatchOp: its schemas must contain {PATCH_OP}"),
        ));
    }
    let Some(ops) = body
        .get("Operations")
        .or_else(|| body.get("operations"))
        .and_then(Value::as_array)
    else {
        return Err(ScimError::bad_request(
            "invalidSyntax",
            "a PatchOp needs an Operations array",
        ));
    };
    // RFC 7644 §3.5.2: "an array of one or more PATCH operations".
    if ops.is_empty() {
        return Err(ScimError::bad_request(
            "invalidSyntax",
            "a PatchOp needs at least one operation in Operations",
        ));
    }
    let mut active = None;
    for op in ops {
        let kind = op["op"].as_str().unwrap_or_default().to_ascii_lowercase();
        if !matches!(kind.as_str(), "add" | "replace" | "remove") {
            return Err(ScimError::bad_request(
                "invalidSyntax",
                format!("op must be add, replace or remove, not {}", op["op"]),
            ));
        }
        match op["path"].as_str() {
            Some(path) => {
                let attr = path
                    .trim()
                    .strip_prefix(crate::resources::USER)
                    .map(|p| p.trim_start_matches(':'))
                    .unwrap_or(path.trim());
                if !attr.eq_ignore_ascii_case("active") {
                    return Err(only_active(app, attr));
                }
                if kind == "remove" {
                    return Err(ScimError::mutability(
                        "active cannot be removed; set it to true or false",
                    ));
                }
                active = Some(as_active(&op["value"])?);
            }
            None => {
                let Some(values) = op["value"].as_object() else {
                    return Err(ScimError::bad_request(
                        "invalidValue",
                        "an operation without a path needs an object value",
                    ));
                };
                if kind == "remove" {
                    return Err(ScimError::bad_request("noTarget", "remove needs a path"));
                }
                for (k, v) in values {
                    if k.eq_ignore_ascii_case("active") {
                        active = Some(as_active(v)?);
                    } else {
                        return Err(only_active(app, k));
                    }
                }
            }
        }
    }
    Ok(active)
}

/// Bring the account to `active`: nothing when it is already so, else suspend / reactivate
/// (refused with `mutability` where the app cannot), then read it back.
async fn set_active(call: &Call<'_>, id: &str, now: Entry, active: Option<bool>) -> Answer {
    let Some(want) = active else {
        return Ok(resource_answer(
            StatusCode::OK,
            &served(&call.base, &now.resource),
        ));
    };
    if now.resource["active"].as_bool() == Some(want) {
        return Ok(resource_answer(
            StatusCode::OK,
            &served(&call.base, &now.resource),
        ));
    }
    let (action, can) = if want {
        (Action::Reactivate, call.support.reactivate)
    } else {
        (Action::Suspend, call.support.suspend)
    };
    if !can {
        return Err(ScimError::mutability(format!(
            "app {} cannot {} accounts{}",
            call.app.name,
            action.name(),
            if call.support.deprovision && !want {
                "; DELETE deprovisions"
            } else {
                ""
            }
        )));
    }
    call.ran(action.name(), id);
    call.service
        .host
        .act(&call.tenant, action, id, false)
        .await
        .map_err(|e| ScimError::from_call(&e))?;
    let after = current(call, id).await?;
    Ok(resource_answer(
        StatusCode::OK,
        &served(&call.base, &after.resource),
    ))
}

/// `PATCH /Users/{id}`.
pub async fn patch(call: &Call<'_>, id: &str) -> Answer {
    let body = body_json(call)?;
    let active = desired_active(&call.app.name, &body)?;
    let now = current(call, id).await?;
    check_if_match(call, &now)?;
    set_active(call, id, now, active).await
}

/// `PUT /Users/{id}`: a replacement that changes only `active` (every other attribute it
/// gives must be as it is).
pub async fn replace(call: &Call<'_>, id: &str) -> Answer {
    let body = body_json(call)?;
    if !body.is_object() {
        return Err(ScimError::bad_request(
            "invalidSyntax",
            "a PUT body is a User object",
        ));
    }
    let now = current(call, id).await?;
    check_if_match(call, &now)?;
    unchanged_but_active(&call.app.name, &body, &now.resource)?;
    let active = body.get("active").map(as_active).transpose()?;
    set_active(call, id, now, active).await
}

/// The lowercased texts of a multi-valued attribute's `value`s (or of plain texts), sorted:
/// what a comparison of two of them looks at. A value of another type is the client's error.
fn values_of(attr: &str, v: &Value) -> Result<Vec<String>, ScimError> {
    let Some(items) = v.as_array() else {
        return Err(ScimError::bad_request(
            "invalidValue",
            format!("{attr} must be an array"),
        ));
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item.get("value").unwrap_or(item).as_str() {
            Some(t) => out.push(t.to_lowercase()),
            None => {
                return Err(ScimError::bad_request(
                    "invalidValue",
                    format!("each of {attr} needs a text value"),
                ));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A PUT changes only `active`: each attribute the connector holds that the body gives
/// (`userName`, `displayName`, `emails`, `roles`) must be as it is, of its type; readOnly
/// attributes (`id`, `meta`, `groups`, the activity extension) are ignored (RFC 7644
/// §3.5.1), as are attributes the connector does not hold.
fn unchanged_but_active(app: &str, body: &Value, held: &Value) -> Result<(), ScimError> {
    for attr in ["userName", "displayName"] {
        match body.get(attr) {
            None | Some(Value::Null) => {}
            Some(Value::String(given)) => {
                if Some(given.to_lowercase()) != held[attr].as_str().map(str::to_lowercase) {
                    return Err(only_active(app, attr));
                }
            }
            Some(other) => {
                return Err(ScimError::bad_request(
                    "invalidValue",
                    format!("{attr} must be a string, not {other}"),
                ));
            }
        }
    }
    for attr in ["emails", "roles"] {
        let Some(given) = body.get(attr).filter(|v| !v.is_null()) else {
            continue;
        };
        let given = values_of(attr, given)?;
        let held = match held.get(attr) {
            Some(h) => values_of(attr, h)?,
            None => Vec::new(),
        };
        if given != held {
            return Err(if attr == "roles" {
                ScimError::mutability(format!(
                    "app {app}: roles are not replaced by a PUT; PATCH the Group's members (grant / revoke) where the app can"
                ))
            } else {
                only_active(app, attr)
            });
        }
    }
    Ok(())
}

/// `DELETE /Users/{id}`: deprovision.
pub async fn delete(call: &Call<'_>, id: &str) -> Answer {
    if !call.support.deprovision {
        return Err(ScimError::not_implemented(format!(
            "app {} cannot deprovision accounts",
            call.app.name
        )));
    }
    let now = current(call, id).await?;
    check_if_match(call, &now)?;
    call.ran("deprovision", id);
    call.service
        .host
        .act(&call.tenant, Action::Deprovision, id, false)
        .await
        .map_err(|e| ScimError::from_call(&e))?;
    // The snapshot learns the account's new state (or that it is gone).
    let _ = call.service.snapshots.read_through(&call.tenant, id).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The provision request a SCIM User asks for.
fn provision_request(call: &Call<'_>, body: &Value) -> Result<ProvisionRequest, ScimError> {
    let text = |v: &Value| {
        v.as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let username = text(&body["userName"])
        .ok_or_else(|| ScimError::bad_request("invalidValue", "userName is required"))?;
    let emails = body["emails"].as_array().cloned().unwrap_or_default();
    let email = emails
        .iter()
        .find(|e| e["primary"] == true)
        .or_else(|| emails.first())
        .and_then(|e| text(&e["value"]))
        .ok_or_else(|| {
            ScimError::bad_request(
                "invalidValue",
                format!(
                    "app {} needs an email (emails[].value) to provision",
                    call.app.name
                ),
            )
        })?;
    let given = [&body["name"]["givenName"], &body["name"]["familyName"]]
        .into_iter()
        .filter_map(text)
        .collect::<Vec<_>>()
        .join(" ");
    let full_name = text(&body["displayName"])
        .or_else(|| text(&body["name"]["formatted"]))
        .or_else(|| (!given.is_empty()).then_some(given))
        .unwrap_or_else(|| username.clone());
    let mut roles: Vec<String> = body["roles"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|r| text(&r["value"]).or_else(|| text(r)))
                .collect()
        })
        .unwrap_or_default();
    if roles.is_empty() {
        roles = call.service.default_roles(&call.app.name).to_vec();
    }
    if body.get("active").is_some() && !as_active(&body["active"])? {
        return Err(ScimError::mutability(format!(
            "app {} provisions active accounts only; create it, then PATCH active",
            call.app.name
        )));
    }
    Ok(ProvisionRequest {
        username,
        email,
        full_name,
        roles,
        attributes_json: None,
    })
}

/// `POST /Users`: provision (409 `uniqueness` when the userName is taken).
pub async fn create(call: &Call<'_>) -> Answer {
    if !call.support.provision {
        return Err(ScimError::not_implemented(format!(
            "app {} cannot provision accounts",
            call.app.name
        )));
    }
    let body = body_json(call)?;
    let request = provision_request(call, &body)?;
    if call.support.list {
        let handle = call
            .service
            .snapshots
            .ensure(&call.tenant, false)
            .await
            .map_err(|e| ScimError::from_call(&e))?;
        if let Some(r) = handle.read()
            && let Some(e) = r.snapshot().by_user_name(&request.username)
        {
            return Err(ScimError::new(
                StatusCode::CONFLICT,
                Some("uniqueness"),
                format!(
                    "userName {} is taken by user {}",
                    request.username,
                    e.resource["id"].as_str().unwrap_or_default()
                ),
            ));
        }
    }
    // The snapshot may be older than the user: the dry run looks the username up upstream,
    // and a status it knows is an account that exists (a provision would update it).
    let rehearsal = call
        .service
        .host
        .provision(&call.tenant, &request, true)
        .await
        .map_err(|e| ScimError::from_call(&e))?;
    if rehearsal.status.is_some() {
        return Err(ScimError::new(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            format!(
                "userName {} exists upstream: {}",
                request.username, rehearsal.message
            ),
        ));
    }
    call.ran("provision", &request.username);
    let result = call
        .service
        .host
        .provision(&call.tenant, &request, false)
        .await
        .map_err(|e| ScimError::from_call(&e))?;
    let e = current(call, &result.account_id).await?;
    Ok(resource_answer(
        StatusCode::CREATED,
        &served(&call.base, &e.resource),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_put_may_change_active_only_and_checks_types() {
        let held = json!({"userName": "alice", "displayName": "Alice",
            "emails": [{"value": "alice@example.com", "primary": true}],
            "roles": [{"value": "agent", "display": "agent"}]});
        // The same user (case and order aside), readOnly and unknown attributes ignored.
        let same = json!({"userName": "ALICE", "emails": [{"value": "Alice@example.com"}],
            "roles": [{"value": "agent"}], "id": "other", "meta": {}, "name": {"givenName": "A"},
            "active": false});
        assert!(unchanged_but_active("flex", &same, &held).is_ok());
        let refused = [
            (json!({"roles": [{"value": "admin"}]}), "mutability"),
            (json!({"roles": []}), "mutability"),
            (json!({"userName": "bob"}), "mutability"),
            (
                json!({"emails": [{"value": "b@example.com"}]}),
                "mutability",
            ),
            (json!({"userName": 7}), "invalidValue"),
            (json!({"roles": "agent"}), "invalidValue"),
            (json!({"emails": [{"value": 1}]}), "invalidValue"),
        ];
        for (body, scim_type) in refused {
            let e = unchanged_but_active("flex", &body, &held).unwrap_err();
            assert_eq!(e.scim_type, Some(scim_type), "{body}");
        }
    }
}
