//! Deprovision (Flex Users API with an instance, else delete the worker) and provision
//! (Flex Users API, idempotent), with input validated before anything is sent.

use super::users_api::{self, FlexUser};
use super::workers::find_worker;
use super::{flex_api, instance, is_sid, taskrouter};
use crate::errors::ConnectorError;
use crate::http::Request;
use crate::model::{ActionResult, Config, ProvisionRequest, Result, Status};
use crate::retry::Client;

/// Told on every deprovision: the identity source still grants access.
pub const SSO_WARNING: &str = "Flex access must also be removed at its source (the SSO identity provider's \
    assignment or the Twilio Console user); otherwise the user is re-created at the next login";

/// Roles the Flex Users API accepts.
pub const ROLES: &[&str] = &["agent", "supervisor", "admin"];

fn result(id: &str, action: &str, dry_run: bool) -> ActionResult {
    ActionResult {
        account_id: id.to_string(),
        action: action.to_string(),
        dry_run,
        changed: false,
        status: None,
        message: String::new(),
        warnings: Vec::new(),
    }
}

/// Find the Flex User an id (FU SID, worker SID or username) denotes.
fn resolve_user(client: &mut Client<'_>, go: &str, id: &str) -> Result<Option<FlexUser>> {
    if is_sid(id, "FU") {
        return users_api::by_sid(client, go, id);
    }
    let username = if is_sid(id, "WK") {
        match find_worker(client, id)? {
            // Flex names the worker after the username.
            Some(w) => match w.friendly_name {
                Some(n) => n,
                None => return Ok(None),
            },
            None => return Ok(None),
        }
    } else {
        id.to_string()
    };
    users_api::by_username(client, go, &username)
}

/// Remove a Flex user's access.
pub fn deprovision(
    client: &mut Client<'_>,
    cfg: &Config,
    id: &str,
    dry_run: bool,
) -> Result<ActionResult> {
    let mut r = result(id, "deprovision", dry_run);
    r.warnings.push(SSO_WARNING.to_string());
    if let Some(go) = instance(cfg)? {
        let Some(user) = resolve_user(client, go, id)? else {
            r.status = Some(Status::Deprovisioned);
            r.message =
                format!("no Flex user {id} exists in instance {go}: already removed, nothing sent");
            return Ok(r);
        };
        if user.deactivated {
            r.status = Some(Status::Deprovisioned);
            r.message = format!(
                "Flex user {} is already deactivated; nothing sent",
                user.flex_user_sid
            );
            return Ok(r);
        }
        r.changed = true;
        if dry_run {
            r.status = Some(Status::Active);
            r.message = format!(
                "would deprovision Flex user {} ({}) through the Flex Users API, removing its worker",
                user.flex_user_sid,
                user.username.as_deref().unwrap_or("?")
            );
            return Ok(r);
        }
        let body = serde_json::json!({ "flex_user_sid": user.flex_user_sid });
        let answer = client.send(Request::post_json(
            flex_api(&format!("/v4/Instances/{go}/Users/Deprovision")),
            &body,
        ))?;
        if answer.status == 404 {
            r.changed = false;
            r.status = Some(Status::Deprovisioned);
            r.message = format!("Flex user {} was already removed", user.flex_user_sid);
            return Ok(r);
        }
        answer.ok(&format!("deprovision of Flex user {}", user.flex_user_sid))?;
        r.status = Some(Status::Deprovisioned);
        r.message = format!(
            "deprovisioned Flex user {}: deactivated, worker and Insights user removed",
            user.flex_user_sid
        );
        return Ok(r);
    }
    if !is_sid(id, "WK") {
        return Err(ConnectorError::InvalidInput(format!(
            "{id:?} is not a worker SID; without a Flex instance SID only workers (WK...) can be deprovisioned"
        )));
    }
    let Some(worker) = find_worker(client, id)? else {
        r.status = Some(Status::Deprovisioned);
        r.message =
            format!("worker {id} does not exist in any workspace: already removed, nothing sent");
        return Ok(r);
    };
    let ws = worker.workspace_sid.clone().unwrap_or_default();
    r.changed = true;
    if dry_run {
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
    r.status = Some(Status::Deprovisioned);
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
    let mut r = result(&req.username, "provision", dry_run);
    if dry_run {
        r.changed = true;
        r.status = existing.as_ref().map(|u| {
            if u.deactivated {
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
        e.deactivated
            || e.roles != user.roles
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
