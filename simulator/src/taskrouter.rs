//! taskrouter.twilio.com: Workspaces (list, fetch) and Workers (list, fetch, delete).

use crate::paging::page_v1;
use crate::state::{Answer, State, error, not_found};
use serde_json::Value;
use std::collections::BTreeMap;

const HOST: &str = crate::hosts::TASKROUTER;

/// Route one request to TaskRouter.
pub fn handle(
    state: &mut State,
    method: &str,
    path: &str,
    query: &BTreeMap<String, String>,
) -> Answer {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["v1", "Workspaces"]) => {
            let items = state.fixture.workspaces.clone();
            (200, Some(page_v1(HOST, path, query, "workspaces", &items)))
        }
        ("GET", ["v1", "Workspaces", ws]) => {
            match state.fixture.workspaces.iter().find(|w| w["sid"] == *ws) {
                Some(w) => (200, Some(w.clone())),
                None => not_found(path),
            }
        }
        ("GET", ["v1", "Workspaces", ws, "Workers"]) => {
            if !state.fixture.workspaces.iter().any(|w| w["sid"] == *ws) {
                return not_found(path);
            }
            let items: Vec<Value> = state
                .fixture
                .workers
                .get(*ws)
                .into_iter()
                .flatten()
                .filter(|w| {
                    query
                        .get("FriendlyName")
                        .is_none_or(|f| w["friendly_name"] == f.as_str())
                })
                .filter(|w| {
                    query
                        .get("ActivityName")
                        .is_none_or(|a| w["activity_name"] == a.as_str())
                })
                .cloned()
                // taskrouter OpenAPI, `Worker.attributes`: "will only be displayed in FETCH
                // actions that return a single resource. Otherwise, this property will be
                // null, even if it has a value."
                .map(|mut w| {
                    w["attributes"] = Value::Null;
                    w
                })
                .collect();
            (200, Some(page_v1(HOST, path, query, "workers", &items)))
        }
        ("GET", ["v1", "Workspaces", ws, "Workers", wk]) => {
            match state
                .fixture
                .workers
                .get(*ws)
                .and_then(|l| l.iter().find(|w| w["sid"] == *wk))
            {
                Some(w) => (200, Some(w.clone())),
                None => not_found(path),
            }
        }
        ("DELETE", ["v1", "Workspaces", ws, "Workers", wk]) => {
            let Some(list) = state.fixture.workers.get_mut(*ws) else {
                return not_found(path);
            };
            let before = list.len();
            list.retain(|w| w["sid"] != *wk);
            if list.len() == before {
                return not_found(path);
            }
            (204, None)
        }
        (_, ["v1", ..]) => error(405, 20004, "Method not allowed"),
        _ => not_found(path),
    }
}
