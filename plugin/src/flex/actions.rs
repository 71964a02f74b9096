//! Deprovision (Flex Users API with an instance, else delete the worker) and provision
//! (Flex Users API, idempotent), with input validated before anything is sent.

use super::users_api::{self, FlexUser};
use super::workers::{Worker, find_worker};
use super::{flex_api, instance, taskrouter};
use crate::errors::ConnectorError;
use crate::http::Request;
use crate::model::{ActionKind, ActionResult, Config, ProvisionRequest, Result, Status};
use crate::retry::Client;
use crate::sid::is_sid;

/// Told on every deprovision: the identity source still grants access.
pub const SSO_WARNING: &str = "Flex access must also be removed at its source (the SSO identity provider's \
    assignment or the Twilio Console user); otherwise the user is re-created at the next login";

/// Roles the Flex Users API accepts.
pub const ROLES: &[&str] = &["agent", "supervisor", "admin"];

/// An action's result before it is decided: nothing changed, no status, no message.
pub(super) fn result(id: &str, action: ActionKind, dry_run: bool) -> ActionResult {
    ActionResult {
        account_id: id.to_string(),
        action,
        dry_run,
        changed: false,
        status: None,
        message: String::new(),
        warnings: Vec::new(),
    }
}

/// The Flex User an id (FU SID, worker SID or username) denotes, and for a worker SID the
/// worker itself (which may have no Flex User: workers created through the TaskRouter API have
/// none, seed 003).
fn resolve_user(
    client: &mut Client<'_>,
    go: &str,
    id: &str,
) -> Result<(Option<FlexUser>, Option<Worker>)> {
    if is_sid(id, "FU") {
        return Ok((users_api::by_sid(client, go, id)?, None));
    }
    if is_sid(id, "WK") {
        let Some(w) = find_worker(client, id)? else {
            return Ok((None, None));
        };
        // Flex names the worker after the username.
        let user = match &w.friendly_name {
            Some(name) => users_api::by_username(client, go, name)?
                .filter(|u| u.worker().is_none_or(|wk| wk == w.sid)),
            None => None,
        };
        return Ok((user, Some(w)));
    }
    Ok((users_api::by_username(client, go, id)?, None))
}

/// An action that Twilio accepted but did not carry out.
pub(super) fn not_applied(what: String) -> ConnectorError {
    ConnectorError::Upstream {
        status: 200,
        code: None,
        message: what,
    }
}

/// Remove a Flex user's access.
pub fn deprovision(
    client: &mut Client<'_>,
    cfg: &Config,
    id: &str,
    dry_run: bool,
) -> Result<ActionResult> {
    let mut r = result(id, ActionKind::Deprovision, dry_run);
    r.warnings.push(SSO_WARNING.to_string());
    let mut known_worker = None;
    if let Some(go) = instance(cfg)? {
        match resolve_user(client, go, id)? {
            (Some(user), _) => return deprovision_user(client, go, user, r),
            // A worker without a Flex User is removed as a worker.
            (None, Some(w)) => {
                r.warnings.push(format!(
                    "worker {} has no Flex User in instance {go} (created through the TaskRouter API); the worker itself is deleted",
                    w.sid
                ));
                known_worker = Some(w);
            }
            (None, None) => {
                r.status = Some(Status::Deprovisioned);
                r.message = format!(
                    "no Flex user {id} exists in instance {go}: already removed, nothing sent"
                );
                return Ok(r);
            }
        }
    }
    if !is_sid(id, "WK") {
        return Err(ConnectorError::InvalidInput(format!(
            "{id:?} is not a worker SID; without a Flex instance SID only workers (WK...) can be deprovisioned"
        )));
    }
    let worker = match known_worker {
        Some(w) => Some(w),
        None => find_worker(client, id)?,
    };
    let Some(worker) = worker else {
        r.status = Some(Status::Deprovisioned);
        r.message =
            format!("worker {id} does not exist in any workspace: already removed, nothing sent");
        return Ok(r);
    };
    let ws = worker.workspace_sid.clone().unwrap_or_default();
    r.changed = true;
    if r.dry_run {
        r.status = Some(Status::Active);
        r.message = format!("would delete TaskRouter worker {id} from workspace {ws}");
        return Ok(r);
    }
    let answer = client.send(Request::delete(taskrouter(&format!(
        "/v1/Workspaces/{ws}/Workers/{id}"
    ))))?;
    if answer.status == 404 {
        r.changed = false;
        r.message = format!("worker {id} was already removed");
    } else {
        answer.ok(&format!("delete of worker {id}"))?;
        r.message = format!("deleted TaskRouter worker {id} from workspace {ws}");
    }
    // Read back in its own workspace (no second listing of workspaces): it must be gone.
    let back = client.send(Request::get(taskrouter(&format!(
        "/v1/Workspaces/{ws}/Workers/{id}"
    ))))?;
    if back.status != 404 {
        back.ok(&format!("read-back of worker {id}"))?;
        return Err(not_applied(format!(
            "Twilio accepted the delete of worker {id}, but the worker still exists"
        )));
    }
    r.status = Some(Status::Deprovisioned);
    Ok(r)
}

/// Deprovision through the Flex Users API, then read the user back.
fn deprovision_user(
    client: &mut Client<'_>,
    go: &str,
    user: FlexUser,
    mut r: ActionResult,
) -> Result<ActionResult> {
    if user.is_deactivated() {
        r.status = Some(Status::Deprovisioned);
        r.message = format!(
            "Flex user {} is already deactivated; nothing sent",
            user.flex_user_sid
        );
        return Ok(r);
    }
    r.changed = true;
    if r.dry_run {
        r.status = Some(Status::Active);
        r.message = format!(
            "would deprovision Flex user {} ({}) through the Flex Users API, removing its worker",
            user.flex_user_sid,
            user.username.as_deref().unwrap_or("?")
        );
        return Ok(r);
    }
    let fu = &user.flex_user_sid;
    let body = serde_json::json!({ "flex_user_sid": fu });
    let answer = client.send(Request::post_json(
        flex_api(&format!("/v4/Instances/{go}/Users/Deprovision")),
        &body,
    ))?;
    if answer.status == 404 {
        r.changed = false;
        r.status = Some(Status::Deprovisioned);
        r.message = format!("Flex user {fu} was already removed");
        return Ok(r);
    }
    answer.ok(&format!("deprovision of Flex user {fu}"))?;
    // Read back: the user must now be deactivated (or gone).
    if let Some(after) = users_api::by_sid(client, go, fu)?
        && !after.is_deactivated()
    {
        return Err(not_applied(format!(
            "Twilio accepted the deprovisioning of Flex user {fu}, but the user is still active"
        )));
    }
    r.status = Some(Status::Deprovisioned);
    r.message =
        format!("deprovisioned Flex user {fu}: deactivated, worker and Insights user removed");
    Ok(r)
}

/// Check a provisioning request before anything is sent.
pub fn validate(req: &ProvisionRequest) -> Result<serde_json::Value> {
    let bad = |m: String| Err(ConnectorError::InvalidInput(m));
    for (field, value) in [
        ("username", &req.username),
        ("email", &req.email),
        ("full name", &req.full_name),
    ] {
        let n = value.chars().count();
        if !(1..=256).contains(&n) || value.trim().is_empty() {
            return bad(format!("{field} must be 1 to 256 characters (got {n})"));
        }
    }
    if !req.email.contains('@') {
        return bad(format!("email {:?} is not an email address", req.email));
    }
    if req.roles.is_empty() {
        return bad(format!(
            "at least one role is required ({})",
            ROLES.join(", ")
        ));
    }
    if let Some(r) = req.roles.iter().find(|r| !ROLES.contains(&r.as_str())) {
        return bad(format!(
            "unknown role {r:?}; roles are {}",
            ROLES.join(", ")
        ));
    }
    let attributes = match req
        .attributes_json
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => serde_json::json!({}),
        Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v @ serde_json::Value::Object(_)) => v,
            Ok(_) => return bad("worker attributes must be a JSON object".into()),
            Err(e) => return bad(format!("worker attributes are not valid JSON ({e})")),
        },
    };
    let mut roles: Vec<&str> = Vec::new();
    for r in &req.roles {
        if !roles.contains(&r.as_str()) {
            roles.push(r);
        }
    }
    Ok(serde_json::json!({
        "username": req.username,
        "email": req.email,
        "full_name": req.full_name,
        "roles": roles,
        "worker": { "attributes": attributes },
    }))
}

/// Create or update a Flex user (idempotent on Twilio's side).
pub fn provision(
    client: &mut Client<'_>,
    cfg: &Config,
    req: &ProvisionRequest,
    dry_run: bool,
) -> Result<ActionResult> {
    let body = validate(req)?;
    let go = instance(cfg)?.ok_or_else(|| {
        ConnectorError::InvalidConfig(
            "provisioning needs a Flex instance SID (--flex-instance or TWILIO_FLEX_INSTANCE_SID)"
                .into(),
        )
    })?;
    let existing = users_api::by_username(client, go, &req.username)?;
    let mut r = result(&req.username, ActionKind::Provision, dry_run);
    if dry_run {
        r.changed = true;
        r.status = existing.as_ref().map(|u| {
            if u.is_deactivated() {
                Status::Deprovisioned
            } else {
                Status::Active
            }
        });
        r.message = match &existing {
            Some(u) => format!(
                "would update Flex user {} ({}) with the given email, name and roles",
                u.flex_user_sid, req.username
            ),
            None => format!(
                "would create Flex user {} with roles {}",
                req.username,
                req.roles.join(", ")
            ),
        };
        return Ok(r);
    }
    let user: FlexUser = client
        .send(Request::post_json(
            flex_api(&format!("/v4/Instances/{go}/Users/Provision")),
            &body,
        ))?
        .json(&format!("provisioning of {}", req.username))?;
    r.account_id = user.flex_user_sid.clone();
    r.changed = existing.as_ref().is_none_or(|e| {
        e.is_deactivated()
            || e.roles() != user.roles()
            || e.email != user.email
            || e.full_name != user.full_name
    });
    r.status = Some(Status::Active);
    r.message = format!(
        "{} Flex user {} ({}){}",
        if existing.is_some() {
            "updated"
        } else {
            "created"
        },
        user.flex_user_sid,
        req.username,
        user.worker()
            .map(|w| format!(", worker {w}"))
            .unwrap_or_default()
    );
    Ok(r)
}

#[cfg(test)]
mod flows {
    //! Whole flows over the fake transport: what each one sends.

    use super::*;
    use crate::fake::{FakeTransport, answer};
    use crate::http::Method;
    use crate::retry::Policy;
    use serde_json::json;
    use std::cell::Cell;
    use std::rc::Rc;

    use crate::flex::test_fixtures::{FLEX, FU, GO, TR, WK, WS, cfg};

    /// One workspace; the worker `alice` exists until a DELETE removes it.
    fn taskrouter(t: FakeTransport) -> (FakeTransport, Rc<Cell<bool>>) {
        let exists = Rc::new(Cell::new(true));
        let (read, delete) = (exists.clone(), exists.clone());
        let worker = format!("{TR}/v1/Workspaces/{WS}/Workers/{WK}");
        let t = t
            .json(
                Method::Get,
                &format!("{TR}/v1/Workspaces"),
                200,
                json!({"workspaces": [{"sid": WS}], "meta": {"next_page_url": null}}),
            )
            .on(Method::Get, &worker, move |_| {
                Ok(if read.get() {
                    let w = json!({"sid": WK, "friendly_name": "alice", "workspace_sid": WS});
                    answer(200, w.to_string().into_bytes())
                } else {
                    answer(404, br#"{"code":20404,"status":404}"#.to_vec())
                })
            })
            .on(Method::Delete, &worker, move |_| {
                let was = delete.replace(false);
                Ok(answer(if was { 204 } else { 404 }, Vec::new()))
            });
        (t, exists)
    }

    /// The Flex user `alice` (active until deprovisioned), found by username and by SID.
    fn users_api(t: FakeTransport) -> FakeTransport {
        let active = Rc::new(Cell::new(true));
        let (read, write) = (active.clone(), active);
        let user = move |on: bool| {
            json!({"flex_user_sid": FU, "username": "alice", "worker_sid": WK,
                   "roles": ["agent"], "deactivated": !on})
        };
        t.on(
            Method::Get,
            &format!("{FLEX}/v4/Instances/{GO}/Users"),
            move |req| {
                let found = req.url.contains("Username=alice");
                let users = if found {
                    vec![user(read.get())]
                } else {
                    vec![]
                };
                let page = json!({"users": users, "meta": {"next_page_url": null}});
                Ok(answer(200, page.to_string().into_bytes()))
            },
        )
        .on(
            Method::Post,
            &format!("{FLEX}/v4/Instances/{GO}/Users/Deprovision"),
            move |_| {
                write.set(false);
                Ok(answer(204, Vec::new()))
            },
        )
    }

    fn deprovision_with(
        t: &mut FakeTransport,
        instance: bool,
        id: &str,
        dry: bool,
    ) -> Result<ActionResult> {
        let mut c = Client::new(t, Policy::default());
        deprovision(&mut c, &cfg(instance), id, dry)
    }

    fn request(username: &str) -> ProvisionRequest {
        ProvisionRequest {
            username: username.into(),
            email: format!("{username}@example.com"),
            full_name: "A Person".into(),
            roles: vec!["agent".into()],
            attributes_json: None,
        }
    }

    #[test]
    fn deprovision_dry_runs_read_only_with_and_without_an_instance() {
        for instance in [false, true] {
            let (t, _) = taskrouter(FakeTransport::for_app(&crate::flex::INFO));
            let mut t = users_api(t);
            for id in [WK, "alice"].iter().take(if instance { 2 } else { 1 }) {
                let r = deprovision_with(&mut t, instance, id, true).unwrap();
                assert!(r.dry_run && r.changed, "{instance} {id}: {r:?}");
            }
            assert!(
                t.writes().is_empty(),
                "instance {instance}: {:?}",
                t.writes()
            );
        }
    }

    #[test]
    fn repeated_deprovision_writes_once() {
        let (t, exists) = taskrouter(FakeTransport::for_app(&crate::flex::INFO));
        let mut t = t;
        let first = deprovision_with(&mut t, false, WK, false).unwrap();
        let second = deprovision_with(&mut t, false, WK, false).unwrap();
        assert!(first.changed && !second.changed && !exists.get());
        assert_eq!(t.writes().len(), 1, "{:?}", t.writes());
        assert_eq!(t.writes()[0].method, Method::Delete);

        let (t, _) = taskrouter(FakeTransport::for_app(&crate::flex::INFO));
        let mut t = users_api(t);
        let first = deprovision_with(&mut t, true, "alice", false).unwrap();
        let second = deprovision_with(&mut t, true, "alice", false).unwrap();
        assert!(first.changed && !second.changed, "{second:?}");
        assert_eq!(t.writes().len(), 1, "{:?}", t.writes());
    }

    #[test]
    fn a_worker_without_a_flex_user_is_deleted_even_with_an_instance() {
        // The users API knows nobody called "alice": the worker was made through TaskRouter.
        let (t, exists) = taskrouter(FakeTransport::for_app(&crate::flex::INFO));
        let mut t = t.json(
            Method::Get,
            &format!("{FLEX}/v4/Instances/{GO}/Users"),
            200,
            json!({"users": [], "meta": {}}),
        );
        let r = deprovision_with(&mut t, true, WK, false).unwrap();
        assert!(r.changed && !exists.get(), "{r:?}");
        assert_eq!(t.writes().len(), 1);
        assert_eq!(t.writes()[0].method, Method::Delete);
        assert!(
            r.warnings.iter().any(|w| w.contains("no Flex User")),
            "{r:?}"
        );
    }

    #[test]
    fn deprovisions_twilio_did_not_apply_are_errors() {
        // The delete answers 204 but the worker is still there.
        let worker = format!("{TR}/v1/Workspaces/{WS}/Workers/{WK}");
        let mut t = FakeTransport::for_app(&crate::flex::INFO)
            .json(
                Method::Get,
                &format!("{TR}/v1/Workspaces"),
                200,
                json!({"workspaces": [{"sid": WS}], "meta": {}}),
            )
            .json(
                Method::Get,
                &worker,
                200,
                json!({"sid": WK, "workspace_sid": WS}),
            )
            .on(Method::Delete, &worker, |_| Ok(answer(204, Vec::new())));
        let e = deprovision_with(&mut t, false, WK, false).unwrap_err();
        assert!(e.to_string().contains("still exists"), "{e}");

        // The Flex user stays active after a 204 from /Deprovision.
        let user = json!({"flex_user_sid": FU, "username": "alice", "worker_sid": WK, "roles": [], "deactivated": false});
        let mut t = FakeTransport::for_app(&crate::flex::INFO)
            .json(
                Method::Get,
                &format!("{FLEX}/v4/Instances/{GO}/Users"),
                200,
                json!({"users": [user.clone()], "meta": {}}),
            )
            .json(
                Method::Get,
                &format!("{FLEX}/v4/Instances/{GO}/Users/{FU}"),
                200,
                user,
            )
            .on(
                Method::Post,
                &format!("{FLEX}/v4/Instances/{GO}/Users/Deprovision"),
                |_| Ok(answer(204, Vec::new())),
            );
        let e = deprovision_with(&mut t, true, "alice", false).unwrap_err();
        assert!(e.to_string().contains("still active"), "{e}");
    }

    #[test]
    fn provisioning_dry_runs_send_no_write_whether_or_not_the_user_exists() {
        let mut t = users_api(FakeTransport::for_app(&crate::flex::INFO));
        for user in ["alice", "newcomer"] {
            let mut c = Client::new(&mut t, Policy::default());
            let r = provision(&mut c, &cfg(true), &request(user), true).unwrap();
            assert!(r.dry_run, "{user}");
        }
        assert!(t.writes().is_empty(), "{:?}", t.writes());
        assert_eq!(t.requests.len(), 2, "one lookup per user");
    }

    #[test]
    fn invalid_provisioning_sends_nothing() {
        let mut t = users_api(FakeTransport::for_app(&crate::flex::INFO));
        let mut bad = request("alice");
        bad.roles = vec!["owner".into()];
        let mut c = Client::new(&mut t, Policy::default());
        let e = provision(&mut c, &cfg(true), &bad, false).unwrap_err();
        assert!(matches!(e, ConnectorError::InvalidInput(_)), "{e:?}");
        assert!(t.requests.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> ProvisionRequest {
        ProvisionRequest {
            username: "jane".into(),
            email: "jane@example.com".into(),
            full_name: "Jane Doe".into(),
            roles: vec!["agent".into(), "agent".into()],
            attributes_json: Some(r#"{"language":"english"}"#.into()),
        }
    }

    #[test]
    fn valid_requests_become_the_documented_body() {
        let body = validate(&req()).unwrap();
        assert_eq!(body["roles"], serde_json::json!(["agent"]));
        assert_eq!(body["worker"]["attributes"]["language"], "english");
    }

    #[test]
    fn bad_input_is_rejected_with_the_reason() {
        type Change = Box<dyn Fn(&mut ProvisionRequest)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|r| r.username.clear()), "username"),
            (Box::new(|r| r.full_name = "x".repeat(257)), "full name"),
            (Box::new(|r| r.email = "nope".into()), "email"),
            (Box::new(|r| r.roles = vec!["owner".into()]), "unknown role"),
            (Box::new(|r| r.roles.clear()), "at least one role"),
            (
                Box::new(|r| r.attributes_json = Some("[1]".into())),
                "JSON object",
            ),
            (
                Box::new(|r| r.attributes_json = Some("{".into())),
                "not valid JSON",
            ),
        ];
        for (change, expected) in cases {
            let mut r = req();
            change(&mut r);
            match validate(&r) {
                Err(ConnectorError::InvalidInput(m)) => assert!(m.contains(expected), "{m}"),
                other => panic!("expected invalid input for {expected}, got {other:?}"),
            }
        }
    }
}
