//! The actions, misbehaving as the option `mode` says. Without a mode, `suspend` ignores
//! `dry_run` and closes the connecting account (what the older tests rely on) and the other
//! actions are unsupported. Each mode abuses a route the policy grants: the legitimate part
//! of the action goes first, then what no governance action should do.

use crate::hostile::governance::connector::types::{
    ActionKind, ActionResult, Config, ConnectorError, ProvisionRequest,
};
use crate::hostile::option;
use crate::hostile::wasi::keyvalue::store as kv;
use crate::http::{Payload, exchange, post_form, post_json, read, send};
use crate::routes::{API, FLEX_API, FRONTLINE_API, TASKROUTER};
use wasip2::http::types::{Method, Scheme};

/// The 2010 API status each action means.
fn twilio_status(action: &str) -> &'static str {
    match action {
        "suspend" => "suspended",
        "reactivate" => "active",
        _ => "closed",
    }
}

/// The Frontline state each action means.
fn frontline_state(action: &str) -> &'static str {
    match action {
        "reactivate" => "active",
        _ => "deactivated",
    }
}

fn account(sid: &str) -> String {
    format!("/2010-04-01/Accounts/{sid}.json")
}

/// Every string value of `"key":"…"` in a JSON text, in order (answers are flat enough).
fn values(body: &str, key: &str) -> Vec<String> {
    let needle = format!("\"{key}\":\"");
    body.match_indices(&needle)
        .filter_map(|(at, _)| {
            let rest = &body[at + needle.len()..];
            rest.find('"').map(|end| rest[..end].to_string())
        })
        .collect()
}

/// The contract's action by name (the hostile component names only these).
pub fn kind(action: &str) -> ActionKind {
    match action {
        "suspend" => ActionKind::Suspend,
        "reactivate" => ActionKind::Reactivate,
        "deprovision" => ActionKind::Deprovision,
        "grant" => ActionKind::Grant,
        "revoke" => ActionKind::Revoke,
        _ => ActionKind::Provision,
    }
}

fn done(action: &str, id: String, dry_run: bool, message: String) -> ActionResult {
    ActionResult {
        account_id: id,
        action: kind(action),
        dry_run,
        changed: !message.contains("Err("),
        status: None,
        message,
        warnings: vec![],
    }
}

/// `suspend`, `reactivate` or `deprovision` of `id`, in the way `mode` says.
pub fn status_change(
    action: &str,
    cfg: &Config,
    id: String,
    dry_run: bool,
) -> Result<ActionResult, ConnectorError> {
    let second = option(cfg, "second");
    let message = match option(cfg, "mode") {
        // Ignores `dry_run` and closes the connecting account, whatever id it was given.
        "" if action == "suspend" => format!(
            "{:?}",
            post_form(API, &account(&cfg.account_id), "Status=closed")
        ),
        "" => return Err(ConnectorError::Unsupported("hostile".into())),
        // The asked-for write, five times over, whatever each attempt got (a plugin that
        // does not take a refused write for an answer).
        "keep-writing" => {
            let form = format!("Status={}", twilio_status(action));
            let tries: Vec<String> = (0..5)
                .map(|_| format!("{:?}", post_form(API, &account(&id), &form)))
                .collect();
            tries.join(" ")
        }
        // The right account, the wrong status: a suspension that closes it for good.
        "status-closed" => format!("{:?}", post_form(API, &account(&id), "Status=closed")),
        // The account asked for, then another one (`second`) the same way.
        "second-account" => {
            let form = format!("Status={}", twilio_status(action));
            let first = post_form(API, &account(&id), &form);
            let other = post_form(API, &account(second), &form);
            format!("first={first:?} second={other:?}")
        }
        // The Frontline user asked for, then another one (`second`).
        "second-user" => {
            let form = format!("State={}", frontline_state(action));
            let first = post_form(FRONTLINE_API, &format!("/v1/Users/{id}"), &form);
            let other = post_form(FRONTLINE_API, &format!("/v1/Users/{second}"), &form);
            format!("first={first:?} second={other:?}")
        }
        // Read the workers so the second one surely exists, remove the one asked for, then
        // another (`second`, or the first other worker listed).
        "second-worker" => {
            let ws = read(TASKROUTER, "/v1/Workspaces")
                .map(|b| values(&b, "sid").into_iter().next().unwrap_or_default());
            let ws = match ws {
                Ok(ws) => ws,
                Err(e) => return Ok(done(action, id, dry_run, format!("workspaces: {e}"))),
            };
            let workers = read(TASKROUTER, &format!("/v1/Workspaces/{ws}/Workers"))
                .map(|b| values(&b, "sid"))
                .unwrap_or_default();
            let other = if second.is_empty() {
                workers
                    .iter()
                    .find(|w| **w != id)
                    .cloned()
                    .unwrap_or_default()
            } else {
                second.to_string()
            };
            let delete = |wk: &str| {
                send(
                    Method::Delete,
                    Scheme::Https,
                    TASKROUTER,
                    &format!("/v1/Workspaces/{ws}/Workers/{wk}"),
                    &[],
                    b"",
                )
                .map(|(s, _, _)| s)
            };
            let first = delete(&id);
            let then = delete(&other);
            format!(
                "listed {} workers; first={first:?} second({other})={then:?}",
                workers.len()
            )
        }
        // Deprovision every Flex user the instance's list shows under this id (its username or
        // email), not just one.
        "every-flex-user" => {
            let go = option(cfg, "flex_instance_sid");
            let list = match read(FLEX_API, &format!("/v1/Instances/{go}/Users")) {
                Ok(b) => b,
                Err(e) => return Ok(done(action, id, dry_run, format!("users: {e}"))),
            };
            let quoted = format!("\"{id}\"");
            let matching: Vec<String> = list
                .split('{')
                .filter(|object| object.contains(&quoted))
                .filter_map(|object| values(object, "flex_user_sid").into_iter().next())
                .collect();
            let outcomes: Vec<String> = matching
                .iter()
                .map(|fu| {
                    let body = format!(r#"{{"flex_user_sid":"{fu}"}}"#);
                    let path = format!("/v4/Instances/{go}/Users/Deprovision");
                    format!("{fu}={:?}", post_json(FLEX_API, &path, &body))
                })
                .collect();
            outcomes.join(" ")
        }
        // A request body of `bytes` (300 MiB unless told), streamed: more than any host holds.
        "huge-body" => {
            let total = option(cfg, "bytes").parse::<u64>().unwrap_or(300 << 20);
            let outcome = exchange(
                Method::Post,
                Scheme::Https,
                API,
                &account(&id),
                &[("content-type", "application/x-www-form-urlencoded")],
                Payload::Stream {
                    prefix: b"Status=suspended&FriendlyName=",
                    total,
                },
            );
            match outcome {
                Ok(r) => format!("answered {} after {} bytes", r.status, r.written),
                Err(e) => format!("Err({e})"),
            }
        }
        // Keep something in host-kept state from an action (a dry-run or not).
        "state-write" => match kv::open("tenant") {
            Ok(b) => format!(
                "open Ok; set {:?}",
                b.set("k", option(cfg, "value").as_bytes())
            ),
            Err(e) => format!("open Err({e:?})"),
        },
        other => {
            return Err(ConnectorError::InvalidConfig(format!(
                "unknown mode {other}"
            )));
        }
    };
    Ok(done(action, id, dry_run, message))
}

/// `provision`, in the way `mode` says: without one, unsupported.
pub fn provision(
    cfg: &Config,
    request: ProvisionRequest,
    dry_run: bool,
) -> Result<ActionResult, ConnectorError> {
    let message = match option(cfg, "mode") {
        "" => return Err(ConnectorError::Unsupported("hostile".into())),
        // The user asked for, with the `admin` role instead of the roles asked for.
        "admin-role" => {
            let go = option(cfg, "flex_instance_sid");
            let body = format!(
                r#"{{"username":"{}","email":"{}","full_name":"{}","roles":["admin"]}}"#,
                request.username, request.email, request.full_name
            );
            let path = format!("/v4/Instances/{go}/Users/Provision");
            format!("{:?}", post_json(FLEX_API, &path, &body))
        }
        other => {
            return Err(ConnectorError::InvalidConfig(format!(
                "unknown mode {other}"
            )));
        }
    };
    Ok(done("provision", request.username, dry_run, message))
}

/// `grant` and `revoke` (`grant` false), in the way `mode` says: `roles-as` reads the Flex
/// User `id` (so the host has seen it), then sends a Provision of the username, email, full
/// name and roles the options name, whatever the role asked for, to the instance
/// `write_instance` names (the configured one without it); without a mode, unsupported.
pub fn entitlement_change(
    cfg: &Config,
    grant: bool,
    id: String,
    entitlement: String,
    dry_run: bool,
) -> Result<ActionResult, ConnectorError> {
    let action = if grant { "grant" } else { "revoke" };
    let message = match option(cfg, "mode") {
        "roles-as" => {
            let go = option(cfg, "flex_instance_sid");
            let read = read(FLEX_API, &format!("/v4/Instances/{go}/Users/{id}"));
            let body = format!(
                r#"{{"username":"{}","email":"{}","full_name":"{}","roles":{}}}"#,
                option(cfg, "username"),
                option(cfg, "email"),
                option(cfg, "full_name"),
                option(cfg, "roles"),
            );
            // Option `write_instance`: the Provision goes to another instance than the one
            // read (and configured).
            let write_go = Some(option(cfg, "write_instance"))
                .filter(|s| !s.is_empty())
                .unwrap_or(go);
            let path = format!("/v4/Instances/{write_go}/Users/Provision");
            format!(
                "read {:?}; {entitlement}: {:?}",
                read.map(|_| ()),
                post_json(FLEX_API, &path, &body)
            )
        }
        "" => return Err(ConnectorError::Unsupported(action.into())),
        other => {
            return Err(ConnectorError::InvalidConfig(format!(
                "unknown mode {other}"
            )));
        }
    };
    Ok(done(action, id, dry_run, message))
}
