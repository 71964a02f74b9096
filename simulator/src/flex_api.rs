//! flex-api.twilio.com: the Flex Users API (v1 list; v4 fetch by SID or username, Provision,
//! Deprovision) and the v2 Flex User fetch. Provisioning creates the worker; deprovisioning
//! removes it and deactivates the user.

use crate::paging::page_v1;
use crate::state::{Answer, State, error, not_found};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const HOST: &str = crate::hosts::FLEX_API;

/// Route one request to the Flex API.
pub fn handle(
    state: &mut State,
    method: &str,
    path: &str,
    query: &BTreeMap<String, String>,
    body: Option<&Value>,
) -> Answer {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let instance = |go: &str| state_has_instance(state, go);
    match (method, parts.as_slice()) {
        ("GET", ["v1", "Instances", go, "Users"]) if instance(go) => {
            let items = state
                .fixture
                .flex_users
                .get(*go)
                .cloned()
                .unwrap_or_default();
            (200, Some(page_v1(HOST, path, query, "users", &items)))
        }
        ("GET", ["v4", "Instances", go, "Users"]) if instance(go) => {
            let Some(username) = query.get("Username") else {
                return error(400, 20001, "Username is required");
            };
            // Seed 003, "Get Flex user by username": the example answer's user carries
            // `workspace_sid` but no `worker_sid` (list and by-SID answers carry both).
            let found: Vec<Value> = users(state, go)
                .iter()
                .filter(|u| u["username"] == username.as_str())
                .cloned()
                .map(|mut u| {
                    if let Some(o) = u.as_object_mut() {
                        o.remove("worker_sid");
                    }
                    u
                })
                .collect();
            let main = state.fixture.main_account_sid.clone();
            (
                200,
                Some(json!({
                    "account_sid": main,
                    "instance_sid": go,
                    "users": found,
                    "meta": {"direct_token": true, "list_key": "users", "next_token": null, "page_size": 50, "previous_token": null}
                })),
            )
        }
        ("GET", ["v4" | "v2", "Instances", go, "Users", fu]) if instance(go) => {
            match users(state, go).iter().find(|u| u["flex_user_sid"] == *fu) {
                Some(u) if parts[0] == "v2" => (200, Some(v2_shape(u))),
                Some(u) => (200, Some(u.clone())),
                None => not_found(path),
            }
        }
        ("POST", ["v4", "Instances", go, "Users", "Provision"]) if instance(go) => {
            provision(state, go, body)
        }
        ("POST", ["v4", "Instances", go, "Users", "Deprovision"]) if instance(go) => {
            let Some(fu) = body.and_then(|b| b["flex_user_sid"].as_str()) else {
                return error(400, 20001, "flex_user_sid is required");
            };
            deprovision(state, go, fu, path)
        }
        _ => not_found(path),
    }
}

fn state_has_instance(state: &State, go: &str) -> bool {
    state.fixture.flex_users.contains_key(go)
}

fn users<'a>(state: &'a State, go: &str) -> &'a [Value] {
    state
        .fixture
        .flex_users
        .get(go)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The v2 resource carries only the documented v2 fields.
fn v2_shape(u: &Value) -> Value {
    let keys = [
        "account_sid",
        "instance_sid",
        "user_sid",
        "flex_user_sid",
        "worker_sid",
        "workspace_sid",
        "flex_team_sid",
        "username",
        "email",
        "locale",
        "roles",
        "created_date",
        "updated_date",
        "version",
    ];
    let mut v = json!({});
    for k in keys {
        if let Some(x) = u.get(k) {
            v[k] = x.clone();
        }
    }
    v["url"] = json!(format!(
        "https://{HOST}/v2/Instances/{}/Users/{}",
        u["instance_sid"].as_str().unwrap_or(""),
        u["flex_user_sid"].as_str().unwrap_or("")
    ));
    v
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn text(body: &Value, k: &str) -> Option<String> {
    body[k]
        .as_str()
        .map(str::to_string)
        .filter(|s| !s.is_empty() && s.chars().count() <= 256)
}

fn provision(state: &mut State, go: &str, body: Option<&Value>) -> Answer {
    let Some(body) = body else {
        return error(400, 20001, "a JSON body is required");
    };
    let (Some(username), Some(email), Some(full_name)) = (
        text(body, "username"),
        text(body, "email"),
        text(body, "full_name"),
    ) else {
        return error(
            400,
            20001,
            "username, email and full_name are required (1..256 characters)",
        );
    };
    let Some(roles) = body["roles"].as_array().filter(|r| !r.is_empty()).cloned() else {
        return error(400, 20001, "roles are required");
    };
    if roles
        .iter()
        .any(|r| !matches!(r.as_str(), Some("agent" | "supervisor" | "admin")))
    {
        return error(400, 20001, "roles must be agent, supervisor or admin");
    }
    let attributes = body["worker"]["attributes"].clone();
    if !attributes.is_null() && !attributes.is_object() {
        return error(400, 20001, "worker.attributes must be an object");
    }
    let Some(ws) = state
        .fixture
        .workspaces
        .first()
        .and_then(|w| w["sid"].as_str())
        .map(str::to_string)
    else {
        return error(400, 20001, "the Flex instance has no TaskRouter workspace");
    };
    let existing = users(state, go)
        .iter()
        .position(|u| u["username"] == username.as_str());
    let (fu, wk) = match existing {
        Some(i) => {
            let u = &state.fixture.flex_users[go][i];
            (
                u["flex_user_sid"].as_str().unwrap_or_default().to_string(),
                u["worker_sid"].as_str().map(str::to_string),
            )
        }
        None => (state.new_sid("FU"), None),
    };
    let worker_alive = wk.as_ref().is_some_and(|wk| {
        state
            .fixture
            .workers
            .get(&ws)
            .is_some_and(|l| l.iter().any(|w| w["sid"] == wk.as_str()))
    });
    let wk = if worker_alive {
        wk.expect("checked")
    } else {
        state.new_sid("WK")
    };
    // Seed 003, Provision: `worker` is a "JSON blob with optional TaskRouter Worker routing
    // attributes"; the worker gets those attributes, and the username as its `friendly_name`.
    // Roles, email and name belong to the Flex User, not to the worker's attributes.
    let worker_attrs = attributes.as_object().cloned().unwrap_or_default();
    let main = state.fixture.main_account_sid.clone();
    let workers = state.fixture.workers.entry(ws.clone()).or_default();
    match workers.iter_mut().find(|w| w["sid"] == wk.as_str()) {
        Some(w) => w["attributes"] = json!(Value::Object(worker_attrs).to_string()),
        None => workers.push(crate::fixture::worker_defaults(
            json!({
                "sid": wk, "friendly_name": username, "workspace_sid": ws, "account_sid": main,
                "attributes": Value::Object(worker_attrs).to_string(),
            }),
            &ws,
            &main,
        )),
    }
    let ts = now();
    let list = state.fixture.flex_users.entry(go.to_string()).or_default();
    let user = match existing {
        Some(i) => {
            let u = &mut list[i];
            u["email"] = json!(email);
            u["full_name"] = json!(full_name);
            u["roles"] = json!(roles);
            u["deactivated"] = json!(false);
            u["deactivated_date"] = Value::Null;
            u["worker_sid"] = json!(wk);
            u["workspace_sid"] = json!(ws);
            u["updated_date"] = json!(ts);
            u["version"] = json!(u["version"].as_u64().unwrap_or(1) + 1);
            u.clone()
        }
        None => {
            let u = crate::fixture::flex_user_defaults(
                json!({
                    "flex_user_sid": fu, "username": username, "email": email, "full_name": full_name, "roles": roles,
                    "worker_sid": wk, "workspace_sid": ws, "created_date": ts, "updated_date": ts,
                }),
                go,
                &main,
            );
            list.push(u.clone());
            u
        }
    };
    let mut answer = user.clone();
    if let Some(o) = answer.as_object_mut() {
        o.remove("worker_sid");
        o.remove("workspace_sid");
    }
    answer["worker"] = json!({"worker_sid": wk, "workspace_sid": ws});
    (if existing.is_some() { 200 } else { 201 }, Some(answer))
}

fn deprovision(state: &mut State, go: &str, fu: &str, path: &str) -> Answer {
    let Some(i) = users(state, go)
        .iter()
        .position(|u| u["flex_user_sid"] == fu)
    else {
        return not_found(path);
    };
    let (wk, ws) = {
        let u = &state.fixture.flex_users[go][i];
        (
            u["worker_sid"].as_str().map(str::to_string),
            u["workspace_sid"].as_str().map(str::to_string),
        )
    };
    if let (Some(wk), Some(ws)) = (wk, ws)
        && let Some(list) = state.fixture.workers.get_mut(&ws)
    {
        list.retain(|w| w["sid"] != wk.as_str());
    }
    let ts = now();
    let u = &mut state
        .fixture
        .flex_users
        .get_mut(go)
        .expect("instance exists")[i];
    u["deactivated"] = json!(true);
    u["deactivated_date"] = json!(ts);
    u["worker_sid"] = Value::Null;
    u["updated_date"] = json!(ts);
    (204, None)
}
