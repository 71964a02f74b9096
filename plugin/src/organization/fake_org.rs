//! Test support: a small organization behind the fake transport, answering as
//! `twilio_iam_organizations.json` and `twilio_monitor_v1.json` describe (and as the
//! simulator answers): SCIM Users (list with a `userName` filter, fetch, create, delete),
//! Accounts and RoleAssignments (paged by `PageSize` and `PageToken`), Monitor Events.
//! Only the routes the app declares are answered (the transport refuses the others).

use super::INFO;
use crate::fake::{FakeTransport, answer};
use crate::http::{Method, Request, Response};
use crate::model::Config;
use serde_json::{Value, json};
use std::cell::RefCell;
use std::rc::Rc;

pub const OR: &str = "OR0000000000000000000000000000aa01";
pub const AC_MAIN: &str = "AC0000000000000000000000000000a001";
pub const AC_SUB: &str = "AC0000000000000000000000000000b001";
/// The Organization Owner (Admin on the main account).
pub const OWNER: &str = "US0000000000000000000000000000ab01";
/// Developer on the main account; Monitor events in November.
pub const DANA: &str = "US0000000000000000000000000000ab02";
/// Billing on the main account, Support on the subaccount.
pub const BEN: &str = "US0000000000000000000000000000ab03";
/// Suspended by the organization (SCIM shows `active: false` and refuses changes).
pub const SAM: &str = "US0000000000000000000000000000ab04";
/// No role.
pub const NORA: &str = "US0000000000000000000000000000ab05";

pub const ADMIN: &str = "IX00000000000000000000000000000102";
pub const DEVELOPER: &str = "IX00000000000000000000000000000103";
pub const BILLING: &str = "IX00000000000000000000000000000104";
pub const SUPPORT: &str = "IX00000000000000000000000000000105";

/// The organization's state, as the fake's answers read and change it.
pub struct FakeOrg {
    pub users: Vec<Value>,
    /// Users the organization suspended: SCIM refuses to change them.
    pub suspended: Vec<String>,
    pub assignments: Vec<Value>,
    pub accounts: Vec<Value>,
    pub events: Vec<Value>,
    /// What Monitor answers: 200, or e.g. 401 without the account's own credentials.
    pub monitor_status: u16,
    /// A page size below the one asked, to make the lists page.
    pub page_size_cap: Option<usize>,
    next: u32,
}

fn user(id: &str, name: &str, display: &str, created: &str, active: bool) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": id,
        "externalId": format!("okta-{id}"),
        "userName": name,
        "displayName": display,
        "emails": [{"value": name, "primary": true, "type": "work"}],
        "active": active,
        "meta": {"resourceType": "user", "created": created, "lastModified": created, "version": "W/1"},
    })
}

fn assignment(n: u32, role: &str, scope: &str, identity: &str) -> Value {
    json!({"sid": format!("IY{n:032x}"), "role_sid": role, "scope": scope, "identity": identity})
}

/// The organization of the simulator's demo fixture, reduced.
pub fn demo() -> Rc<RefCell<FakeOrg>> {
    Rc::new(RefCell::new(FakeOrg {
        users: vec![
            user(
                OWNER,
                "olivia.owner@acme.example",
                "Olivia Owner",
                "2023-01-10T09:00:00Z",
                true,
            ),
            user(
                DANA,
                "dana.dev@acme.example",
                "Dana Developer",
                "2023-03-06T12:30:00Z",
                true,
            ),
            user(
                BEN,
                "ben.billing@acme.example",
                "Ben Billing",
                "2023-04-02T08:00:00Z",
                true,
            ),
            user(
                SAM,
                "sam.suspended@acme.example",
                "Sam Suspended",
                "2023-05-15T14:00:00Z",
                false,
            ),
            user(
                NORA,
                "nora.norole@acme.example",
                "Nora Norole",
                "2024-02-01T10:00:00Z",
                true,
            ),
        ],
        suspended: vec![SAM.into()],
        assignments: vec![
            assignment(0xac01, ADMIN, AC_MAIN, OWNER),
            assignment(0xac02, DEVELOPER, AC_MAIN, DANA),
            assignment(0xac03, BILLING, AC_MAIN, BEN),
            assignment(0xac04, SUPPORT, AC_SUB, BEN),
            assignment(0xac06, ADMIN, AC_SUB, SAM),
        ],
        accounts: vec![
            json!({"account_sid": AC_MAIN, "friendly_name": "Acme Main", "status": "active", "owner_sid": OWNER, "date_created": "2023-01-01T00:00:00Z"}),
            json!({"account_sid": AC_SUB, "friendly_name": "Acme Sub", "status": "active", "owner_sid": OWNER, "date_created": "2023-02-01T00:00:00Z"}),
        ],
        events: vec![
            json!({"sid": "AE0000000000000000000000000000ad03", "actor_sid": DANA, "event_date": "2025-11-02T08:05:00Z"}),
            json!({"sid": "AE0000000000000000000000000000ad01", "actor_sid": DANA, "event_date": "2025-11-21T09:15:00Z"}),
            json!({"sid": "AE0000000000000000000000000000ad02", "actor_sid": BEN, "event_date": "2025-11-18T16:40:00Z"}),
        ],
        monitor_status: 200,
        page_size_cap: None,
        next: 0,
    }))
}

/// The configuration naming the organization.
pub fn cfg() -> Config {
    Config {
        app: "organization".into(),
        account_id: AC_MAIN.into(),
        options: vec![(super::ORGANIZATION_SID.into(), OR.into())],
    }
}

/// The URL's query, decoded.
pub fn query(url: &str) -> Vec<(String, String)> {
    let Some((_, q)) = url.split_once('?') else {
        return Vec::new();
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
}

fn reply(status: u16, body: Value) -> Response {
    answer(status, body.to_string().into_bytes())
}

fn scim_error(status: u16, scim_type: Option<&str>, code: Option<u32>, detail: &str) -> Response {
    let mut v = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "detail": detail,
        "status": status.to_string(),
    });
    if let Some(t) = scim_type {
        v["scimType"] = json!(t);
    }
    if let Some(c) = code {
        v["code"] = json!(c);
    }
    reply(status, v)
}

fn service_error(code: u32, message: &str) -> Response {
    reply(
        400,
        json!({"code": code, "message": message, "moreInfo": "x", "status": 400}),
    )
}

fn body(req: &Request) -> Value {
    serde_json::from_slice(&req.body).unwrap_or(Value::Null)
}

fn last_segment(url: &str) -> String {
    let path = url.split('?').next().unwrap();
    path.rsplit('/').next().unwrap().to_string()
}

/// A `content` page of `items` at the URL's `PageSize` and `PageToken`.
fn page(org: &FakeOrg, url: &str, items: Vec<Value>, key: &str, default: usize) -> Response {
    let q = query(url);
    let asked = param(&q, "PageSize").map_or(default, |s| s.parse().unwrap());
    let size = org.page_size_cap.map_or(asked, |c| c.min(asked));
    let n: usize = param(&q, "PageToken").map_or(0, |t| t[2..].parse().unwrap());
    let chunk: Vec<Value> = items.iter().skip(n * size).take(size).cloned().collect();
    let next = ((n + 1) * size < items.len()).then(|| {
        let base = url.split('?').next().unwrap();
        let keep: Vec<String> = q
            .iter()
            .filter(|(k, _)| k != "PageToken" && k != "PageSize")
            .map(|(k, v)| format!("{k}={v}"))
            .chain([format!("PageSize={size}"), format!("PageToken=PT{}", n + 1)])
            .collect();
        format!("{base}?{}", keep.join("&"))
    });
    reply(
        200,
        json!({key: chunk, "meta": {"key": key, "next_page_url": next, "page": n, "page_size": size}}),
    )
}

/// The fake transport over `org`, refusing what the app does not declare.
pub fn transport(org: &Rc<RefCell<FakeOrg>>) -> FakeTransport {
    let base = format!("https://preview-iam.twilio.com/Organizations/{OR}");
    let users = format!("{base}/scim/Users");
    let one_user = format!("{users}/*");
    let roles = format!("{base}/RoleAssignments");
    let one_role = format!("{roles}/*");
    let accounts = format!("{base}/Accounts");
    let one_account = format!("{accounts}/*");
    let o = |org: &Rc<RefCell<FakeOrg>>| org.clone();
    let (a, b, c, d, e, f, g, h, i, j) = (
        o(org),
        o(org),
        o(org),
        o(org),
        o(org),
        o(org),
        o(org),
        o(org),
        o(org),
        o(org),
    );
    let p = o(org);
    FakeTransport::for_app(&INFO)
        .on(Method::Get, &users, move |req| {
            let org = a.borrow();
            let q = query(&req.url);
            let list: Vec<Value> = match param(&q, "filter") {
                None => org.users.clone(),
                Some(f) => {
                    let Some(v) = f.strip_prefix("userName eq ") else {
                        return Ok(scim_error(400, Some("invalidFilter"), Some(25001), "Invalid filter"));
                    };
                    let name: String = serde_json::from_str(v).unwrap();
                    org.users
                        .iter()
                        .filter(|u| u["userName"].as_str().unwrap().eq_ignore_ascii_case(&name))
                        .cloned()
                        .collect()
                }
            };
            Ok(reply(200, json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": list.len(),
                "Resources": list,
            })))
        })
        .on(Method::Post, &users, move |req| {
            let mut org = b.borrow_mut();
            let u = body(req);
            let name = u["userName"].as_str().unwrap_or_default().to_string();
            if u["emails"][0]["value"].as_str() != Some(name.as_str()) {
                return Ok(scim_error(400, Some("invalidValue"), Some(25005), "userName must be the primary email"));
            }
            if org.users.iter().any(|x| x["userName"] == name.as_str()) {
                return Ok(scim_error(409, Some("uniqueness"), Some(25022), "userName already exists"));
            }
            org.next += 1;
            let id = format!("US{:032x}", 0xabc0 + org.next);
            let mut created = u.clone();
            created["id"] = json!(id);
            created["active"] = json!(true);
            created["meta"] = json!({"created": "2025-12-01T00:00:00Z", "lastModified": "2025-12-01T00:00:00Z"});
            org.users.push(created.clone());
            Ok(reply(201, created))
        })
        .on(Method::Get, &one_user, move |req| {
            let org = c.borrow();
            let id = last_segment(&req.url);
            Ok(match org.users.iter().find(|u| u["id"] == id.as_str()) {
                Some(u) => reply(200, u.clone()),
                None => scim_error(404, None, Some(20404), &format!("User {id} not found")),
            })
        })
        .on(Method::Patch, &one_user, move |req| {
            let mut org = p.borrow_mut();
            let id = last_segment(&req.url);
            if id == OWNER {
                return Ok(scim_error(400, Some("mutability"), Some(25016), "Updating the organization owner is not allowed"));
            }
            let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
            let Some(active) = body["Operations"][0]["value"].as_bool() else {
                return Ok(scim_error(400, Some("invalidValue"), None, "value must be a boolean"));
            };
            Ok(match org.users.iter_mut().find(|u| u["id"] == id.as_str()) {
                Some(u) => {
                    u["active"] = json!(active);
                    reply(200, u.clone())
                }
                None => scim_error(404, None, Some(20404), &format!("User {id} not found")),
            })
        })
        .on(Method::Delete, &one_user, move |req| {
            let mut org = d.borrow_mut();
            let id = last_segment(&req.url);
            if id == OWNER {
                return Ok(scim_error(400, Some("mutability"), Some(25016), "Updating the organization owner is not allowed"));
            }
            if org.suspended.contains(&id) {
                return Ok(scim_error(400, Some("mutability"), None, "The user is suspended and cannot be changed through SCIM"));
            }
            Ok(match org.users.iter_mut().find(|u| u["id"] == id.as_str()) {
                Some(u) => {
                    u["active"] = json!(false);
                    answer(204, Vec::new())
                }
                None => scim_error(404, None, Some(20404), &format!("User {id} not found")),
            })
        })
        .on(Method::Get, &roles, move |req| {
            let org = e.borrow();
            let q = query(&req.url);
            let items: Vec<Value> = org
                .assignments
                .iter()
                .filter(|a| param(&q, "Identity").is_none_or(|i| a["identity"] == i))
                .filter(|a| param(&q, "Scope").is_none_or(|s| a["scope"] == s))
                .cloned()
                .collect();
            Ok(page(&org, &req.url, items, "content", 100))
        })
        .on(Method::Post, &roles, move |req| {
            let mut org = f.borrow_mut();
            let v = body(req);
            let (role, scope, identity) = (
                v["role_sid"].as_str().unwrap().to_string(),
                v["scope"].as_str().unwrap().to_string(),
                v["identity"].as_str().unwrap().to_string(),
            );
            if scope != OR && !org.accounts.iter().any(|a| a["account_sid"] == scope.as_str()) {
                return Ok(service_error(25200, &format!("Scope {scope} is not a managed account")));
            }
            if !org.users.iter().any(|u| u["id"] == identity.as_str()) {
                return Ok(service_error(25201, &format!("Identity {identity} is not a managed user")));
            }
            if ![ADMIN, DEVELOPER, BILLING, SUPPORT].contains(&role.as_str()) {
                return Ok(service_error(25202, &format!("Role {role} is not a valid role")));
            }
            org.next += 1;
            let a = assignment(0xbe00 + org.next, &role, &scope, &identity);
            org.assignments.push(a.clone());
            Ok(reply(201, a))
        })
        .on(Method::Delete, &one_role, move |req| {
            let mut org = g.borrow_mut();
            let sid = last_segment(&req.url);
            Ok(match org.assignments.iter().position(|a| a["sid"] == sid.as_str()) {
                Some(i) => {
                    org.assignments.remove(i);
                    answer(204, Vec::new())
                }
                None => reply(404, json!({"code": 20404, "message": "not found", "status": 404})),
            })
        })
        .on(Method::Get, &accounts, move |req| {
            let org = h.borrow();
            Ok(page(&org, &req.url, org.accounts.clone(), "content", 50))
        })
        .on(Method::Get, &one_account, move |req| {
            let org = i.borrow();
            let sid = last_segment(&req.url);
            Ok(match org.accounts.iter().find(|a| a["account_sid"] == sid.as_str()) {
                Some(a) => reply(200, a.clone()),
                None => reply(404, json!({"code": 20404, "message": "Account does not belong to Organization", "status": 404})),
            })
        })
        .on(Method::Get, "https://monitor.twilio.com/v1/Events", move |req| {
            let org = j.borrow();
            if org.monitor_status != 200 {
                return Ok(reply(org.monitor_status, json!({"code": 20003, "message": "Authenticate", "status": org.monitor_status})));
            }
            let q = query(&req.url);
            let mut items: Vec<Value> = org
                .events
                .iter()
                .filter(|e| param(&q, "ActorSid").is_none_or(|a| e["actor_sid"] == a))
                .cloned()
                .collect();
            items.sort_by(|x, y| y["event_date"].as_str().cmp(&x["event_date"].as_str()));
            Ok(page(&org, &req.url, items, "events", 50))
        })
}
