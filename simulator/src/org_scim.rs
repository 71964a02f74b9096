//! `/Organizations/{OrganizationSid}/scim/Users` on preview-iam.twilio.com: an organization's
//! users as SCIM 2.0 resources (`#/components/schemas/ScimUser` in
//! `twilio_iam_organizations.json`), listed (not paged), fetched, created, replaced, patched
//! and deleted (deactivated). Every answer, error or not, is `application/scim+json`, as
//! every SCIM operation of the file lists it.

use crate::fixture::{SCIM_USER_SCHEMA, scim_user_defaults};
use crate::hosts::PREVIEW_IAM;
use crate::organization::{Family, OrgRequest, SCIM_JSON, family_error, typed, with_header};
use crate::state::{Reply, State};
use serde_json::{Map, Value, json};

/// The SCIM list response schema (RFC 7644 section 3.4.2).
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The SCIM PATCH request schema (RFC 7644 section 3.5.2).
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A SCIM error (`ScimError`).
fn scim_error(status: u16, scim_type: Option<&str>, code: Option<u32>, detail: &str) -> Reply {
    family_error(Family::Scim, status, code, scim_type, detail)
}

/// Route `rest` (what follows `scim/Users`) of organization `index`.
pub fn handle(state: &mut State, index: usize, rest: &[&str], req: &OrgRequest) -> Reply {
    match (req.method, rest) {
        ("GET", []) => list(state, index, req),
        ("POST", []) => create(state, index, req.json),
        (_, []) => crate::organization::method_not_allowed(Family::Scim, "GET, POST"),
        ("GET", [sid]) => match find(state, index, sid) {
            Some(i) => user_reply(200, &state.fixture.organizations[index].users[i]),
            None => user_not_found(sid),
        },
        ("PUT" | "PATCH" | "DELETE", [sid]) => change(state, index, sid, req),
        (_, [_]) => {
            crate::organization::method_not_allowed(Family::Scim, "GET, PUT, PATCH, DELETE")
        }
        _ => scim_error(404, None, Some(20404), "Not found"),
    }
}

fn find(state: &State, index: usize, sid: &str) -> Option<usize> {
    state.fixture.organizations[index]
        .users
        .iter()
        .position(|u| u["id"] == sid)
}

fn user_not_found(sid: &str) -> Reply {
    scim_error(404, None, Some(20404), &format!("User {sid} not found"))
}

/// A user answer, with its version as the `ETag` (RFC 7644 section 3.14).
fn user_reply(status: u16, user: &Value) -> Reply {
    let reply = typed(status, Some(user.clone()), SCIM_JSON);
    match user["meta"]["version"].as_str() {
        Some(v) => with_header(reply, "etag", v.to_string()),
        None => reply,
    }
}

/// A list filter: the only two the simulator (as Twilio) supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `userName eq "…"`; userName is not case-exact (RFC 7643 section 4.1.1), so the match
    /// ignores case.
    UserName(String),
    /// `externalId eq "…"`; externalId is case-exact (RFC 7643 section 3.1).
    ExternalId(String),
}

impl Filter {
    /// Whether `user` passes.
    pub fn matches(&self, user: &Value) -> bool {
        match self {
            Filter::UserName(n) => user["userName"]
                .as_str()
                .is_some_and(|u| u.to_lowercase() == n.to_lowercase()),
            Filter::ExternalId(e) => user["externalId"] == e.as_str(),
        }
    }
}

/// Read a SCIM `filter` (RFC 7644 section 3.4.2.2) of the one form Twilio supports: `userName`
/// or `externalId`, `eq`, and a JSON string. Attribute names and operators are
/// case-insensitive (section 3.4.2.2: "Attribute names and attribute operators used in
/// filters are case insensitive"); an attribute may carry the core User schema URN. Anything
/// else (other attributes or operators, `and`/`or`/`not`, grouping, a bare value) is the
/// reason it is refused.
pub fn parse_filter(text: &str) -> Result<Filter, String> {
    let text = text.trim();
    let (attr, rest) = text
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("{text:?} is not `attribute eq \"value\"`"))?;
    let rest = rest.trim_start();
    let (op, value) = rest
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("{text:?} is not `attribute eq \"value\"`"))?;
    if !op.eq_ignore_ascii_case("eq") {
        return Err(format!("operator {op:?} is not supported; only eq is"));
    }
    let value = value.trim();
    if !value.starts_with('"') {
        return Err(format!("{value:?} is not a quoted string"));
    }
    let value: String = serde_json::from_str(value)
        .map_err(|_| format!("{value:?} is not one quoted string (and/or are not supported)"))?;
    let prefix = format!("{SCIM_USER_SCHEMA}:");
    let attr = if attr.len() > prefix.len() && attr[..prefix.len()].eq_ignore_ascii_case(&prefix) {
        &attr[prefix.len()..]
    } else {
        attr
    };
    if attr.eq_ignore_ascii_case("userName") {
        Ok(Filter::UserName(value))
    } else if attr.eq_ignore_ascii_case("externalId") {
        Ok(Filter::ExternalId(value))
    } else {
        Err(format!(
            "attribute {attr:?} cannot be filtered on; only userName and externalId can"
        ))
    }
}

/// `ListOrganizationUsers`: every user (matching the filter) in one answer. The operation has
/// no paging parameters (its only query parameter is `filter`) and `ScimUserPage` has no
/// `startIndex` or `itemsPerPage`; a filter other than `userName eq` or `externalId eq` is 400
/// with Twilio's 25001 and `scimType` `invalidFilter` (RFC 7644 section 3.12).
fn list(state: &State, index: usize, req: &OrgRequest) -> Reply {
    let filter = match req.query.get("filter") {
        None => None,
        Some(f) => match parse_filter(f) {
            Ok(f) => Some(f),
            Err(why) => {
                return scim_error(
                    400,
                    Some("invalidFilter"),
                    Some(25001),
                    &format!("Invalid filter: {why}"),
                );
            }
        },
    };
    let users: Vec<Value> = state.fixture.organizations[index]
        .users
        .iter()
        .filter(|u| filter.as_ref().is_none_or(|f| f.matches(u)))
        .cloned()
        .collect();
    typed(
        200,
        Some(json!({
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": users.len(),
            "Resources": users,
        })),
        SCIM_JSON,
    )
}

/// A refused request: status, `scimType`, Twilio code, detail.
type Refusal = (u16, Option<&'static str>, Option<u32>, String);

fn refused((status, scim_type, code, detail): Refusal) -> Reply {
    scim_error(status, scim_type, code, &detail)
}

fn invalid(code: u32, detail: impl Into<String>) -> Refusal {
    (400, Some("invalidValue"), Some(code), detail.into())
}

/// Twilio's 25006, "The SCIM schema syntax is invalid" (a body that is not SCIM JSON, a wrong
/// or missing `schemas`, an attribute of the wrong type).
fn syntax(detail: impl Into<String>) -> Refusal {
    (400, Some("invalidSyntax"), Some(25006), detail.into())
}

/// The string at `k` of `o`, if any: an error when present but not a string of at most `max`
/// characters.
fn optional_text(o: &Map<String, Value>, k: &str, max: usize) -> Result<Option<String>, Refusal> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.clone())),
        Some(_) => Err(syntax(format!(
            "{k} must be a string of at most {max} characters"
        ))),
    }
}

/// A user as given in a create or replace body, checked and reduced to the attributes
/// `ScimUser` declares that a client may write (`id` and `meta` are the service's, RFC 7643
/// section 3.1).
///
/// - `userName`: required, 2 to 255 characters (`ScimUser.required`, its `minLength` and
///   `maxLength`): else Twilio's 25005, "The provided user's username is invalid";
/// - `externalId`: 2 to 255 characters: else 25004;
/// - `emails`: at least one (`minItems` 1; Twilio's SCIM API reference, create: "Required
///   fields: userName, emails"), one of them primary when there are more ("Primary email must
///   be defined if there are more than 1 email"), and the primary one equal to `userName`
///   ("Primary email must match the username"): else `mismatch` (25005 on create, 25012
///   "Updating the email address is unsupported" on replace);
/// - `schemas`, when given, must name the core User schema (else 25006).
fn checked_user(body: Option<&Value>, mismatch: u32) -> Result<Map<String, Value>, Refusal> {
    let Some(o) = body.and_then(Value::as_object) else {
        return Err(syntax("the body must be a SCIM User JSON object"));
    };
    if let Some(s) = o.get("schemas")
        && !s
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == SCIM_USER_SCHEMA))
    {
        return Err(syntax(format!("schemas must include {SCIM_USER_SCHEMA}")));
    }
    let user_name = match o.get("userName") {
        Some(Value::String(s)) if (2..=255).contains(&s.chars().count()) => s.clone(),
        _ => {
            return Err(invalid(25005, "userName is required, 2 to 255 characters"));
        }
    };
    if let Some(e) = o.get("externalId")
        && !e
            .as_str()
            .is_some_and(|s| (2..=255).contains(&s.chars().count()))
    {
        return Err(invalid(25004, "externalId must be 2 to 255 characters"));
    }
    let emails = o
        .get("emails")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| {
            invalid(
                mismatch,
                "emails are required, the primary one the userName",
            )
        })?;
    if emails.iter().any(|e| !e["value"].is_string()) {
        return Err(syntax("every email needs a string value"));
    }
    let primary = match emails.as_slice() {
        [only] => only,
        many => many
            .iter()
            .find(|e| e["primary"] == true)
            .ok_or_else(|| invalid(mismatch, "with more than one email, one must be primary"))?,
    };
    let primary = primary["value"].as_str().unwrap_or_default();
    if !primary.eq_ignore_ascii_case(&user_name) {
        return Err(invalid(
            mismatch,
            format!("userName {user_name:?} must be the primary email, not {primary:?}"),
        ));
    }
    if o.get("active").is_some_and(|a| !a.is_boolean()) {
        return Err(syntax("active must be a boolean"));
    }
    let mut out = Map::new();
    out.insert("userName".into(), json!(user_name));
    out.insert("emails".into(), Value::Array(emails.clone()));
    for k in ["externalId", "displayName", "locale", "timezone"] {
        if let Some(v) = optional_text(o, k, 255)? {
            out.insert(k.into(), json!(v));
        }
    }
    if let Some(name) = o.get("name").filter(|n| !n.is_null()) {
        let Some(n) = name.as_object() else {
            return Err(syntax("name must be an object"));
        };
        let mut clean = Map::new();
        if let Some(g) = optional_text(n, "givenName", 255)? {
            clean.insert("givenName".into(), json!(g));
        }
        // Twilio's 25003: "The provided user's last name is invalid".
        match optional_text(n, "familyName", 255) {
            Ok(Some(f)) => {
                clean.insert("familyName".into(), json!(f));
            }
            Ok(None) => {}
            Err(_) => return Err(invalid(25003, "name.familyName is invalid")),
        }
        out.insert("name".into(), Value::Object(clean));
    }
    if let Some(a) = o.get("active") {
        out.insert("active".into(), a.clone());
    }
    Ok(out)
}

/// Twilio's 25022, "Duplicate username or externalId": 409 with `scimType` `uniqueness` (RFC
/// 7644 section 3.3: a create that "conflicts with existing resources (e.g., a "User" resource
/// with a duplicate "userName")" MUST be 409 with "uniqueness"; the SCIM API reference's 409
/// example carries code 25022). `except` is the user being replaced.
fn uniqueness(
    state: &State,
    index: usize,
    user: &Map<String, Value>,
    except: Option<&str>,
) -> Result<(), Refusal> {
    let name = user["userName"].as_str().unwrap_or_default().to_lowercase();
    let external = user.get("externalId");
    for u in &state.fixture.organizations[index].users {
        if except.is_some_and(|e| u["id"] == e) {
            continue;
        }
        let same_name = u["userName"]
            .as_str()
            .is_some_and(|n| n.to_lowercase() == name);
        let same_external = external.is_some_and(|e| u.get("externalId") == Some(e));
        if same_name || same_external {
            let what = if same_name { "userName" } else { "externalId" };
            return Err((
                409,
                Some("uniqueness"),
                Some(25022),
                format!("{what} already exists"),
            ));
        }
    }
    Ok(())
}

fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// `CreateOrganizationUser`: 201 with the new user (`Location` per RFC 7644 section 3.3).
fn create(state: &mut State, index: usize, body: Option<&Value>) -> Reply {
    let mut user = match checked_user(body, 25005) {
        Ok(u) => u,
        Err(r) => return refused(r),
    };
    if let Err(r) = uniqueness(state, index, &user, None) {
        return refused(r);
    }
    let id = state.new_sid("US");
    let ts = now();
    user.insert("id".into(), json!(id));
    user.insert(
        "meta".into(),
        json!({"resourceType": "user", "created": ts, "lastModified": ts, "version": "W/1"}),
    );
    let user = scim_user_defaults(Value::Object(user), false);
    let org = &mut state.fixture.organizations[index];
    org.users.push(user.clone());
    let location = format!(
        "https://{PREVIEW_IAM}/Organizations/{}/scim/Users/{id}",
        org.sid
    );
    with_header(user_reply(201, &user), "location", location)
}

/// Whether `if_match` names `version` (or is `*`).
fn version_matches(if_match: &str, version: &str) -> bool {
    let bare = |v: &str| {
        v.trim()
            .trim_start_matches("W/")
            .trim_matches('"')
            .to_string()
    };
    if_match.trim() == "*" || if_match.split(',').any(|v| bare(v) == bare(version))
}

/// `W/{n+1}` after `W/{n}`.
fn next_version(version: &str) -> String {
    let n: u64 = version
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .unwrap_or(1);
    format!("W/{}", n + 1)
}

/// Replace, patch or delete a user, unless it is the Organization Owner (Twilio's 25016,
/// "Updating the organization owner is not allowed") or suspended: both 400 ("Bad request or
/// business rules violation") with `scimType` `mutability` ("The attempted modification is not
/// compatible with the target attribute's mutability or current state", RFC 7644 section
/// 3.12). No Twilio code is documented for the suspended case, so none is sent. A stale
/// `If-Match` is 409 (the replace and patch operations' "409 Version conflict").
fn change(state: &mut State, index: usize, sid: &str, req: &OrgRequest) -> Reply {
    let Some(i) = find(state, index, sid) else {
        return user_not_found(sid);
    };
    let org = &state.fixture.organizations[index];
    if org.owner_sid.as_deref() == Some(sid) {
        return scim_error(
            400,
            Some("mutability"),
            Some(25016),
            "Updating the organization owner is not allowed",
        );
    }
    if org.suspended_user_sids.iter().any(|s| s == sid) {
        return scim_error(
            400,
            Some("mutability"),
            None,
            "The user is suspended and cannot be changed through SCIM",
        );
    }
    let current = org.users[i].clone();
    let version = current["meta"]["version"]
        .as_str()
        .unwrap_or("W/1")
        .to_string();
    if req.method != "DELETE"
        && let Some(m) = req.if_match
        && !version_matches(m, &version)
    {
        return scim_error(
            409,
            None,
            None,
            &format!("Version conflict: the user is at {version}, not {m}"),
        );
    }
    let updated = match req.method {
        "PUT" => replace(state, index, &current, req.json),
        "PATCH" => patch(&current, req.json),
        // DeleteOrganizationUser: 204, and the user stays, deactivated (Twilio: deleting a
        // user through SCIM deactivates it).
        _ => {
            let mut u = current.clone();
            u["active"] = json!(false);
            Ok(u)
        }
    };
    let mut user = match updated {
        Ok(u) => u,
        Err(r) => return refused(r),
    };
    if user != current {
        user["meta"]["version"] = json!(next_version(&version));
        user["meta"]["lastModified"] = json!(now());
    }
    state.fixture.organizations[index].users[i] = user.clone();
    if req.method == "DELETE" {
        Reply::Answer((204, None))
    } else {
        user_reply(200, &user)
    }
}

/// `UpdateOrganizationUser` (PUT): the body replaces every attribute a client writes (RFC 7644
/// section 3.5.1); `id` and `meta.created` stay, and so does `active` when the body leaves it
/// out.
fn replace(
    state: &State,
    index: usize,
    current: &Value,
    body: Option<&Value>,
) -> Result<Value, Refusal> {
    let mut user = checked_user(body, 25012)?;
    uniqueness(state, index, &user, current["id"].as_str())?;
    user.insert("id".into(), current["id"].clone());
    user.entry("active")
        .or_insert_with(|| current["active"].clone());
    user.insert("schemas".into(), json!([SCIM_USER_SCHEMA]));
    user.insert("meta".into(), current["meta"].clone());
    Ok(Value::Object(user))
}

/// The attributes a PATCH may set, and what it refuses.
fn patch_one(user: &mut Value, op: &str, path: &str, value: Option<&Value>) -> Result<(), Refusal> {
    let lower = path.to_ascii_lowercase();
    let (target, key) = match lower.as_str() {
        "active" => {
            if op == "remove" {
                return Err(syntax("active cannot be removed"));
            }
            let Some(v) = value.and_then(Value::as_bool) else {
                return Err(syntax("active must be set to a boolean"));
            };
            user["active"] = json!(v);
            return Ok(());
        }
        "displayname" => (None, "displayName"),
        "locale" => (None, "locale"),
        "timezone" => (None, "timezone"),
        "externalid" => (None, "externalId"),
        "name.givenname" => (Some("name"), "givenName"),
        "name.familyname" => (Some("name"), "familyName"),
        "username" | "emails" => {
            return Err(invalid(
                25012,
                "Updating the email address is unsupported: userName and the primary email change together, by replacing the user",
            ));
        }
        _ => return Err(syntax(format!("path {path:?} cannot be patched"))),
    };
    let holder = match target {
        Some(t) => {
            if !user[t].is_object() {
                user[t] = json!({});
            }
            &mut user[t]
        }
        None => user,
    };
    let o = holder.as_object_mut().expect("an object");
    if op == "remove" {
        o.remove(key);
        return Ok(());
    }
    match value {
        Some(Value::String(s)) if s.chars().count() <= 255 => {
            if key == "externalId" && s.chars().count() < 2 {
                return Err(invalid(25004, "externalId must be 2 to 255 characters"));
            }
            o.insert(key.into(), json!(s));
            Ok(())
        }
        _ => Err(syntax(format!("{path} must be set to a string"))),
    }
}

/// `PatchOrganizationUser`: a `ScimPatchRequest` whose `schemas` name the PatchOp schema and
/// whose `Operations` are `ScimPatchOperation`s (`op`, `path`, `value`; RFC 7644 section 3.5.2).
/// `add` and `replace` set an attribute, `remove` clears it; `op` is read case-insensitively.
/// Without a `path`, `value` is an object of attributes (`ScimPatchOperation.value` is typed
/// `object`): `{"active": false}`. All operations apply, or none.
fn patch(current: &Value, body: Option<&Value>) -> Result<Value, Refusal> {
    let Some(body) = body.and_then(Value::as_object) else {
        return Err(syntax("the body must be a SCIM PatchOp JSON object"));
    };
    if !body
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|x| x == PATCH_OP_SCHEMA))
    {
        return Err(syntax(format!("schemas must be [{PATCH_OP_SCHEMA:?}]")));
    }
    let Some(ops) = body
        .get("Operations")
        .and_then(Value::as_array)
        .filter(|o| !o.is_empty())
    else {
        return Err(syntax("Operations must be a non-empty array"));
    };
    let mut user = current.clone();
    for op in ops {
        let kind = op["op"].as_str().unwrap_or_default().to_ascii_lowercase();
        if !matches!(kind.as_str(), "add" | "replace" | "remove") {
            return Err(syntax(format!(
                "op {} is not add, replace or remove",
                op["op"]
            )));
        }
        match op["path"].as_str().filter(|p| !p.is_empty()) {
            Some(path) => patch_one(&mut user, &kind, path, op.get("value"))?,
            None => {
                let Some(values) = op["value"].as_object() else {
                    return Err(syntax("without a path, value must be an object"));
                };
                for (k, v) in values {
                    match (k.as_str(), v) {
                        ("name", Value::Object(n)) => {
                            for (nk, nv) in n {
                                patch_one(&mut user, &kind, &format!("name.{nk}"), Some(nv))?;
                            }
                        }
                        _ => patch_one(&mut user, &kind, k, Some(v))?,
                    }
                }
            }
        }
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_user_name_and_external_id_equality_filters_are_read() {
        assert_eq!(
            parse_filter(r#"userName eq "ann@acme.example""#),
            Ok(Filter::UserName("ann@acme.example".into()))
        );
        assert_eq!(
            parse_filter(r#"  USERNAME   EQ   "ann@acme.example"  "#),
            Ok(Filter::UserName("ann@acme.example".into()))
        );
        assert_eq!(
            parse_filter(r#"externalId eq "okta|00u1""#),
            Ok(Filter::ExternalId("okta|00u1".into()))
        );
        assert_eq!(
            parse_filter(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a""#),
            Ok(Filter::UserName("a".into()))
        );
        assert_eq!(
            parse_filter(r#"externalId eq "with \"quotes\" inside""#),
            Ok(Filter::ExternalId(r#"with "quotes" inside"#.into()))
        );
        for bad in [
            "",
            "userName",
            r#"userName eq"#,
            r#"userName co "ann""#,
            r#"userName sw "ann""#,
            r#"displayName eq "Ann""#,
            r#"emails.value eq "ann@acme.example""#,
            r#"id eq "US0000000000000000000000000000ab01""#,
            r#"active eq true"#,
            r#"userName eq ann@acme.example"#,
            r#"userName eq "a" and externalId eq "b""#,
            r#"userName eq "a" or userName eq "b""#,
            r#"(userName eq "a")"#,
            r#"userName pr"#,
        ] {
            assert!(parse_filter(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn filters_match_as_the_attributes_compare() {
        let u = json!({"userName": "Ann@Acme.example", "externalId": "Ext-1"});
        assert!(Filter::UserName("ann@acme.EXAMPLE".into()).matches(&u));
        assert!(Filter::ExternalId("Ext-1".into()).matches(&u));
        assert!(
            !Filter::ExternalId("ext-1".into()).matches(&u),
            "case-exact"
        );
        assert!(!Filter::UserName("bob@acme.example".into()).matches(&u));
        assert!(!Filter::ExternalId("x".into()).matches(&json!({"userName": "a"})));
    }

    #[test]
    fn users_are_checked_as_the_schema_and_twilio_say() {
        let ok = json!({
            "userName": "ann@acme.example",
            "emails": [{"value": "ann@acme.example", "primary": true}],
            "schemas": [SCIM_USER_SCHEMA],
            "id": "ignored", "meta": {"version": "ignored"},
        });
        let u = checked_user(Some(&ok), 25005).unwrap();
        assert!(u.get("id").is_none() && u.get("meta").is_none());
        let code = |v: Value, m: u32| checked_user(Some(&v), m).unwrap_err().2;
        assert_eq!(
            code(json!({"emails": [{"value": "a@b"}]}), 25005),
            Some(25005)
        );
        assert_eq!(
            code(
                json!({"userName": "a@b.example", "emails": [{"value": "c@d.example"}]}),
                25012
            ),
            Some(25012)
        );
        assert_eq!(
            code(
                json!({"userName": "a@b.example", "emails": [{"value": "a@b.example"}, {"value": "x@b.example"}]}),
                25005
            ),
            Some(25005),
            "two emails and no primary"
        );
        assert_eq!(
            code(
                json!({"userName": "a@b.example", "emails": [{"value": "a@b.example"}], "externalId": "x"}),
                25005
            ),
            Some(25004)
        );
        assert_eq!(
            code(
                json!({"userName": "a@b.example", "emails": [{"value": "a@b.example"}], "schemas": ["urn:other"]}),
                25005
            ),
            Some(25006)
        );
        assert_eq!(code(json!({"userName": "a@b.example"}), 25005), Some(25005));
    }

    #[test]
    fn patches_set_active_with_or_without_a_path_all_or_nothing() {
        let user = json!({"id": "US1", "userName": "a@b.example", "active": true});
        let req = |ops: Value| json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops});
        let off = patch(
            &user,
            Some(&req(
                json!([{"op": "Replace", "path": "active", "value": false}]),
            )),
        )
        .unwrap();
        assert_eq!(off["active"], false);
        let off = patch(
            &user,
            Some(&req(
                json!([{"op": "replace", "value": {"active": false, "displayName": "A"}}]),
            )),
        )
        .unwrap();
        assert_eq!(
            (off["active"].clone(), off["displayName"].clone()),
            (json!(false), json!("A"))
        );
        let err = patch(
            &user,
            Some(&req(json!([
                {"op": "replace", "path": "active", "value": false},
                {"op": "replace", "path": "userName", "value": "x@b.example"}
            ]))),
        )
        .unwrap_err();
        assert_eq!(err.2, Some(25012));
        let no_schema =
            json!({"Operations": [{"op": "replace", "path": "active", "value": false}]});
        assert_eq!(patch(&user, Some(&no_schema)).unwrap_err().2, Some(25006));
        assert!(patch(&user, Some(&req(json!([{"op": "move", "path": "active"}])))).is_err());
        assert!(patch(&user, Some(&req(json!([])))).is_err());
    }

    #[test]
    fn versions_follow_if_match() {
        assert!(version_matches("W/1", "W/1"));
        assert!(version_matches("W/\"1\"", "W/1"));
        assert!(version_matches("*", "W/7"));
        assert!(version_matches("W/2, W/3", "W/3"));
        assert!(!version_matches("W/1", "W/2"));
        assert_eq!(next_version("W/1"), "W/2");
        assert_eq!(next_version("W/\"41\""), "W/42");
    }
}
