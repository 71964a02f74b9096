//! preview-iam.twilio.com (and oauth.twilio.com's token URL): the organization-level APIs of
//! `twilio_iam_organizations.json`. Every path but the token URLs takes only a live bearer
//! token of one of the organization's OAuth apps (the file's top-level `security` is
//! `oAuth2ClientCredentials` alone; Twilio's Role Assignment API reference: "You can only
//! access it using OAuth credentials. Account Auth Tokens and API Keys aren't supported").
//!
//! Each family of paths answers errors in the shape its operations document:
//! - SCIM Users: `#/components/schemas/ScimError` as `application/scim+json` (every SCIM
//!   operation's 400/401/403/404/409/429);
//! - Accounts and ListRoleAssignments: Twilio's error body (`code`, `message`, `more_info`,
//!   `status`) as `application/json` (their inline 400/403/404 schemas);
//! - CreateRoleAssignment and DeleteRoleAssignment:
//!   `#/components/schemas/TwilioServiceErrorResponse` (`moreInfo`) as `application/scim+json`
//!   (their 400/403).

use crate::fixture::{BUILT_IN_ROLES, Organization, is_sid};
use crate::hosts::{OAUTH, PREVIEW_IAM};
use crate::oauth::{Presented, token_url};
use crate::paging::encode;
use crate::state::{Reply, State, error, not_found};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// `application/scim+json`: the content type of every SCIM answer (and of the role assignment
/// writes' errors) in `twilio_iam_organizations.json`.
pub const SCIM_JSON: &str = "application/scim+json";
/// `application/json`.
pub const JSON: &str = "application/json";
/// The SCIM error message schema (RFC 7644 section 3.12).
pub const SCIM_ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// One request to an OAuth-authenticated host, as the server read it.
pub struct OrgRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub authorization: Option<&'a str>,
    /// The `If-Match` header (SCIM replace and patch take it).
    pub if_match: Option<&'a str>,
    pub query: &'a BTreeMap<String, String>,
    pub form: &'a BTreeMap<String, String>,
    /// The body, when it came as JSON (`application/json` or `application/scim+json`).
    pub json: Option<&'a Value>,
}

/// The families of organization paths, each with its own error shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Scim,
    /// Accounts, and the role assignment list.
    TwilioJson,
    /// The role assignment writes.
    Service,
}

/// An error of `family` in its documented shape. `code` is Twilio's error code when one is
/// documented for the case; `scim_type` one of `ScimError.scimType`'s enum.
pub fn family_error(
    family: Family,
    status: u16,
    code: Option<u32>,
    scim_type: Option<&str>,
    message: &str,
) -> Reply {
    let body = match family {
        Family::Scim => {
            let mut v = json!({
                "schemas": [SCIM_ERROR_SCHEMA],
                "detail": message,
                // ScimError.status: "type": "string".
                "status": status.to_string(),
            });
            if let Some(t) = scim_type {
                v["scimType"] = json!(t);
            }
            if let Some(c) = code {
                v["code"] = json!(c);
                v["moreInfo"] = json!(format!("https://www.twilio.com/docs/errors/{c}"));
            }
            v
        }
        Family::TwilioJson => error(status, code.unwrap_or(status as u32), message)
            .1
            .expect("an error body"),
        Family::Service => {
            let c = code.unwrap_or(status as u32);
            json!({
                "code": c,
                "message": message,
                "moreInfo": format!("https://www.twilio.com/docs/errors/{c}"),
                "status": status,
            })
        }
    };
    let content_type = if family == Family::TwilioJson {
        JSON
    } else {
        SCIM_JSON
    };
    typed(status, Some(body), content_type)
}

/// An answer with a content type and no extra headers.
pub fn typed(status: u16, body: Option<Value>, content_type: &'static str) -> Reply {
    Reply::Typed {
        answer: (status, body),
        content_type,
        headers: Vec::new(),
    }
}

/// `reply` with one more header.
pub fn with_header(reply: Reply, name: &'static str, value: String) -> Reply {
    match reply {
        Reply::Typed {
            answer,
            content_type,
            mut headers,
        } => {
            headers.push((name, value));
            Reply::Typed {
                answer,
                content_type,
                headers,
            }
        }
        Reply::Answer(answer) => Reply::Typed {
            answer,
            content_type: JSON,
            headers: vec![(name, value)],
        },
        other => other,
    }
}

/// 405 with the methods the path has (RFC 9110 section 15.5.6: a 405 carries `Allow`), in
/// Twilio's error code for it (20004, as the other hosts answer).
pub fn method_not_allowed(family: Family, allow: &str) -> Reply {
    with_header(
        family_error(family, 405, Some(20004), None, "Method not allowed"),
        "allow",
        allow.to_string(),
    )
}

/// Route one request to oauth.twilio.com or preview-iam.twilio.com.
pub fn handle(state: &mut State, host: &str, req: &OrgRequest) -> Reply {
    if let Some(success) = token_url(host, req.path) {
        return crate::oauth::token(state, success, req.method, req.form).into();
    }
    if host == OAUTH {
        return not_found(req.path).into();
    }
    debug_assert_eq!(host, PREVIEW_IAM);
    let parts: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    let ["Organizations", org, rest @ ..] = parts.as_slice() else {
        return not_found(req.path).into();
    };
    let family = match rest {
        ["scim", ..] => Family::Scim,
        ["RoleAssignments", ..] if req.method != "GET" => Family::Service,
        _ => Family::TwilioJson,
    };
    if let Err(refused) = authorize(state, req.authorization, org, family) {
        return refused;
    }
    let Some(index) = state
        .fixture
        .organizations
        .iter()
        .position(|o| o.sid == *org)
    else {
        return family_error(family, 404, Some(20404), None, "Organization not found");
    };
    match rest {
        ["scim", "Users", ..] => crate::org_scim::handle(state, index, &rest[2..], req),
        ["Accounts"] => match req.method {
            "GET" => list_accounts(state, index, req),
            _ => method_not_allowed(family, "GET"),
        },
        ["Accounts", sid] => match req.method {
            "GET" => fetch_account(state, index, sid),
            _ => method_not_allowed(family, "GET"),
        },
        ["RoleAssignments"] => match req.method {
            "GET" => list_role_assignments(state, index, req),
            "POST" => create_role_assignment(state, index, req.json),
            _ => method_not_allowed(family, "GET, POST"),
        },
        // twilio_iam_organizations.json has DELETE only on a role assignment; Twilio's Role
        // Assignment API reference: "The Role Assignment API doesn't support updating an
        // existing role assignment."
        ["RoleAssignments", sid] => match req.method {
            "DELETE" => delete_role_assignment(state, index, sid),
            _ => method_not_allowed(family, "DELETE"),
        },
        _ => family_error(
            family,
            404,
            Some(20404),
            None,
            &format!("The requested resource {} was not found", req.path),
        ),
    }
}

/// Accept only a live token of a client of organization `org`.
///
/// - no bearer token (none, or Basic): 401, Twilio's 20003 "Authenticate";
/// - a token never minted: 401, 20101 "Invalid access token";
/// - an expired token: 401, 20104 "Access token expired or expiration date invalid"
///   (Twilio's authorization error codes);
///
/// each with `WWW-Authenticate: Bearer` (RFC 6750 section 3; `error="invalid_token"` for a bad
/// token, section 3.1). The SCIM operations document this 401 (`ScimError`); Accounts and
/// RoleAssignments document no 401, and get Twilio's error body. A live token of another
/// organization is 403 ("Unauthorized" is the 403 of every organization operation), Twilio's
/// 20403.
fn authorize(
    state: &State,
    authorization: Option<&str>,
    org: &str,
    family: Family,
) -> Result<(), Reply> {
    let (code, message, challenge) = match state.tokens.presented(authorization) {
        Presented::Live(t) if t.organization_sid == org => return Ok(()),
        Presented::Live(_) => {
            return Err(family_error(
                family,
                403,
                Some(20403),
                None,
                "Forbidden: the token is not of this organization",
            ));
        }
        Presented::NotBearer => (
            20003,
            "Authenticate: the organization APIs take an OAuth bearer token only",
            "Bearer",
        ),
        Presented::Unknown => (
            20101,
            "Invalid access token",
            "Bearer error=\"invalid_token\"",
        ),
        Presented::Expired => (
            20104,
            "Access token expired or expiration date invalid",
            "Bearer error=\"invalid_token\"",
        ),
    };
    Err(with_header(
        family_error(family, 401, Some(code), None, message),
        "www-authenticate",
        challenge.to_string(),
    ))
}

/// A v1-style page of `items` under `content` (`PublicApiAccountResponsePage` and
/// `PublicApiCreateRoleAssignmentResponsePage`: `content` and `meta` with `first_page_url`,
/// `key`, `next_page_url`, `page`, `page_size`, `previous_page_url`, `url`). The organization
/// lists take `PageSize` (`minimum` 1, `maximum` 100) and `PageToken` only; the page tokens
/// handed out are `PT{page}`. A `PageSize` out of range or a token not handed out is 400.
fn org_page(
    path: &str,
    query: &BTreeMap<String, String>,
    filters: &[&str],
    items: &[Value],
    default_size: usize,
) -> Result<Value, Reply> {
    let size = match query.get("PageSize") {
        None => default_size,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(family_error(
                    Family::TwilioJson,
                    400,
                    Some(20001),
                    None,
                    &format!("PageSize must be an integer from 1 to 100, not {s:?}"),
                ));
            }
        },
    };
    let page = match query.get("PageToken") {
        None => 0,
        Some(t) => match t.strip_prefix("PT").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => n,
            None => {
                return Err(family_error(
                    Family::TwilioJson,
                    400,
                    Some(20001),
                    None,
                    &format!("Invalid PageToken {t:?}"),
                ));
            }
        },
    };
    let start = page.saturating_mul(size);
    let chunk: Vec<Value> = items.iter().skip(start).take(size).cloned().collect();
    let has_next = start.saturating_add(size) < items.len();
    let url = |p: usize| {
        let mut q: Vec<String> = filters
            .iter()
            .filter_map(|k| query.get(*k).map(|v| format!("{k}={}", encode(v))))
            .collect();
        q.push(format!("PageSize={size}"));
        if p > 0 {
            q.push(format!("PageToken=PT{p}"));
        }
        format!("https://{PREVIEW_IAM}{path}?{}", q.join("&"))
    };
    let link = |exists: bool, p: usize| if exists { json!(url(p)) } else { Value::Null };
    Ok(json!({
        "content": chunk,
        "meta": {
            "first_page_url": url(0),
            "key": "content",
            "next_page_url": link(has_next, page + 1),
            "page": page,
            "page_size": size,
            "previous_page_url": link(page > 0, page.saturating_sub(1)),
            "url": url(page),
        }
    }))
}

/// The SIDs of the accounts `org` manages: its own, and their subaccounts.
pub fn managed_accounts<'a>(state: &'a State, org: &Organization) -> Vec<&'a Value> {
    state
        .fixture
        .accounts
        .iter()
        .filter(|a| {
            let sid = a["sid"].as_str().unwrap_or_default();
            let owner = a["owner_account_sid"].as_str().unwrap_or_default();
            org.account_sids.iter().any(|m| m == sid || m == owner)
        })
        .collect()
}

/// An account as `PublicApiAccountResponse` gives it: `account_sid`, `friendly_name`,
/// `status`, `owner_sid` (the organization owner, see [`Organization::owner_sid`]),
/// `date_created` (`format: date-time`, so the 2010 API's RFC 2822 date in RFC 3339).
fn account_view(a: &Value, org: &Organization) -> Value {
    let mut v = json!({
        "account_sid": a["sid"],
        "friendly_name": a["friendly_name"],
        "status": a["status"],
    });
    if let Some(owner) = &org.owner_sid {
        v["owner_sid"] = json!(owner);
    }
    if let Some(d) = a["date_created"]
        .as_str()
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
    {
        v["date_created"] = json!(
            d.with_timezone(&chrono::Utc)
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        );
    }
    v
}

/// `ListOrganizationAccounts`: paged, `PageSize` `default` 50.
fn list_accounts(state: &State, index: usize, req: &OrgRequest) -> Reply {
    let org = &state.fixture.organizations[index];
    let items: Vec<Value> = managed_accounts(state, org)
        .into_iter()
        .map(|a| account_view(a, org))
        .collect();
    match org_page(req.path, req.query, &[], &items, 50) {
        Ok(page) => typed(200, Some(page), JSON),
        Err(e) => e,
    }
}

/// `FetchOrganizationAccount`; an account outside the organization is 404, "Account does not
/// belong to Organization".
fn fetch_account(state: &State, index: usize, sid: &str) -> Reply {
    let org = &state.fixture.organizations[index];
    match managed_accounts(state, org)
        .into_iter()
        .find(|a| a["sid"] == sid)
    {
        Some(a) => typed(200, Some(account_view(a, org)), JSON),
        None => family_error(
            Family::TwilioJson,
            404,
            Some(20404),
            None,
            "Account does not belong to Organization",
        ),
    }
}

/// Whether `s` matches the `Sid` format of `Identity`, `Scope`, `scope` and `identity`:
/// `^[A-Z]{2}[0-9a-fA-F]{32}$`.
fn is_any_sid(s: &str) -> bool {
    s.len() == 34
        && s.as_bytes()[..2].iter().all(u8::is_ascii_uppercase)
        && s.as_bytes()[2..].iter().all(u8::is_ascii_hexdigit)
}

/// `ListRoleAssignments`: paged (`PageSize` `default` 100), filtered by `Identity` and `Scope`.
fn list_role_assignments(state: &State, index: usize, req: &OrgRequest) -> Reply {
    let org = &state.fixture.organizations[index];
    for k in ["Identity", "Scope"] {
        if let Some(v) = req.query.get(k)
            && !is_any_sid(v)
        {
            return family_error(
                Family::TwilioJson,
                400,
                Some(20001),
                None,
                &format!("{k} must be a SID, not {v:?}"),
            );
        }
    }
    let identity = req.query.get("Identity");
    let scope = req.query.get("Scope");
    let items: Vec<Value> = org
        .role_assignments
        .iter()
        .filter(|r| identity.is_none_or(|i| r["identity"] == i.as_str()))
        .filter(|r| scope.is_none_or(|s| r["scope"] == s.as_str()))
        .cloned()
        .collect();
    match org_page(req.path, req.query, &["Identity", "Scope"], &items, 100) {
        Ok(page) => typed(200, Some(page), JSON),
        Err(e) => e,
    }
}

/// Why a role assignment cannot be created: (Twilio code, message), checked in this order.
/// 25200: the scope is not the organization nor one of its managed accounts; 25201: the
/// identity is not one of its users; 25202: the role is not a valid role (the built-in roles,
/// [`BUILT_IN_ROLES`]).
pub fn role_assignment_problem(
    state: &State,
    org: &Organization,
    role: &str,
    scope: &str,
    identity: &str,
) -> Option<(u32, String)> {
    let scope_ok = scope == org.sid
        || managed_accounts(state, org)
            .iter()
            .any(|a| a["sid"] == scope);
    if !scope_ok {
        return Some((
            25200,
            format!(
                "Scope {scope} is not a managed account of organization {}",
                org.sid
            ),
        ));
    }
    if !org.users.iter().any(|u| u["id"] == identity) {
        return Some((
            25201,
            format!(
                "Identity {identity} is not a managed user of organization {}",
                org.sid
            ),
        ));
    }
    if !BUILT_IN_ROLES.iter().any(|(_, sid)| *sid == role) {
        return Some((25202, format!("Role {role} is not a valid role")));
    }
    None
}

/// `CreateRoleAssignment`: a JSON `PublicApiCreateRoleAssignmentRequest` (`role_sid`, `scope`,
/// `identity`, all required), answered 201 with the assignment. Creating an assignment that
/// exists answers that one (one assignment per role, scope and identity).
fn create_role_assignment(state: &mut State, index: usize, body: Option<&Value>) -> Reply {
    let bad = |message: &str| family_error(Family::Service, 400, Some(20001), None, message);
    // The operation's requestBody content is `application/json` only.
    let Some(body) = body.filter(|b| b.is_object()) else {
        return bad("the body must be a JSON object with role_sid, scope and identity");
    };
    let field = |k: &str| body[k].as_str().map(str::to_string);
    let (Some(role), Some(scope), Some(identity)) =
        (field("role_sid"), field("scope"), field("identity"))
    else {
        return bad("role_sid, scope and identity are required");
    };
    if !is_sid(&role, "IX") || !is_any_sid(&scope) || !is_any_sid(&identity) {
        return bad("role_sid must be an IX SID; scope and identity SIDs");
    }
    let org = &state.fixture.organizations[index];
    if let Some((code, message)) = role_assignment_problem(state, org, &role, &scope, &identity) {
        return family_error(Family::Service, 400, Some(code), None, &message);
    }
    if let Some(existing) = org.role_assignments.iter().find(|r| {
        r["role_sid"] == role.as_str()
            && r["scope"] == scope.as_str()
            && r["identity"] == identity.as_str()
    }) {
        return typed(201, Some(existing.clone()), JSON);
    }
    let sid = state.new_sid("IY");
    let assignment = json!({"sid": sid, "role_sid": role, "scope": scope, "identity": identity});
    state.fixture.organizations[index]
        .role_assignments
        .push(assignment.clone());
    typed(201, Some(assignment), JSON)
}

/// `DeleteRoleAssignment`: 204 (the operation lists no 404; an assignment that does not exist
/// gets the 404 every other Twilio resource gives).
fn delete_role_assignment(state: &mut State, index: usize, sid: &str) -> Reply {
    let list = &mut state.fixture.organizations[index].role_assignments;
    match list.iter().position(|r| r["sid"] == sid) {
        Some(i) => {
            list.remove(i);
            Reply::Answer((204, None))
        }
        None => family_error(
            Family::Service,
            404,
            Some(20404),
            None,
            &format!("Role assignment {sid} was not found"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_of_the_sid_format() {
        assert!(is_any_sid("US0000000000000000000000000000ab01"));
        assert!(is_any_sid("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        assert!(!is_any_sid("us0000000000000000000000000000ab01"));
        assert!(!is_any_sid("US0000000000000000000000000000ab0"));
        assert!(!is_any_sid("US0000000000000000000000000000ab0g"));
    }

    #[test]
    fn each_family_answers_in_its_documented_shape() {
        let Reply::Typed {
            answer: (status, Some(scim)),
            content_type,
            ..
        } = family_error(Family::Scim, 400, Some(25001), Some("invalidFilter"), "bad")
        else {
            panic!("typed")
        };
        assert_eq!((status, content_type), (400, SCIM_JSON));
        assert_eq!(scim["status"], "400");
        assert_eq!(scim["scimType"], "invalidFilter");
        assert_eq!(scim["code"], 25001);
        assert_eq!(scim["schemas"], json!([SCIM_ERROR_SCHEMA]));
        let Reply::Typed {
            answer: (_, Some(service)),
            content_type,
            ..
        } = family_error(Family::Service, 400, Some(25200), None, "x")
        else {
            panic!("typed")
        };
        assert_eq!(content_type, SCIM_JSON);
        assert_eq!(service["status"], 400);
        assert!(service["moreInfo"].is_string() && service.get("more_info").is_none());
        let Reply::Typed {
            answer: (_, Some(twilio)),
            content_type,
            ..
        } = family_error(Family::TwilioJson, 404, Some(20404), None, "x")
        else {
            panic!("typed")
        };
        assert_eq!(content_type, JSON);
        assert!(twilio["more_info"].is_string() && twilio.get("moreInfo").is_none());
    }

    #[test]
    fn organization_pages_link_with_page_tokens() {
        let items: Vec<Value> = (0..5).map(|i| json!({"n": i})).collect();
        let mut q = BTreeMap::new();
        q.insert("PageSize".to_string(), "2".to_string());
        q.insert(
            "Identity".to_string(),
            "US0000000000000000000000000000ab01".to_string(),
        );
        let p = org_page(
            "/Organizations/OR1/RoleAssignments",
            &q,
            &["Identity"],
            &items,
            100,
        )
        .ok()
        .unwrap();
        assert_eq!(p["content"].as_array().unwrap().len(), 2);
        assert_eq!(p["meta"]["key"], "content");
        let next = p["meta"]["next_page_url"].as_str().unwrap();
        assert_eq!(
            next,
            "https://preview-iam.twilio.com/Organizations/OR1/RoleAssignments?Identity=US0000000000000000000000000000ab01&PageSize=2&PageToken=PT1"
        );
        q.insert("PageToken".to_string(), "PT2".to_string());
        let last = org_page("/x", &q, &[], &items, 100).ok().unwrap();
        assert_eq!(last["content"], json!([{"n": 4}]));
        assert!(last["meta"]["next_page_url"].is_null());
        assert_eq!(last["meta"]["page"], 2);
        q.insert("PageSize".to_string(), "101".to_string());
        assert!(org_page("/x", &q, &[], &items, 100).is_err());
        q.insert("PageSize".to_string(), "5".to_string());
        q.insert("PageToken".to_string(), "whatever".to_string());
        assert!(org_page("/x", &q, &[], &items, 100).is_err());
    }
}
