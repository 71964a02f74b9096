//! TaskRouter workers as Flex UI users: the last-activity rule, roles from the `attributes`
//! JSON string, and the account built from a worker (joined with its Flex User when known).

use super::ACCOUNT_TYPE;
use super::users_api::FlexUser;
use super::{TASKROUTER_HOST, taskrouter};
use crate::model::{Account, Entitlement, EntitlementKind, Result, Status};
use crate::paging::fetch_all_pages;
use crate::retry::Client;
use crate::time::{parse_timestamp, rfc3339};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// Activity names that mean the worker is not active right now (seed 000), compared without
/// regard to case.
const INACTIVE_ACTIVITIES: &[&str] = &["offline", "unavailable"];

/// The fields of a Worker the connector reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Worker {
    pub sid: String,
    #[serde(default)]
    pub friendly_name: Option<String>,
    #[serde(default)]
    pub activity_name: Option<String>,
    #[serde(default)]
    pub date_status_changed: Option<String>,
    /// Whether the worker's activity is an available one (TaskRouter's `available`).
    #[serde(default)]
    pub available: Option<bool>,
    /// A JSON string; TaskRouter shows it only when one worker is fetched (null in lists).
    #[serde(default)]
    pub attributes: Option<String>,
    #[serde(default)]
    pub workspace_sid: Option<String>,
    /// Why the attributes could not be read, when a fetch for them failed.
    #[serde(skip)]
    pub attributes_unreadable: Option<String>,
}

/// The fields of a Workspace the connector reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Workspace {
    pub sid: String,
}

/// Whether the worker is inactive or offline (seed 000): its activity is not an available one
/// (`available: false`, e.g. a custom "Break"), or is named Offline or Unavailable in any case.
pub fn is_inactive(w: &Worker) -> bool {
    let by_name = w.activity_name.as_deref().is_some_and(|a| {
        INACTIVE_ACTIVITIES
            .iter()
            .any(|i| a.trim().eq_ignore_ascii_case(i))
    });
    w.available == Some(false) || by_name
}

/// Last activity: when an inactive worker's status last changed, else the sync time (it is
/// active now).
pub fn last_activity(w: &Worker, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if is_inactive(w) {
        w.date_status_changed.as_deref().and_then(parse_timestamp)
    } else {
        Some(now)
    }
}

/// What the `attributes` JSON string holds for the connector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    pub roles: Vec<String>,
    pub email: Option<String>,
    pub full_name: Option<String>,
    /// Set when the attributes could not be read as documented.
    pub problem: Option<String>,
}

/// Parse a worker's `attributes` string. Never fails: problems become a note.
pub fn parse_attributes(raw: Option<&str>) -> Attributes {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Attributes::default();
    };
    let v: Value = match serde_json::from_str(raw) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => {
            return Attributes {
                problem: Some("attributes are not a JSON object".into()),
                ..Attributes::default()
            };
        }
        Err(e) => {
            return Attributes {
                problem: Some(format!("attributes are not valid JSON ({e})")),
                ..Attributes::default()
            };
        }
    };
    let text = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let mut a = Attributes {
        email: text("email"),
        full_name: text("full_name"),
        ..Attributes::default()
    };
    match v.get("roles") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for r in items {
                match r.as_str().map(str::trim).filter(|s| !s.is_empty()) {
                    Some(r) if !a.roles.iter().any(|x| x == r) => a.roles.push(r.to_string()),
                    Some(_) => {}
                    None => a.problem = Some("a role in attributes.roles is not a string".into()),
                }
            }
        }
        Some(_) => a.problem = Some("attributes.roles is not a list".into()),
    }
    a
}

fn role(name: &str) -> Entitlement {
    Entitlement {
        kind: EntitlementKind::Role,
        id: name.to_string(),
        name: name.to_string(),
        last_activity: None,
    }
}

fn account_type() -> Entitlement {
    Entitlement {
        kind: EntitlementKind::AccountType,
        id: ACCOUNT_TYPE.to_string(),
        name: ACCOUNT_TYPE.to_string(),
        last_activity: None,
    }
}

/// The account for a worker, joined with its Flex User when one is known.
pub fn to_account(w: &Worker, user: Option<&FlexUser>, now: DateTime<Utc>) -> Account {
    let attrs = parse_attributes(w.attributes.as_deref());
    let mut warnings = Vec::new();
    if let Some(p) = &attrs.problem {
        warnings.push(format!("worker {}: {p}; no roles read from it", w.sid));
    }
    if let Some(why) = &w.attributes_unreadable {
        warnings.push(format!(
            "worker {}: its attributes could not be read ({why}); roles from them are unknown",
            w.sid
        ));
    }
    let mut roles = attrs.roles.clone();
    if let Some(u) = user {
        warnings.extend(u.null_warnings());
        for r in u.roles() {
            if !roles.contains(r) {
                roles.push(r.clone());
            }
        }
    }
    let mut entitlements = vec![account_type()];
    entitlements.extend(roles.iter().map(|r| role(r)));
    let mut attributes = Vec::new();
    if let Some(ws) = &w.workspace_sid {
        attributes.push(("workspace_sid".into(), ws.clone()));
    }
    if let Some(a) = &w.activity_name {
        attributes.push(("activity_name".into(), a.clone()));
    }
    if let Some(u) = user {
        attributes.push(("flex_user_sid".into(), u.flex_user_sid.clone()));
    }
    let deactivated = user.is_some_and(FlexUser::is_deactivated);
    Account {
        id: w.sid.clone(),
        username: w
            .friendly_name
            .clone()
            .or_else(|| user.and_then(|u| u.username.clone())),
        email: attrs
            .email
            .clone()
            .or_else(|| user.and_then(|u| u.email.clone())),
        display_name: attrs
            .full_name
            .clone()
            .or_else(|| user.and_then(|u| u.full_name.clone()))
            .or_else(|| w.friendly_name.clone()),
        status: if deactivated {
            Status::Deprovisioned
        } else {
            Status::Active
        },
        last_activity: last_activity(w, now).map(rfc3339),
        entitlements,
        attributes,
        warnings,
    }
}

/// Every workspace.
pub fn workspaces(client: &mut Client<'_>) -> Result<Vec<Workspace>> {
    let first = taskrouter("/v1/Workspaces?PageSize=1000");
    fetch_all_pages(
        client,
        TASKROUTER_HOST,
        vec![first],
        "workspaces",
        "workspace list",
    )
    .pop()
    .expect("one list")
}

/// Every worker of every workspace (optionally only those with `friendly_name`).
pub fn all_workers(client: &mut Client<'_>, friendly_name: Option<&str>) -> Result<Vec<Worker>> {
    let spaces = workspaces(client)?;
    let filter = friendly_name
        .map(|f| format!("&FriendlyName={}", crate::http::form_encode(f)))
        .unwrap_or_default();
    let urls = spaces
        .iter()
        .map(|ws| {
            taskrouter(&format!(
                "/v1/Workspaces/{}/Workers?PageSize=1000{filter}",
                ws.sid
            ))
        })
        .collect();
    let mut out = Vec::new();
    for (ws, result) in spaces.iter().zip(fetch_all_pages(
        client,
        TASKROUTER_HOST,
        urls,
        "workers",
        "worker list",
    )) {
        let workers: Vec<Worker> = result?;
        for mut w in workers {
            w.workspace_sid.get_or_insert_with(|| ws.sid.clone());
            out.push(w);
        }
    }
    fill_attributes(client, &mut out);
    Ok(out)
}

/// TaskRouter leaves `attributes` null in lists ("only displayed in FETCH actions that return
/// a single resource", taskrouter OpenAPI, `Worker.attributes`): fetch each such worker, all
/// at once within the client's in-flight limit. A worker whose fetch fails keeps no roles and
/// says why in its warnings; the sync goes on.
pub fn fill_attributes(client: &mut Client<'_>, workers: &mut [Worker]) {
    let missing: Vec<usize> = (0..workers.len())
        .filter(|&i| workers[i].attributes.is_none())
        .collect();
    let requests = missing
        .iter()
        .map(|&i| {
            let w = &workers[i];
            crate::http::Request::get(taskrouter(&format!(
                "/v1/Workspaces/{}/Workers/{}",
                w.workspace_sid.as_deref().unwrap_or_default(),
                w.sid
            )))
        })
        .collect();
    for (&i, answer) in missing.iter().zip(client.send_all(requests)) {
        let fetched = answer.and_then(|r| r.json::<Worker>(&format!("worker {}", workers[i].sid)));
        match fetched {
            Ok(one) if one.attributes.is_some() => workers[i].attributes = one.attributes,
            Ok(_) => {
                workers[i].attributes_unreadable =
                    Some("TaskRouter showed no attributes even when fetched".into())
            }
            Err(e) => workers[i].attributes_unreadable = Some(e.to_string()),
        }
    }
}

/// Find one worker by SID in whichever workspace holds it.
pub fn find_worker(client: &mut Client<'_>, sid: &str) -> Result<Option<Worker>> {
    let spaces = workspaces(client)?;
    let requests = spaces
        .iter()
        .map(|ws| {
            crate::http::Request::get(taskrouter(&format!(
                "/v1/Workspaces/{}/Workers/{sid}",
                ws.sid
            )))
        })
        .collect();
    for (ws, answer) in spaces.iter().zip(client.send_all(requests)) {
        let r = answer?;
        if r.status == 404 {
            continue;
        }
        let mut w: Worker = r.json(&format!("worker {sid}"))?;
        w.workspace_sid.get_or_insert_with(|| ws.sid.clone());
        return Ok(Some(w));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(activity: &str, attributes: &str) -> Worker {
        Worker {
            sid: "WK1".into(),
            friendly_name: Some("alice".into()),
            activity_name: Some(activity.into()),
            date_status_changed: Some("2025-11-18T17:45:12Z".into()),
            available: None,
            attributes: Some(attributes.into()),
            workspace_sid: Some("WS1".into()),
            attributes_unreadable: None,
        }
    }

    fn now() -> DateTime<Utc> {
        parse_timestamp("2025-11-23T12:00:00Z").unwrap()
    }

    #[test]
    fn inactive_workers_use_the_status_change_active_ones_the_sync_time() {
        let changed = Some("2025-11-18T17:45:12Z");
        for a in ["Offline", "Unavailable", "offline", "UNAVAILABLE"] {
            let at = last_activity(&worker(a, "{}"), now()).map(rfc3339);
            assert_eq!(at.as_deref(), changed, "{a}");
        }
        // A custom activity counts by TaskRouter's `available` flag, whatever its name.
        let mut on_break = worker("Break", "{}");
        on_break.available = Some(false);
        assert_eq!(
            last_activity(&on_break, now()).map(rfc3339).as_deref(),
            changed
        );
        for a in ["Available", "Break", "Busy"] {
            let mut w = worker(a, "{}");
            assert_eq!(last_activity(&w, now()), Some(now()), "{a}");
            w.available = Some(true);
            assert_eq!(last_activity(&w, now()), Some(now()), "{a}");
        }
    }

    #[test]
    fn attributes_that_could_not_be_fetched_are_told() {
        let mut w = worker("Available", "{}");
        w.attributes = None;
        w.attributes_unreadable = Some("HTTP 500".into());
        let acc = to_account(&w, None, now());
        assert_eq!(acc.entitlements.len(), 1);
        assert!(
            acc.warnings[0].contains("could not be read"),
            "{:?}",
            acc.warnings
        );
    }

    #[test]
    fn roles_come_from_the_attributes_string() {
        let a = parse_attributes(Some(
            r#"{"roles":["agent","supervisor","agent"],"email":"a@x","full_name":"A B"}"#,
        ));
        assert_eq!(a.roles, vec!["agent", "supervisor"]);
        assert_eq!(a.email.as_deref(), Some("a@x"));
        assert_eq!(a.problem, None);
    }

    #[test]
    fn malformed_or_missing_attributes_give_no_roles_and_never_fail() {
        for raw in [
            "not json",
            "[1,2]",
            r#"{"roles":"agent"}"#,
            r#"{"roles":{"a":1}}"#,
        ] {
            let a = parse_attributes(Some(raw));
            assert!(a.roles.is_empty(), "{raw}");
            assert!(a.problem.is_some(), "{raw}");
        }
        assert_eq!(parse_attributes(None), Attributes::default());
        assert_eq!(parse_attributes(Some("{}")), Attributes::default());
        let acc = to_account(&worker("Offline", "nope"), None, now());
        assert_eq!(acc.entitlements.len(), 1);
        assert_eq!(acc.entitlements[0].name, "Flex UI User");
        assert_eq!(acc.warnings.len(), 1);
    }

    #[test]
    fn worker_account_fields() {
        let acc = to_account(
            &worker(
                "Available",
                r#"{"roles":["admin"],"email":"a@x","full_name":"Alice A"}"#,
            ),
            None,
            now(),
        );
        assert_eq!(acc.username.as_deref(), Some("alice"));
        assert_eq!(acc.email.as_deref(), Some("a@x"));
        assert_eq!(acc.display_name.as_deref(), Some("Alice A"));
        assert_eq!(acc.status, Status::Active);
        assert_eq!(acc.last_activity.as_deref(), Some("2025-11-23T12:00:00Z"));
        assert_eq!(acc.entitlements[1].kind, EntitlementKind::Role);
    }
}
