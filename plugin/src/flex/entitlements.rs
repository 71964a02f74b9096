//! Flex roles as entitlements: `list-entitlements` answers the three roles of the Flex Users
//! API, and a grant or a revoke of one is a Provision of the user (an update when the username
//! exists, seed 003) with its username, email and full name as Twilio has them and its role
//! set changed by that one role; Twilio's answer must then carry the new set.

use super::actions::{ROLES, not_applied, result};
use super::users_api::{self, FlexUser};
use super::workers::{Worker, find_worker, parse_attributes};
use super::{flex_api, instance};
use crate::errors::ConnectorError;
use crate::http::Request;
use crate::model::{
    ActionKind, ActionResult, Config, EntitlementInfo, EntitlementKind, EntitlementPage, Result,
    Status,
};
use crate::retry::Client;
use crate::sid::is_sid;
use std::collections::BTreeSet;

/// The grantable roles: id (the role name, as the Flex Users API and the accounts' role
/// entitlements name it), readable name, and what the role gives.
pub const ROLE_INFO: [(&str, &str, &str); 3] = [
    (
        "agent",
        "Agent",
        "Handles the tasks (calls, chats, messages) Flex routes to the user",
    ),
    (
        "supervisor",
        "Supervisor",
        "Monitors agents, teams and queues in Flex and can coach, join or take over their tasks",
    ),
    (
        "admin",
        "Administrator",
        "Configures the Flex instance from the admin pages of Flex, with supervisor access",
    ),
];

/// Told on every role change: an SSO login sets the roles again.
pub const SSO_ROLES_WARNING: &str = "a Flex user who signs in through SSO gets its roles from the identity \
    provider's assertion at each login; change the role there too, or the next login sets it back";

/// The roles, on one page.
pub fn list(cursor: Option<&str>) -> Result<EntitlementPage> {
    if let Some(c) = cursor.filter(|c| !c.is_empty()) {
        return Err(ConnectorError::InvalidInput(format!(
            "the flex app's roles fit on one page; {c:?} is not a cursor it answered"
        )));
    }
    Ok(EntitlementPage {
        entitlements: ROLE_INFO
            .iter()
            .map(|(id, name, description)| EntitlementInfo {
                kind: EntitlementKind::Role,
                id: (*id).to_string(),
                name: (*name).to_string(),
                description: Some((*description).to_string()),
            })
            .collect(),
        next_cursor: None,
    })
}

/// Give the account `id` (worker SID, Flex user SID or username) the role `role`.
pub fn grant(
    client: &mut Client<'_>,
    cfg: &Config,
    id: &str,
    role: &str,
    dry_run: bool,
) -> Result<ActionResult> {
    change(client, cfg, id, role, dry_run, ActionKind::Grant)
}

/// Take the role `role` from the account `id`, leaving its other roles.
pub fn revoke(
    client: &mut Client<'_>,
    cfg: &Config,
    id: &str,
    role: &str,
    dry_run: bool,
) -> Result<ActionResult> {
    change(client, cfg, id, role, dry_run, ActionKind::Revoke)
}

/// The answer to a grant or revoke without a Flex instance.
fn unconfigured(kind: ActionKind) -> ConnectorError {
    ConnectorError::Unsupported(format!(
        "{} of a Flex role needs the Flex Users API: configure the Flex instance SID \
         (--flex-instance, or the {} option)",
        kind.name(),
        crate::options::FLEX_INSTANCE
    ))
}

/// The role `role` names, as the Flex Users API spells it.
fn known_role(role: &str) -> Result<&'static str> {
    let wanted = role.trim();
    ROLES
        .iter()
        .copied()
        .find(|r| r.eq_ignore_ascii_case(wanted))
        .ok_or_else(|| {
            ConnectorError::InvalidInput(format!(
                "unknown Flex role {role:?}; roles are {}",
                ROLES.join(", ")
            ))
        })
}

/// The Flex User the account `id` is, and the worker when `id` is a worker SID. A worker is
/// joined on its friendly name (Flex names it after the username) and confirmed by a fetch by
/// SID, since the by-username answer carries no `worker_sid` (seed 003), as `accounts::get`.
fn target(client: &mut Client<'_>, go: &str, id: &str) -> Result<(FlexUser, Option<Worker>)> {
    let not_found =
        || ConnectorError::NotFound(format!("no Flex user or worker {id:?} in instance {go}"));
    if is_sid(id, "WK") {
        let w = find_worker(client, id)?.ok_or_else(not_found)?;
        let user = match &w.friendly_name {
            Some(name) => users_api::by_username(client, go, name)?,
            None => None,
        };
        let user = match user {
            Some(u) if u.worker().is_none() && !u.is_deactivated() => {
                users_api::by_sid(client, go, &u.flex_user_sid)?
            }
            other => other,
        }
        .filter(|u| u.worker() == Some(w.sid.as_str()));
        return match user {
            Some(u) => Ok((u, Some(w))),
            None => Err(ConnectorError::Refused(format!(
                "worker {id} has no Flex User in instance {go} (it was created through the \
                 TaskRouter API), so its roles cannot be changed through the Flex Users API"
            ))),
        };
    }
    let user = if is_sid(id, "FU") {
        users_api::by_sid(client, go, id)?
    } else {
        users_api::by_username(client, go, id)?
    };
    user.map(|u| (u, None)).ok_or_else(not_found)
}

/// A field Provision needs, as Twilio has it for the user.
fn identity<'a>(user: &'a FlexUser, field: &str, value: &'a Option<String>) -> Result<&'a str> {
    value
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            ConnectorError::Refused(format!(
                "Flex user {} has no {field} in Twilio's answer, and Provision needs one; \
                 provision the user with it first",
                user.flex_user_sid
            ))
        })
}

/// Roles, each once, in the order given.
fn distinct(roles: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in roles {
        if !out.contains(r) {
            out.push(r.clone());
        }
    }
    out
}

fn listed(roles: &[String]) -> String {
    if roles.is_empty() {
        "none".into()
    } else {
        roles.join(", ")
    }
}

/// Grant or revoke `role` for the account `id`.
fn change(
    client: &mut Client<'_>,
    cfg: &Config,
    id: &str,
    role: &str,
    dry_run: bool,
    kind: ActionKind,
) -> Result<ActionResult> {
    let go = instance(cfg)?.ok_or_else(|| unconfigured(kind))?;
    let role = known_role(role)?;
    let (user, worker) = target(client, go, id)?;
    let fu = user.flex_user_sid.as_str();
    if user.is_deactivated() {
        return Err(ConnectorError::Refused(format!(
            "Flex user {fu} is deactivated; its roles cannot be changed (provision it again to restore access)"
        )));
    }
    let mut r = result(id, kind, dry_run);
    r.status = Some(Status::Active);
    r.warnings.extend(user.null_warnings());
    // The account also shows roles its worker's attributes list; they are not the Flex
    // User's, and Provision does not change them by role.
    if kind == ActionKind::Revoke
        && let Some(w) = &worker
        && parse_attributes(w.attributes.as_deref())
            .roles
            .iter()
            .any(|r| r == role)
    {
        r.warnings.push(format!(
            "worker {}'s attributes also list role {role} (as an SSO login sets them); the account shows it as long as they do",
            w.sid
        ));
    }
    let current = distinct(user.roles());
    let held = current.iter().any(|r| r == role);
    let roles: Vec<String> = if kind == ActionKind::Grant {
        if held {
            r.message = format!("Flex user {fu} already holds role {role}; nothing sent");
            return Ok(r);
        }
        current.iter().cloned().chain([role.to_string()]).collect()
    } else {
        if !held {
            r.message = format!(
                "Flex user {fu} does not hold role {role} (its roles: {}); nothing sent",
                listed(&current)
            );
            return Ok(r);
        }
        if current.len() == 1 {
            return Err(ConnectorError::Refused(format!(
                "role {role} is the only role of Flex user {fu}, and a Flex user needs at least one role; deprovision the user instead"
            )));
        }
        current.iter().filter(|r| *r != role).cloned().collect()
    };
    let username = identity(&user, "username", &user.username)?;
    let body = serde_json::json!({
        "username": username,
        "email": identity(&user, "email", &user.email)?,
        "full_name": identity(&user, "full name", &user.full_name)?,
        "roles": roles,
    });
    let path = format!("/v4/Instances/{go}/Users/Provision");
    r.changed = true;
    r.warnings.push(SSO_ROLES_WARNING.to_string());
    if dry_run {
        r.message = format!(
            "would send POST {path} for Flex user {fu} ({username}) with roles {} (now {}), its email and full name as they are",
            listed(&roles),
            listed(&current)
        );
        return Ok(r);
    }
    let what = format!("{} of role {role} for Flex user {fu}", kind.name());
    let answer: FlexUser = client
        .send(Request::post_json(flex_api(&path), &body))?
        .json(&what)?;
    if answer.flex_user_sid != fu {
        return Err(not_applied(format!(
            "Twilio answered the {what} with another Flex user, {}",
            answer.flex_user_sid
        )));
    }
    let wanted: BTreeSet<&str> = roles.iter().map(String::as_str).collect();
    let got: BTreeSet<&str> = answer.roles().iter().map(String::as_str).collect();
    if wanted != got {
        return Err(not_applied(format!(
            "Twilio accepted the {what}, but its answer has roles {}, not {}",
            listed(answer.roles()),
            listed(&roles)
        )));
    }
    r.message = format!(
        "{} role {role} {} Flex user {fu} ({username}); its roles are now {}",
        if kind == ActionKind::Grant {
            "granted"
        } else {
            "revoked"
        },
        if kind == ActionKind::Grant {
            "to"
        } else {
            "from"
        },
        listed(&roles)
    );
    Ok(r)
}

#[cfg(test)]
mod flows {
    //! Grants and revokes over the fake transport: what each one sends.

    use super::*;
    use crate::fake::{FakeTransport, answer};
    use crate::http::Method;
    use crate::retry::Policy;
    use serde_json::{Value, json};
    use std::cell::RefCell;
    use std::rc::Rc;

    use crate::flex::test_fixtures::{FLEX, FU, GO, TR, WK, WS, cfg};

    /// How the fake's Provision answers.
    #[derive(Clone, Copy, PartialEq)]
    enum Provision {
        /// Takes the roles sent, as Twilio does.
        Applies,
        /// Answers 200 with the roles as they were.
        Ignores,
    }

    /// The worker `alice` and its Flex user with `roles` (kept across calls; Provision sets
    /// them), `deactivated` as told.
    fn fake(roles: &[&str], deactivated: bool, provision: Provision) -> FakeTransport {
        let roles = Rc::new(RefCell::new(
            roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        ));
        let user = {
            let roles = roles.clone();
            move |with_worker: bool| {
                let mut u = json!({"flex_user_sid": FU, "username": "alice",
                    "email": "alice@acme.example", "full_name": "Alice Anders",
                    "roles": *roles.borrow(), "deactivated": deactivated,
                    "workspace_sid": WS});
                if with_worker && !deactivated {
                    u["worker_sid"] = json!(WK);
                }
                u
            }
        };
        let (by_name, by_sid) = (user.clone(), user);
        let worker = json!({"sid": WK, "friendly_name": "alice", "workspace_sid": WS,
            "attributes": r#"{"roles":["agent"],"skills":["english"]}"#});
        FakeTransport::for_app(&crate::flex::INFO)
            .json(
                Method::Get,
                &format!("{TR}/v1/Workspaces"),
                200,
                json!({"workspaces": [{"sid": WS}], "meta": {"next_page_url": null}}),
            )
            .json(
                Method::Get,
                &format!("{TR}/v1/Workspaces/{WS}/Workers/{WK}"),
                200,
                worker,
            )
            .on(
                Method::Get,
                &format!("{FLEX}/v4/Instances/{GO}/Users"),
                move |req| {
                    // The by-username answer carries no worker_sid (seed 003).
                    let users = if req.url.contains("Username=alice") {
                        vec![by_name(false)]
                    } else {
                        vec![]
                    };
                    let page = json!({"users": users, "meta": {"next_token": null}});
                    Ok(answer(200, page.to_string().into_bytes()))
                },
            )
            .on(
                Method::Get,
                &format!("{FLEX}/v4/Instances/{GO}/Users/{FU}"),
                move |_| Ok(answer(200, by_sid(true).to_string().into_bytes())),
            )
            .on(
                Method::Post,
                &format!("{FLEX}/v4/Instances/{GO}/Users/Provision"),
                move |req| {
                    let body: Value = serde_json::from_slice(&req.body).unwrap();
                    if provision == Provision::Applies {
                        *roles.borrow_mut() =
                            serde_json::from_value(body["roles"].clone()).unwrap();
                    }
                    let a = json!({"flex_user_sid": FU, "username": body["username"],
                        "email": body["email"], "full_name": body["full_name"],
                        "roles": *roles.borrow(), "deactivated": false,
                        "worker": {"worker_sid": WK, "workspace_sid": WS}});
                    Ok(answer(200, a.to_string().into_bytes()))
                },
            )
    }

    fn run(
        t: &mut FakeTransport,
        instance: bool,
        kind: ActionKind,
        id: &str,
        role: &str,
        dry: bool,
    ) -> Result<ActionResult> {
        let mut c = Client::new(t, Policy::default());
        match kind {
            ActionKind::Grant => grant(&mut c, &cfg(instance), id, role, dry),
            _ => revoke(&mut c, &cfg(instance), id, role, dry),
        }
    }

    /// The body of the one write sent.
    fn the_write(t: &FakeTransport) -> Value {
        let writes = t.writes();
        assert_eq!(writes.len(), 1, "{writes:?}");
        assert_eq!(writes[0].method, Method::Post);
        assert_eq!(
            writes[0].url,
            format!("{FLEX}/v4/Instances/{GO}/Users/Provision")
        );
        assert_eq!(writes[0].content_type, Some("application/json"));
        serde_json::from_slice(&writes[0].body).unwrap()
    }

    #[test]
    fn grant_adds_the_role_keeping_the_others_and_the_identity() {
        for id in [WK, FU, "alice"] {
            let mut t = fake(&["agent"], false, Provision::Applies);
            let r = run(&mut t, true, ActionKind::Grant, id, "supervisor", false).unwrap();
            assert!(r.changed && !r.dry_run, "{id}: {r:?}");
            assert_eq!(r.action, ActionKind::Grant);
            assert_eq!(r.account_id, id);
            assert_eq!(r.status, Some(Status::Active));
            assert!(r.message.contains("agent, supervisor"), "{}", r.message);
            assert_eq!(
                the_write(&t),
                json!({"username": "alice", "email": "alice@acme.example",
                       "full_name": "Alice Anders", "roles": ["agent", "supervisor"]}),
                "{id}: no worker attributes are sent"
            );
        }
    }

    #[test]
    fn a_worker_id_is_confirmed_as_the_users_worker_before_the_write() {
        let mut t = fake(&["agent"], false, Provision::Applies);
        run(&mut t, true, ActionKind::Grant, WK, "admin", false).unwrap();
        let sent: Vec<String> = t
            .requests
            .iter()
            .map(|r| format!("{} {}", r.method.as_str(), r.url))
            .collect();
        assert_eq!(
            sent,
            vec![
                format!("GET {TR}/v1/Workspaces?PageSize=1000"),
                format!("GET {TR}/v1/Workspaces/{WS}/Workers/{WK}"),
                format!("GET {FLEX}/v4/Instances/{GO}/Users?Username=alice"),
                format!("GET {FLEX}/v4/Instances/{GO}/Users/{FU}"),
                format!("POST {FLEX}/v4/Instances/{GO}/Users/Provision"),
            ]
        );
    }

    #[test]
    fn revoke_removes_only_that_role() {
        let mut t = fake(&["agent", "supervisor", "admin"], false, Provision::Applies);
        let r = run(&mut t, true, ActionKind::Revoke, WK, "supervisor", false).unwrap();
        assert!(r.changed, "{r:?}");
        assert_eq!(r.action, ActionKind::Revoke);
        let body = the_write(&t);
        assert_eq!(body["roles"], json!(["agent", "admin"]));
        assert_eq!(body["username"], "alice");
        assert_eq!(body["email"], "alice@acme.example");
        assert_eq!(body["full_name"], "Alice Anders");
        assert!(body.get("worker").is_none(), "{body}");
    }

    #[test]
    fn revoking_the_last_role_is_refused_without_a_write() {
        let mut t = fake(&["agent"], false, Provision::Applies);
        let e = run(&mut t, true, ActionKind::Revoke, FU, "agent", false).unwrap_err();
        match e {
            ConnectorError::Refused(m) => {
                assert!(
                    m.contains("at least one role") && m.contains("deprovision"),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(t.writes().is_empty());
    }

    #[test]
    fn granting_a_held_role_or_revoking_one_not_held_sends_no_write() {
        let mut t = fake(&["agent", "supervisor"], false, Provision::Applies);
        let r = run(&mut t, true, ActionKind::Grant, WK, "supervisor", false).unwrap();
        assert!(!r.changed, "{r:?}");
        assert!(
            r.message.contains("already holds role supervisor"),
            "{}",
            r.message
        );
        let r = run(&mut t, true, ActionKind::Revoke, FU, "admin", false).unwrap();
        assert!(!r.changed, "{r:?}");
        assert!(
            r.message.contains("does not hold role admin"),
            "{}",
            r.message
        );
        // Repeated: the second grant finds the role held.
        let first = run(&mut t, true, ActionKind::Grant, FU, "admin", false).unwrap();
        let second = run(&mut t, true, ActionKind::Grant, FU, "admin", false).unwrap();
        assert!(first.changed && !second.changed, "{second:?}");
        assert_eq!(t.writes().len(), 1, "{:?}", t.writes());
    }

    #[test]
    fn dry_runs_say_what_would_be_sent_and_send_no_write() {
        let mut t = fake(&["agent", "supervisor"], false, Provision::Applies);
        let r = run(&mut t, true, ActionKind::Grant, WK, "admin", true).unwrap();
        assert!(r.dry_run && r.changed, "{r:?}");
        assert!(
            r.message.contains("would send POST")
                && r.message.contains("/Users/Provision")
                && r.message.contains("agent, supervisor, admin"),
            "{}",
            r.message
        );
        let r = run(&mut t, true, ActionKind::Revoke, FU, "supervisor", true).unwrap();
        assert!(r.dry_run && r.changed, "{r:?}");
        assert!(
            r.message
                .contains("with roles agent (now agent, supervisor)"),
            "{}",
            r.message
        );
        assert!(t.writes().is_empty(), "{:?}", t.writes());
    }

    #[test]
    fn without_a_flex_instance_grant_and_revoke_are_unsupported_and_send_nothing() {
        let mut t = fake(&["agent"], false, Provision::Applies);
        for kind in [ActionKind::Grant, ActionKind::Revoke] {
            match run(&mut t, false, kind, WK, "supervisor", false).unwrap_err() {
                ConnectorError::Unsupported(m) => assert!(
                    m.contains("--flex-instance") && m.contains("flex_instance_sid"),
                    "{m}"
                ),
                other => panic!("{other:?}"),
            }
        }
        assert!(t.requests.is_empty(), "{:?}", t.requests);
    }

    #[test]
    fn an_answer_without_the_new_roles_is_an_error() {
        for (kind, roles, role) in [
            (ActionKind::Grant, &["agent"][..], "supervisor"),
            (ActionKind::Revoke, &["agent", "admin"][..], "admin"),
        ] {
            let mut t = fake(roles, false, Provision::Ignores);
            let e = run(&mut t, true, kind, WK, role, false).unwrap_err();
            assert!(
                matches!(e, ConnectorError::Upstream { status: 200, .. })
                    && e.to_string().contains("answer has roles"),
                "{e}"
            );
            assert_eq!(t.writes().len(), 1);
        }
    }

    #[test]
    fn unknown_roles_deactivated_users_and_bare_workers_are_refused_without_a_write() {
        let mut t = fake(&["agent"], false, Provision::Applies);
        match run(&mut t, true, ActionKind::Grant, WK, "owner", false).unwrap_err() {
            ConnectorError::InvalidInput(m) => {
                assert!(m.contains("agent, supervisor, admin"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        assert!(
            t.requests.is_empty(),
            "an unknown role is refused before any read"
        );

        let mut t = fake(&["agent"], true, Provision::Applies);
        for kind in [ActionKind::Grant, ActionKind::Revoke] {
            let e = run(&mut t, true, kind, FU, "supervisor", false).unwrap_err();
            assert!(
                matches!(&e, ConnectorError::Refused(m) if m.contains("deactivated")),
                "{e:?}"
            );
        }
        assert!(t.writes().is_empty());

        // A worker made through TaskRouter: nobody of its name in the Flex Users API.
        let mut t = FakeTransport::for_app(&crate::flex::INFO)
            .json(
                Method::Get,
                &format!("{TR}/v1/Workspaces"),
                200,
                json!({"workspaces": [{"sid": WS}], "meta": {}}),
            )
            .json(
                Method::Get,
                &format!("{TR}/v1/Workspaces/{WS}/Workers/{WK}"),
                200,
                json!({"sid": WK, "friendly_name": "bob", "workspace_sid": WS}),
            )
            .json(
                Method::Get,
                &format!("{FLEX}/v4/Instances/{GO}/Users"),
                200,
                json!({"users": [], "meta": {}}),
            );
        let e = run(&mut t, true, ActionKind::Grant, WK, "admin", false).unwrap_err();
        assert!(
            matches!(&e, ConnectorError::Refused(m) if m.contains("no Flex User")),
            "{e:?}"
        );
        assert!(t.writes().is_empty());
    }

    #[test]
    fn the_listed_roles_are_the_ids_accounts_report_and_revoke_takes() {
        let page = list(None).unwrap();
        assert_eq!(page.next_cursor, None);
        let ids: Vec<&str> = page.entitlements.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ROLES);
        for e in &page.entitlements {
            assert_eq!(e.kind, EntitlementKind::Role);
            assert!(!e.name.is_empty() && e.description.as_deref().is_some_and(|d| !d.is_empty()));
        }
        // An account holding every role reports them with the same ids.
        let user: FlexUser = serde_json::from_value(json!({"flex_user_sid": FU,
            "roles": ROLES, "deactivated": false}))
        .unwrap();
        let account = users_api::to_account(&user);
        let held: Vec<&str> = account
            .entitlements
            .iter()
            .filter(|e| e.kind == EntitlementKind::Role)
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(held, ids);
        // And each one listed can be revoked by that id.
        let mut t = fake(ROLES, false, Provision::Applies);
        let r = run(&mut t, true, ActionKind::Revoke, FU, ids[1], false).unwrap();
        assert!(r.changed, "{r:?}");
        assert!(matches!(
            list(Some("next")),
            Err(ConnectorError::InvalidInput(_))
        ));
    }
}
