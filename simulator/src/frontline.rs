//! frontline-api.twilio.com: Users, fetched and updated by SID or identity.

use crate::state::{Answer, State, error, not_found};
use serde_json::json;
use std::collections::BTreeMap;

/// Route one request to the Frontline API.
pub fn handle(
    state: &mut State,
    method: &str,
    path: &str,
    form: &BTreeMap<String, String>,
) -> Answer {
    let Some(id) = path
        .strip_prefix("/v1/Users/")
        .filter(|s| !s.is_empty() && !s.contains('/'))
    else {
        return not_found(path);
    };
    let id = crate::form::decode(id);
    let Some(user) = state
        .fixture
        .frontline_users
        .iter_mut()
        .find(|u| u["sid"] == id.as_str() || u["identity"] == id.as_str())
    else {
        return not_found(path);
    };
    match method {
        "GET" => (200, Some(user.clone())),
        "POST" => {
            if let Some(s) = form.get("State") {
                if s != "active" && s != "deactivated" {
                    return error(400, 20001, &format!("Invalid State {s}"));
                }
                user["state"] = json!(s);
            }
            if let Some(a) = form.get("IsAvailable") {
                match a.as_str() {
                    "true" | "True" => user["is_available"] = json!(true),
                    "false" | "False" => user["is_available"] = json!(false),
                    _ => return error(400, 20001, &format!("Invalid IsAvailable {a}")),
                }
            }
            if let Some(n) = form.get("FriendlyName") {
                user["friendly_name"] = json!(n);
            }
            if let Some(a) = form.get("Avatar") {
                user["avatar"] = json!(a);
            }
            (200, Some(user.clone()))
        }
        _ => error(405, 20004, "Method not allowed"),
    }
}
