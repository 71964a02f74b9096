//! The organization's writes, each checked before anything is sent and verified after:
//! suspend / reactivate (SCIM PATCH of `active`), deprovision (SCIM DELETE, read back),
//! provision (SCIM POST, after a look-up by `userName`), grant (POST RoleAssignments) and
//! revoke (DELETE of the one assignment of that role at that scope, read back).
//!
//! Never changed: the Organization Owner (Twilio refuses it, error 25016), a suspended user
//! (except to reactivate it), and the user the connecting OAuth client acts as, when the
//! options name it.

use super::errors::{self, not_applied};
use super::roles::{self, RoleAtScope, is_built_in, parse_entitlement, same_sid};
use super::users::{self, ScimUser, fetch, fetch_existing, is_owner};
use super::{client_user, org_url, organization};
use crate::errors::ConnectorError;
use crate::http::{Method, Request, Response};
use crate::model::{
    ActionKind, ActionResult, Config, ProvisionRequest, Result, Status, StatusChange,
};
use crate::retry::Client;
use crate::sid::{is_sid, require};
use serde::Serialize;

/// The SCIM PATCH request schema (RFC 7644 section 3.5.2).
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The SCIM core User schema (RFC 7643 section 4.1).
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The media type of every body sent: `application/json`, which every organization write
/// takes (the SCIM ones take `application/scim+json` too, the role assignment one only this).
pub const JSON: &str = "application/json";

/// Told on every deprovision.
pub const DEPROVISION_WARNING: &str = "Twilio's SCIM delete deactivates the user: it stays in the organization with active: false \
    (listed as suspended); its role assignments are not removed by this action, so revoke any that remain";

/// `ScimPatchRequest` setting `active`.
#[derive(Serialize)]
struct PatchRequest {
    schemas: [&'static str; 1],
    #[serde(rename = "Operations")]
    operations: [PatchOperation; 1],
}

/// `ScimPatchOperation`.
#[derive(Serialize)]
struct PatchOperation {
    op: &'static str,
    path: &'static str,
    value: bool,
}

/// The body of the SCIM PATCH that sets `active`, exactly:
/// `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`.
pub fn active_patch(active: bool) -> Vec<u8> {
    serde_json::to_vec(&PatchRequest {
        schemas: [PATCH_OP_SCHEMA],
        operations: [PatchOperation {
            op: "replace",
            path: "active",
            value: active,
        }],
    })
    .expect("a patch serialises")
}

/// A new user (`ScimUser`): its userName, which is its primary email, its display name.
#[derive(Serialize)]
struct NewUser<'a> {
    schemas: [&'static str; 1],
    #[serde(rename = "userName")]
    user_name: &'a str,
    #[serde(rename = "displayName", skip_serializing_if = "Option::is_none")]
    display_name: Option<&'a str>,
    emails: [NewEmail<'a>; 1],
}

/// `ScimEmailAddress`.
#[derive(Serialize)]
struct NewEmail<'a> {
    value: &'a str,
    primary: bool,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// `PublicApiCreateRoleAssignmentRequest`.
#[derive(Serialize)]
struct NewAssignment<'a> {
    role_sid: &'a str,
    scope: &'a str,
    identity: &'a str,
}

fn json_request(method: Method, url: String, body: Vec<u8>) -> Request {
    Request {
        method,
        url,
        content_type: Some(JSON),
        body,
        answer_fields: None,
    }
}

/// Send the SCIM PATCH of `url`.
fn send_patch(client: &mut Client<'_>, url: String, body: Vec<u8>) -> Result<Response> {
    client.send(json_request(Method::Patch, url, body))
}

fn result(id: &str, action: ActionKind, dry_run: bool, status: Option<Status>) -> ActionResult {
    ActionResult {
        account_id: id.to_string(),
        action,
        dry_run,
        changed: false,
        status,
        message: String::new(),
        warnings: Vec::new(),
    }
}

/// Refuse to change the user the connecting client acts as.
fn refuse_client_user(cfg: &Config, id: &str, doing: &str) -> Result<()> {
    match client_user(cfg)? {
        Some(me) if same_sid(me, id) => Err(ConnectorError::Refused(format!(
            "{id} is the user the connecting OAuth client acts as ({}); it is not {doing} through its own client",
            super::CLIENT_USER_SID
        ))),
        _ => Ok(()),
    }
}

/// Refuse to change the Organization Owner, as Twilio does.
fn refuse_owner(client: &mut Client<'_>, or: &str, id: &str, doing: &str) -> Result<()> {
    let owners = roles::owners(client, or)?;
    if is_owner(&owners, id) {
        return Err(ConnectorError::Refused(format!(
            "{id} is the Organization Owner (owner_sid of organization {or}'s accounts): Twilio does not allow \
             changing the owner (error 25016, \"Updating the organization owner is not allowed\"), so it is not {doing}"
        )));
    }
    Ok(())
}

/// Refuse to change the roles of a suspended user.
fn refuse_suspended(u: &ScimUser, doing: &str) -> Result<()> {
    if u.is_active() {
        return Ok(());
    }
    Err(ConnectorError::Refused(format!(
        "user {} ({}) is suspended (SCIM active: false): it is not {doing}; reactivate it first",
        u.id,
        u.user_name.as_deref().unwrap_or("?")
    )))
}

/// Suspend, reactivate or deprovision a user.
pub fn status_change(
    client: &mut Client<'_>,
    cfg: &Config,
    id: &str,
    change: StatusChange,
    dry_run: bool,
) -> Result<ActionResult> {
    let or = organization(cfg)?;
    require(id, "US", "user")?;
    match change {
        StatusChange::Suspend => set_active(client, cfg, or, id, false, dry_run),
        StatusChange::Reactivate => set_active(client, cfg, or, id, true, dry_run),
        StatusChange::Deprovision => deprovision(client, cfg, or, id, dry_run),
    }
}

/// Set `active` through SCIM PATCH; nothing is sent when it already is so.
fn set_active(
    client: &mut Client<'_>,
    cfg: &Config,
    or: &str,
    id: &str,
    active: bool,
    dry_run: bool,
) -> Result<ActionResult> {
    let (action, doing) = if active {
        (ActionKind::Reactivate, "reactivated")
    } else {
        (ActionKind::Suspend, "suspended")
    };
    if !active {
        refuse_client_user(cfg, id, doing)?;
    }
    let user = fetch_existing(client, or, id)?;
    let mut r = result(&user.id, action, dry_run, Some(user.status()));
    if user.is_active() == active {
        r.message = format!(
            "SCIM user {id} is already {}; nothing sent",
            if active {
                "active"
            } else {
                "inactive (active: false)"
            }
        );
        return Ok(r);
    }
    refuse_owner(client, or, id, doing)?;
    r.changed = true;
    let name = user.user_name.as_deref().unwrap_or("?");
    if dry_run {
        r.message = format!("would set active={active} on SCIM user {id} ({name}) by SCIM PATCH");
        return Ok(r);
    }
    let url = org_url(or, &format!("/scim/Users/{id}"));
    let answer = send_patch(client, url, active_patch(active))?;
    let updated: ScimUser = errors::json(&answer, &format!("SCIM PATCH of user {id}"))?;
    // Twilio answers with the user as it now is: it must show what was asked.
    if updated.is_active() != active || !same_sid(&updated.id, id) {
        return Err(not_applied(format!(
            "Twilio accepted active={active} for SCIM user {id} but answered with active {:?}; the change was not applied",
            updated.active
        )));
    }
    r.status = Some(updated.status());
    r.message = format!("SCIM user {id} ({name}) is now {doing}");
    Ok(r)
}

/// Deprovision through SCIM DELETE (Twilio deactivates the user), then read it back.
fn deprovision(
    client: &mut Client<'_>,
    cfg: &Config,
    or: &str,
    id: &str,
    dry_run: bool,
) -> Result<ActionResult> {
    refuse_client_user(cfg, id, "deprovisioned")?;
    let mut r = result(
        id,
        ActionKind::Deprovision,
        dry_run,
        Some(Status::Deprovisioned),
    );
    r.warnings.push(DEPROVISION_WARNING.to_string());
    let Some(user) = fetch(client, or, id)? else {
        r.message = format!("organization {or} has no user {id}: already removed, nothing sent");
        return Ok(r);
    };
    if !user.is_active() {
        r.message = format!(
            "SCIM user {id} is already deactivated (active: false), as Twilio's SCIM delete leaves it; nothing sent"
        );
        return Ok(r);
    }
    refuse_owner(client, or, id, "deprovisioned")?;
    r.changed = true;
    let name = user.user_name.as_deref().unwrap_or("?");
    if dry_run {
        r.status = Some(user.status());
        r.message = format!("would delete SCIM user {id} ({name}); Twilio deactivates it");
        return Ok(r);
    }
    let url = org_url(or, &format!("/scim/Users/{id}"));
    let answer = client.send(Request::delete(url))?;
    if answer.status == 404 {
        r.changed = false;
        r.message = format!("SCIM user {id} was already removed");
        return Ok(r);
    }
    errors::ok(&answer, &format!("SCIM delete of user {id}"))?;
    // Read back: the user must be gone or inactive.
    if let Some(after) = fetch(client, or, id)?
        && after.is_active()
    {
        return Err(not_applied(format!(
            "Twilio accepted the SCIM delete of user {id}, but the user is still active"
        )));
    }
    r.message = format!("deprovisioned SCIM user {id} ({name}): deactivated by Twilio");
    Ok(r)
}

/// The userName of a new user (its primary email) and display name, checked before
/// anything is sent.
fn validate(req: &ProvisionRequest) -> Result<(String, Option<String>)> {
    let bad = |m: String| Err(ConnectorError::InvalidInput(m));
    let (username, email) = (req.username.trim(), req.email.trim());
    let user_name = match (username.is_empty(), email.is_empty()) {
        (true, true) => return bad("a user name (the user's primary email) is required".into()),
        (false, true) => username,
        (true, false) => email,
        (false, false) if username.eq_ignore_ascii_case(email) => email,
        (false, false) => {
            return bad(format!(
                "Twilio's SCIM userName must be the user's primary email: username {username:?} and email {email:?} differ"
            ));
        }
    };
    let n = user_name.chars().count();
    if !(2..=160).contains(&n)
        || !user_name.contains('@')
        || user_name.contains(char::is_whitespace)
    {
        return bad(format!(
            "{user_name:?} is not an email address of 2 to 160 characters (Twilio's SCIM userName is the primary email)"
        ));
    }
    let full = req.full_name.trim();
    if full.chars().count() > 255 {
        return bad("full name must be at most 255 characters".into());
    }
    if req
        .attributes_json
        .as_deref()
        .is_some_and(|a| !a.trim().is_empty())
    {
        return bad("the organization app takes no attributes: a SCIM user is its userName (the primary email) and display name".into());
    }
    Ok((
        user_name.to_string(),
        (!full.is_empty()).then(|| full.to_string()),
    ))
}

/// What provisioning does not do with the request's roles.
fn roles_warning(req: &ProvisionRequest) -> Option<String> {
    if req.roles.is_empty() {
        return None;
    }
    Some(format!(
        "roles are not assigned by provision ({}): grant each as an entitlement (ROLE@SCOPE, e.g. {}@AC…; list-entitlements names them) once the user exists",
        req.roles.join(", "),
        roles::BUILT_IN_ROLES[0].0
    ))
}

/// Create a SCIM user, unless one of that userName exists (reported, not duplicated).
pub fn provision(
    client: &mut Client<'_>,
    cfg: &Config,
    req: &ProvisionRequest,
    dry_run: bool,
) -> Result<ActionResult> {
    let or = organization(cfg)?;
    let (user_name, display) = validate(req)?;
    let mut r = result(&user_name, ActionKind::Provision, dry_run, None);
    r.warnings.extend(roles_warning(req));
    if let Some(u) = users::by_user_name(client, or, &user_name)? {
        refuse_suspended(&u, "updated by provision")?;
        r.account_id = u.id.clone();
        r.status = Some(u.status());
        r.message = format!(
            "user {user_name} already exists in organization {or} as {}; nothing sent (provision does not change an existing user)",
            u.id
        );
        return Ok(r);
    }
    r.changed = true;
    if dry_run {
        r.message = format!(
            "would create SCIM user {user_name}{} in organization {or}",
            display
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        );
        return Ok(r);
    }
    let body = serde_json::to_vec(&NewUser {
        schemas: [USER_SCHEMA],
        user_name: &user_name,
        display_name: display.as_deref(),
        emails: [NewEmail {
            value: &user_name,
            primary: true,
            kind: "work",
        }],
    })
    .expect("a user serialises");
    let answer = client.send(json_request(Method::Post, org_url(or, "/scim/Users"), body))?;
    let created: ScimUser = errors::json(&answer, &format!("SCIM create of user {user_name}"))?;
    let same_name = created
        .user_name
        .as_deref()
        .is_some_and(|n| n.eq_ignore_ascii_case(&user_name));
    if !is_sid(&created.id, "US") || !same_name {
        return Err(not_applied(format!(
            "Twilio answered the SCIM create of {user_name} with user {:?} named {:?}",
            created.id, created.user_name
        )));
    }
    r.account_id = created.id.clone();
    r.status = Some(created.status());
    r.message = format!(
        "created SCIM user {} ({user_name}) in organization {or}",
        created.id
    );
    Ok(r)
}

/// The user and the role a grant or revoke is about, every refusal checked.
fn role_target<'c>(
    client: &mut Client<'_>,
    cfg: &'c Config,
    id: &str,
    entitlement: &str,
    doing: &str,
) -> Result<(&'c str, ScimUser, RoleAtScope)> {
    let or = organization(cfg)?;
    require(id, "US", "user")?;
    let want = parse_entitlement(entitlement)?;
    refuse_client_user(cfg, id, doing)?;
    let user = fetch_existing(client, or, id)?;
    refuse_suspended(&user, doing)?;
    refuse_owner(client, or, id, doing)?;
    Ok((or, user, want))
}

/// Assign a role at a scope to a user; nothing is sent when it holds it already.
pub fn grant(
    client: &mut Client<'_>,
    cfg: &Config,
    id: &str,
    entitlement: &str,
    dry_run: bool,
) -> Result<ActionResult> {
    let (or, user, want) = role_target(client, cfg, id, entitlement, "granted roles")?;
    let mut r = result(&user.id, ActionKind::Grant, dry_run, Some(user.status()));
    let held = roles::assignments_of(client, or, &user.id, Some(&want.scope))?;
    if let Some(a) = held.iter().find(|a| want.is(a)) {
        r.message = format!(
            "user {id} already holds {} (role assignment {}); nothing sent",
            want.name(),
            a.sid
        );
        return Ok(r);
    }
    // The scope must be the organization or one of its accounts (else Twilio's 25200).
    let managed = if is_sid(&want.scope, "OR") {
        same_sid(&want.scope, or)
    } else {
        roles::account(client, or, &want.scope)?.is_some()
    };
    if !managed {
        return Err(ConnectorError::InvalidInput(format!(
            "{} is not organization {or} nor one of its accounts; its roles cannot be granted here",
            want.scope
        )));
    }
    if !is_built_in(&want.role_sid) {
        r.warnings.push(format!(
            "{} is not one of Twilio's built-in roles (Admin, Developer, Billing, Support); Twilio refuses a role it does not know",
            want.role_sid
        ));
    }
    r.changed = true;
    if dry_run {
        r.message = format!("would assign {} to user {id}", want.name());
        return Ok(r);
    }
    let body = serde_json::to_vec(&NewAssignment {
        role_sid: &want.role_sid,
        scope: &want.scope,
        identity: &user.id,
    })
    .expect("an assignment serialises");
    let answer = client.send(json_request(
        Method::Post,
        org_url(or, "/RoleAssignments"),
        body,
    ))?;
    let made: roles::RoleAssignment = errors::json(
        &answer,
        &format!("role assignment of {} to {id}", want.id()),
    )?;
    if !want.is(&made) || !same_sid(&made.identity, &user.id) {
        return Err(not_applied(format!(
            "Twilio answered the assignment of {} to {id} with {} at {} for {}",
            want.id(),
            made.role_sid,
            made.scope,
            made.identity
        )));
    }
    r.message = format!(
        "assigned {} to user {id} (role assignment {})",
        want.name(),
        made.sid
    );
    Ok(r)
}

/// Remove the assignment of a role at a scope from a user, leaving its other roles; nothing
/// is sent when it does not hold it.
pub fn revoke(
    client: &mut Client<'_>,
    cfg: &Config,
    id: &str,
    entitlement: &str,
    dry_run: bool,
) -> Result<ActionResult> {
    let (or, user, want) = role_target(client, cfg, id, entitlement, "revoked roles")?;
    let mut r = result(&user.id, ActionKind::Revoke, dry_run, Some(user.status()));
    let held = roles::assignments_of(client, or, &user.id, Some(&want.scope))?;
    let Some(a) = held.into_iter().find(|a| want.is(a)) else {
        r.message = format!("user {id} does not hold {}; nothing sent", want.name());
        return Ok(r);
    };
    if !is_sid(&a.sid, "IY") {
        return Err(ConnectorError::MalformedResponse(format!(
            "role assignment list: {:?} is not a role assignment SID",
            a.sid
        )));
    }
    r.changed = true;
    if dry_run {
        r.message = format!(
            "would delete role assignment {} ({} of user {id})",
            a.sid,
            want.name()
        );
        return Ok(r);
    }
    let answer = client.send(Request::delete(org_url(
        or,
        &format!("/RoleAssignments/{}", a.sid),
    )))?;
    if answer.status != 404 {
        errors::ok(&answer, &format!("delete of role assignment {}", a.sid))?;
    }
    // Read back: no assignment of that role at that scope may remain.
    let after = roles::assignments_of(client, or, &user.id, Some(&want.scope))?;
    if let Some(left) = after.iter().find(|x| want.is(x)) {
        return Err(not_applied(format!(
            "Twilio accepted the delete of role assignment {}, but user {id} still holds {} ({})",
            a.sid,
            want.name(),
            left.sid
        )));
    }
    if answer.status == 404 {
        r.changed = false;
        r.message = format!("role assignment {} was already removed", a.sid);
    } else {
        r.message = format!(
            "deleted role assignment {} ({} of user {id})",
            a.sid,
            want.name()
        );
    }
    Ok(r)
}

#[cfg(test)]
mod flows {
    //! Whole flows over the fake organization: what each action sends.

    use super::super::fake_org::{
        self, AC_MAIN, AC_SUB, ADMIN, BEN, BILLING, DANA, DEVELOPER, NORA, OR, OWNER, SAM, SUPPORT,
    };
    use super::*;
    use crate::retry::Policy;

    type Org = std::rc::Rc<std::cell::RefCell<fake_org::FakeOrg>>;

    fn run<T>(org: &Org, f: impl FnOnce(&mut Client<'_>) -> T) -> (T, crate::fake::FakeTransport) {
        let mut t = fake_org::transport(org);
        let out = f(&mut Client::new(&mut t, Policy::default()));
        (out, t)
    }

    fn cfg() -> Config {
        fake_org::cfg()
    }

    fn request(username: &str, email: &str) -> ProvisionRequest {
        ProvisionRequest {
            username: username.into(),
            email: email.into(),
            full_name: "Erin Example".into(),
            roles: vec![],
            attributes_json: None,
        }
    }

    #[test]
    fn the_suspend_patch_body_is_exact() {
        assert_eq!(
            String::from_utf8(active_patch(false)).unwrap(),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}"#
        );
        assert_eq!(
            String::from_utf8(active_patch(true)).unwrap(),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":true}]}"#
        );
        // The route the PATCH goes to is declared for exactly these two actions.
        let patch = super::super::INFO
            .routes
            .iter()
            .find(|r| r.method == connector_routes::Method::Patch)
            .unwrap();
        assert_eq!(patch.path, "/Organizations/{OR}/scim/Users/{US}");
        assert_eq!(patch.actions, ["suspend", "reactivate"]);
    }

    #[test]
    fn a_suspend_sends_the_scim_patch_and_checks_the_answer() {
        let org = fake_org::demo();
        let (r, t) = run(&org, |c| {
            status_change(c, &cfg(), DANA, StatusChange::Suspend, false)
        });
        let r = r.unwrap();
        assert!(r.changed, "{r:?}");
        assert_eq!(r.status, Some(Status::Suspended));
        let writes = t.writes();
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[0].method, Method::Patch);
        assert!(writes[0].url.ends_with(&format!("/scim/Users/{DANA}")));
        assert_eq!(writes[0].body, active_patch(false));
        let (r, _) = run(&org, |c| {
            status_change(c, &cfg(), DANA, StatusChange::Reactivate, false)
        });
        assert_eq!(r.unwrap().status, Some(Status::Active));
    }

    #[test]
    fn status_changes_already_made_send_nothing() {
        let org = fake_org::demo();
        let (r, t) = run(&org, |c| {
            (
                status_change(c, &cfg(), SAM, StatusChange::Suspend, false).unwrap(),
                status_change(c, &cfg(), DANA, StatusChange::Reactivate, false).unwrap(),
                status_change(c, &cfg(), SAM, StatusChange::Deprovision, false).unwrap(),
            )
        });
        assert!(!r.0.changed && !r.1.changed && !r.2.changed, "{r:?}");
        assert_eq!(r.0.status, Some(Status::Suspended));
        assert!(t.writes().is_empty());
    }

    #[test]
    fn the_owner_is_refused_with_twilios_reason_and_nothing_is_written() {
        let org = fake_org::demo();
        let admin_sub = format!("{ADMIN}@{AC_SUB}");
        let admin_main = format!("{ADMIN}@{AC_MAIN}");
        let (outcomes, t) = run(&org, |c| {
            vec![
                status_change(c, &cfg(), OWNER, StatusChange::Suspend, false),
                status_change(c, &cfg(), OWNER, StatusChange::Deprovision, false),
                status_change(c, &cfg(), OWNER, StatusChange::Deprovision, true),
                grant(c, &cfg(), OWNER, &admin_sub, false),
                revoke(c, &cfg(), OWNER, &admin_main, false),
            ]
        });
        for o in outcomes {
            assert!(
                matches!(&o, Err(ConnectorError::Refused(m))
                    if m.contains("Organization Owner") && m.contains("25016")),
                "{o:?}"
            );
        }
        assert!(t.writes().is_empty());
    }

    #[test]
    fn twilios_own_refusal_of_the_owner_is_decoded() {
        // The owner not named by any account's owner_sid: the delete goes, Twilio refuses it.
        let org = fake_org::demo();
        for a in &mut org.borrow_mut().accounts {
            a["owner_sid"] = serde_json::json!(NORA);
        }
        let (e, t) = run(&org, |c| {
            status_change(c, &cfg(), OWNER, StatusChange::Deprovision, false)
        });
        assert!(
            matches!(e, Err(ConnectorError::Refused(ref m)) if m.contains("Updating the organization owner is not allowed")),
            "{e:?}"
        );
        assert_eq!(t.writes().len(), 1);
    }

    #[test]
    fn a_suspended_user_is_refused_a_grant_or_revoke() {
        let org = fake_org::demo();
        let (outcomes, t) = run(&org, |c| {
            vec![
                grant(c, &cfg(), SAM, &format!("{DEVELOPER}@{AC_MAIN}"), false),
                grant(c, &cfg(), SAM, &format!("{DEVELOPER}@{AC_MAIN}"), true),
                revoke(c, &cfg(), SAM, &format!("{ADMIN}@{AC_SUB}"), false),
            ]
        });
        for o in outcomes {
            assert!(
                matches!(&o, Err(ConnectorError::Refused(m)) if m.contains("suspended") && m.contains(SAM)),
                "{o:?}"
            );
        }
        assert!(t.writes().is_empty());
    }

    #[test]
    fn the_connecting_clients_own_user_is_refused() {
        let org = fake_org::demo();
        let mut cfg = cfg();
        cfg.options
            .push((super::super::CLIENT_USER_SID.into(), DANA.into()));
        let (outcomes, t) = run(&org, |c| {
            vec![
                status_change(c, &cfg, DANA, StatusChange::Suspend, true),
                status_change(c, &cfg, DANA, StatusChange::Deprovision, true),
                grant(c, &cfg, DANA, &format!("{ADMIN}@{AC_MAIN}"), true),
                revoke(c, &cfg, DANA, &format!("{DEVELOPER}@{AC_MAIN}"), true),
            ]
        });
        for o in outcomes {
            assert!(
                matches!(&o, Err(ConnectorError::Refused(m)) if m.contains("acts as")),
                "{o:?}"
            );
        }
        assert!(t.requests.is_empty());
    }

    #[test]
    fn dry_runs_send_no_write() {
        let org = fake_org::demo();
        let (outcomes, t) = run(&org, |c| {
            vec![
                status_change(c, &cfg(), DANA, StatusChange::Suspend, true),
                status_change(c, &cfg(), SAM, StatusChange::Reactivate, true),
                status_change(c, &cfg(), DANA, StatusChange::Deprovision, true),
                provision(
                    c,
                    &cfg(),
                    &request("erin@acme.example", "erin@acme.example"),
                    true,
                ),
                grant(c, &cfg(), NORA, &format!("{BILLING}@{AC_SUB}"), true),
                revoke(c, &cfg(), BEN, &format!("{SUPPORT}@{AC_SUB}"), true),
            ]
        });
        for o in outcomes {
            let r = o.unwrap();
            assert!(r.dry_run && r.changed, "{r:?}");
            assert!(r.message.starts_with("would "), "{r:?}");
        }
        assert!(t.writes().is_empty(), "{:?}", t.writes());
        assert_eq!(org.borrow().users.len(), 5);
        assert_eq!(org.borrow().assignments.len(), 5);
    }

    #[test]
    fn deprovision_deletes_and_reads_back() {
        let org = fake_org::demo();
        let (r, t) = run(&org, |c| {
            let first = status_change(c, &cfg(), DANA, StatusChange::Deprovision, false).unwrap();
            let again = status_change(c, &cfg(), DANA, StatusChange::Deprovision, false).unwrap();
            (first, again)
        });
        assert!(r.0.changed && !r.1.changed, "{r:?}");
        assert_eq!(r.0.status, Some(Status::Deprovisioned));
        assert!(r.0.warnings[0].contains("role assignments are not removed"));
        let writes = t.writes();
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[0].method, Method::Delete);
        assert!(
            writes[0]
                .url
                .ends_with(&format!("/Organizations/{OR}/scim/Users/{DANA}"))
        );
        assert!(writes[0].body.is_empty());
        // The write was followed by a read of the same user.
        let i = t
            .requests
            .iter()
            .position(|q| q.method == Method::Delete)
            .unwrap();
        assert_eq!(t.requests[i + 1].method, Method::Get);
        assert_eq!(t.requests[i + 1].url, writes[0].url);
    }

    #[test]
    fn provisioning_creates_once_and_reports_an_existing_user() {
        let org = fake_org::demo();
        let req = request("Erin@acme.example", "erin@acme.example");
        let (r, t) = run(&org, |c| {
            let first = provision(c, &cfg(), &req, false).unwrap();
            let again = provision(c, &cfg(), &req, false).unwrap();
            let existing =
                provision(c, &cfg(), &request("", "dana.dev@acme.example"), false).unwrap();
            (first, again, existing)
        });
        assert!(r.0.changed && !r.1.changed && !r.2.changed, "{r:?}");
        assert!(is_sid(&r.0.account_id, "US"));
        assert_eq!(r.1.account_id, r.0.account_id);
        assert_eq!(r.2.account_id, DANA);
        assert!(r.2.message.contains("already exists"));
        let writes = t.writes();
        assert_eq!(writes.len(), 1, "one create, no duplicate");
        assert_eq!(writes[0].content_type, Some("application/json"));
        assert_eq!(
            String::from_utf8_lossy(&writes[0].body),
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"erin@acme.example","displayName":"Erin Example","emails":[{"value":"erin@acme.example","primary":true,"type":"work"}]}"#
        );
        // Each provision looked the userName up first.
        let lookups = t
            .requests
            .iter()
            .filter(|q| q.method == Method::Get && q.url.contains("filter="))
            .count();
        assert_eq!(lookups, 3);
        assert!(
            t.requests[0]
                .url
                .ends_with("?filter=userName%20eq%20%22erin%40acme.example%22")
        );
        assert_eq!(org.borrow().users.len(), 6);
    }

    #[test]
    fn provisioning_input_is_checked_before_anything_is_sent() {
        let org = fake_org::demo();
        let mut with_attributes = request("a@b.example", "");
        with_attributes.attributes_json = Some("{\"x\":1}".into());
        let (outcomes, t) = run(&org, |c| {
            vec![
                provision(c, &cfg(), &request("erin", "erin@acme.example"), false),
                provision(c, &cfg(), &request("a@b.example", "c@d.example"), false),
                provision(c, &cfg(), &request("", ""), false),
                provision(c, &cfg(), &request("not an email", ""), false),
                provision(c, &cfg(), &with_attributes, false),
            ]
        });
        for o in outcomes {
            assert!(matches!(o, Err(ConnectorError::InvalidInput(_))), "{o:?}");
        }
        assert!(t.requests.is_empty());
        // A suspended user of that userName is refused, not reported as provisioned.
        let (e, t) = run(&org, |c| {
            provision(c, &cfg(), &request("sam.suspended@acme.example", ""), false)
        });
        assert!(
            matches!(e, Err(ConnectorError::Refused(ref m)) if m.contains("suspended")),
            "{e:?}"
        );
        assert!(t.writes().is_empty());
        // Roles are not assigned by provision, and it says so.
        let mut with_roles = request("zoe@acme.example", "");
        with_roles.roles = vec!["agent".into()];
        let (r, _) = run(&org, |c| provision(c, &cfg(), &with_roles, true));
        assert!(r.unwrap().warnings[0].contains("roles are not assigned by provision"));
    }

    #[test]
    fn grant_posts_the_assignment_once() {
        let org = fake_org::demo();
        let billing_sub = format!("{BILLING}@{AC_SUB}");
        let (r, t) = run(&org, |c| {
            let first = grant(c, &cfg(), NORA, &billing_sub, false).unwrap();
            let again = grant(c, &cfg(), NORA, &billing_sub, false).unwrap();
            (first, again)
        });
        assert!(r.0.changed && !r.1.changed, "{r:?}");
        assert!(
            r.0.message.contains(&format!("Billing on {AC_SUB}")),
            "{}",
            r.0.message
        );
        assert!(r.1.message.contains("already holds"), "{}", r.1.message);
        let writes = t.writes();
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[0].method, Method::Post);
        assert!(
            writes[0]
                .url
                .ends_with(&format!("/Organizations/{OR}/RoleAssignments"))
        );
        assert_eq!(writes[0].content_type, Some("application/json"));
        assert_eq!(
            String::from_utf8_lossy(&writes[0].body),
            format!(r#"{{"role_sid":"{BILLING}","scope":"{AC_SUB}","identity":"{NORA}"}}"#)
        );
    }

    #[test]
    fn grant_at_a_scope_outside_the_organization_is_refused_unsent() {
        let org = fake_org::demo();
        let outside = "AC0000000000000000000000000000ffff";
        let (outcomes, t) = run(&org, |c| {
            vec![
                grant(c, &cfg(), NORA, &format!("{ADMIN}@{outside}"), true),
                grant(
                    c,
                    &cfg(),
                    NORA,
                    &format!("{ADMIN}@OR0000000000000000000000000000ffff"),
                    false,
                ),
                grant(c, &cfg(), NORA, "admin", false),
            ]
        });
        for o in outcomes {
            assert!(matches!(o, Err(ConnectorError::InvalidInput(_))), "{o:?}");
        }
        assert!(t.writes().is_empty());
        // A role Twilio does not know is refused by Twilio, decoded.
        let custom = format!("IX0000000000000000000000000000ffff@{AC_MAIN}");
        let (e, _) = run(&org, |c| grant(c, &cfg(), NORA, &custom, false));
        assert!(
            matches!(e, Err(ConnectorError::InvalidInput(ref m)) if m.contains("25202")),
            "{e:?}"
        );
    }

    #[test]
    fn revoke_deletes_the_one_assignment_of_that_role_at_that_scope() {
        let org = fake_org::demo();
        let support_sub = format!("{SUPPORT}@{AC_SUB}");
        let (r, t) = run(&org, |c| {
            let first = revoke(c, &cfg(), BEN, &support_sub, false).unwrap();
            let again = revoke(c, &cfg(), BEN, &support_sub, false).unwrap();
            (first, again)
        });
        assert!(r.0.changed && !r.1.changed, "{r:?}");
        assert!(r.1.message.contains("does not hold"), "{}", r.1.message);
        let writes = t.writes();
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[0].method, Method::Delete);
        assert!(
            writes[0].url.ends_with(&format!(
                "/Organizations/{OR}/RoleAssignments/IY0000000000000000000000000000ac04"
            )),
            "{}",
            writes[0].url
        );
        // The assignment was looked up by identity and scope, and read back the same way.
        let lookups: Vec<_> = t
            .requests
            .iter()
            .filter(|q| q.url.contains("/RoleAssignments?"))
            .collect();
        assert!(
            lookups
                .iter()
                .all(|q| q.url.contains(&format!("Identity={BEN}&Scope={AC_SUB}")))
        );
        // Ben keeps his other role.
        let left: Vec<_> = org
            .borrow()
            .assignments
            .iter()
            .filter(|a| a["identity"] == BEN)
            .map(|a| a["role_sid"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(left, vec![BILLING.to_string()]);
    }
}
