//! The SCIM service (`connector_scim`) over the real component, the real host and the
//! simulator: discovery, listings from one sync (filters, paging, projection, sorting),
//! single reads, writes mapped to the audited actions and the refused ones, authentication,
//! scopes and rates, ETags, and the audit.

use connector_e2e::{
    FLEX_INSTANCE, FLEX_INSTANCE_SID, audited_host, connector_wasm, sim, tenant, writes,
};
use connector_scim::{Clients, ServeOptions, Service};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use std::sync::Arc;
use twilio_sim::{Fixture, Simulator};

const SUB: &str = "AC0000000000000000000000000000b001";
const MAIN: &str = "AC0000000000000000000000000000a001";
/// Tokens of the clients the tests use (the clients file holds only their hashes).
const OKTA: &str = "scim_okta_test_token";
const READER: &str = "scim_reader_test_token";
const OTHER: &str = "scim_other_tenant_token";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn sha256(s: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn clients_file() -> String {
    format!(
        r#"
[[client]]
name = "okta"
token_sha256 = "{}"
tenants = ["acme"]
apps = ["*"]
access = "read-write"

[[client]]
name = "reader"
token_sha256 = "{}"
tenants = ["*"]
apps = ["twilio"]
access = "read"

[[client]]
name = "globex-only"
token_sha256 = "{}"
tenants = ["globex"]
apps = ["*"]
access = "read-write"
"#,
        sha256(OKTA),
        sha256(READER),
        sha256(OTHER)
    )
}

/// An answer: status, headers, body as JSON (`Null` when empty).
struct Answer {
    status: u16,
    headers: hyper::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The service on an ephemeral loopback port, its audit file, and a client to call it.
struct Scim {
    base: String,
    audit: std::path::PathBuf,
    http: Client<HttpConnector, Full<Bytes>>,
    _server: tokio::task::JoinHandle<()>,
}

impl Scim {
    async fn start(sim: &Simulator, name: &str, options: ServeOptions) -> Self {
        let (host, audit) = audited_host(sim, connector_wasm(), name).await;
        let mut acme = tenant(sim, "twilio").with_option(FLEX_INSTANCE, FLEX_INSTANCE_SID);
        // The Organization's OAuth client, where the fixture has one.
        if let (Some((client_id, client_secret)), Some(org)) =
            (sim.oauth_credentials(), sim.organization_sid())
        {
            acme = acme
                .with_option(twilio_policy::ORGANIZATION, &org)
                .with_credential(
                    &[twilio_policy::PREVIEW_IAM],
                    Arc::new(connector_host::oauth::ClientCredentials::new(
                        &client_id,
                        &client_secret,
                        twilio_policy::OAUTH_TOKEN_URL,
                    )),
                );
        }
        acme.name = "acme".into();
        let clients = Clients::parse(&clients_file(), "clients.toml").unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let options = ServeOptions {
            audit: Some(connector_host::audit::AuditLog::open(&audit).unwrap()),
            default_roles: [("flex".to_string(), vec!["agent".to_string()])].into(),
            public_url: format!("http://{addr}"),
            ..options
        };
        let service = Service::new(Arc::new(host), vec![acme], clients, options);
        let router = service.router();
        let server = tokio::spawn(async move {
            connector_scim::listener::serve(listener, router, None, std::future::pending())
                .await
                .unwrap();
        });
        Self {
            base: format!("http://{addr}/scim/v2"),
            audit,
            http: Client::builder(hyper_util::rt::TokioExecutor::new()).build_http(),
            _server: server,
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if body.is_some() {
            req = req.header("Content-Type", "application/scim+json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        let resp = self
            .http
            .request(req.body(Full::new(Bytes::from(bytes))).unwrap())
            .await
            .expect("the SCIM service answers");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let raw = resp.into_body().collect().await.unwrap().to_bytes();
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&raw).unwrap_or_else(|e| {
                panic!(
                    "{method} {path}: not JSON ({e}): {}",
                    String::from_utf8_lossy(&raw)
                )
            })
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, Some(OKTA), None, &[]).await
    }

    fn audit_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn patch_active(active: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": active}]})
}

fn status_in_sim(sim: &Simulator, sid: &str) -> String {
    sim.with_fixture(|f| {
        f.accounts.iter().find(|a| a["sid"] == sid).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    })
}

fn ids(list: &Answer) -> Vec<String> {
    list.body["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no Resources: {}", list.body))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// An RFC 7644 §3.12 error body with this status (and scimType, when given).
fn assert_error(a: &Answer, status: u16, scim_type: Option<&str>) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.header("content-type"), Some("application/scim+json"));
    assert_eq!(
        a.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "{}",
        a.body
    );
    assert_eq!(a.body["status"], status.to_string(), "{}", a.body);
    assert_eq!(a.body["scimType"].as_str(), scim_type, "{}", a.body);
    assert!(!a.body["detail"].as_str().unwrap_or_default().is_empty());
}

#[tokio::test]
async fn discovery_says_per_app_what_it_supports() {
    let sim = sim(Fixture::demo()).await;
    let scim = Scim::start(&sim, "scim-discovery", ServeOptions::default()).await;
    let twilio = scim.get("/acme/twilio/ServiceProviderConfig").await;
    assert_eq!(twilio.status, 200);
    assert_eq!(twilio.header("content-type"), Some("application/scim+json"));
    assert_eq!(twilio.body["patch"]["supported"], true);
    assert_eq!(twilio.body["bulk"]["supported"], false);
    assert_eq!(twilio.body["filter"]["supported"], true);
    assert_eq!(twilio.body["etag"]["supported"], true);
    // Flex cannot suspend: PATCH is not offered and `active` is read-only in its schema.
    let flex = scim.get("/acme/flex/ServiceProviderConfig").await;
    assert_eq!(flex.body["patch"]["supported"], false);
    let schemas = scim.get("/acme/flex/Schemas").await;
    let user = schemas.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == USER_SCHEMA)
        .unwrap();
    let active = user["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "active")
        .unwrap();
    assert_eq!(active["mutability"], "readOnly");
    let types = scim.get("/acme/twilio/ResourceTypes").await;
    assert_eq!(types.body["totalResults"], 2);
    let user_type = scim.get("/acme/twilio/ResourceTypes/User").await;
    assert_eq!(user_type.body["endpoint"], "/Users");
    assert_eq!(
        scim.get(&format!("/acme/twilio/Schemas/{USER_SCHEMA}"))
            .await
            .body["id"],
        USER_SCHEMA
    );
    assert!(writes(&sim).is_empty());
}

#[tokio::test]
async fn clients_are_authenticated_and_kept_to_their_scope() {
    let sim = sim(Fixture::demo()).await;
    let scim = Scim::start(&sim, "scim-auth", ServeOptions::default()).await;
    let none = scim
        .call("GET", "/acme/twilio/Users", None, None, &[])
        .await;
    assert_error(&none, 401, None);
    assert!(
        none.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    let wrong = scim
        .call(
            "GET",
            "/acme/twilio/Users",
            Some("scim_not_a_client"),
            None,
            &[],
        )
        .await;
    assert_error(&wrong, 401, None);
    let other = scim
        .call("GET", "/acme/twilio/Users", Some(OTHER), None, &[])
        .await;
    assert_error(&other, 403, None);
    assert!(
        other.body["detail"]
            .as_str()
            .unwrap()
            .contains("tenant acme")
    );
    let app = scim
        .call("GET", "/acme/flex/Users", Some(READER), None, &[])
        .await;
    assert_error(&app, 403, None);
    let read_only = scim
        .call(
            "PATCH",
            &format!("/acme/twilio/Users/{SUB}"),
            Some(READER),
            Some(patch_active(json!(false))),
            &[],
        )
        .await;
    assert_error(&read_only, 403, None);
    assert!(
        read_only.body["detail"]
            .as_str()
            .unwrap()
            .contains("read access only")
    );
    // A reader may list, and may search (a POST that reads).
    let listed = scim
        .call("GET", "/acme/twilio/Users", Some(READER), None, &[])
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let searched = scim
        .call(
            "POST",
            "/acme/twilio/Users/.search",
            Some(READER),
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": format!("id eq \"{SUB}\"")})),
            &[],
        )
        .await;
    assert_eq!(searched.status, 200, "{}", searched.body);
    assert_eq!(ids(&searched), [SUB]);
    // Unknown tenant and app: 404, named.
    let reader_unknown = scim
        .call("GET", "/nobody/twilio/Users", Some(READER), None, &[])
        .await;
    assert_error(&reader_unknown, 404, None);
    let unknown_app = scim.get("/acme/salesforce/Users").await;
    assert_error(&unknown_app, 404, None);
    assert!(
        unknown_app.body["detail"]
            .as_str()
            .unwrap()
            .contains("twilio")
    );
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
    // Each request is audited with the client's name, never a token.
    let lines = scim.audit_lines();
    let served: Vec<&Value> = lines.iter().filter(|l| l["event"] == "served").collect();
    assert!(
        served
            .iter()
            .any(|l| l["client"] == "reader" && l["status"] == 403)
    );
    assert!(
        served
            .iter()
            .any(|l| l["client"] == "-" && l["status"] == 401)
    );
    let text = std::fs::read_to_string(&scim.audit).unwrap();
    for secret in [OKTA, READER, OTHER, sim.main_credentials().1.as_str()] {
        assert!(!text.contains(secret), "the audit holds a secret");
    }
}

#[tokio::test]
async fn listings_come_from_one_sync_and_filter_page_project_and_sort() {
    let sim = sim(Fixture::generate(120, 7)).await;
    let scim = Scim::start(&sim, "scim-list", ServeOptions::default()).await;
    let first = scim.get("/acme/twilio/Users?count=1000").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let total = first.body["totalResults"].as_u64().unwrap() as usize;
    let open = sim.with_fixture(|f| {
        f.accounts
            .iter()
            .filter(|a| a["status"] != "closed")
            .count()
    });
    assert!(open > 90, "{open}");
    assert_eq!(
        total, open,
        "every account but the closed ones (deleted, to SCIM)"
    );
    let reads_after_sync = sim.requests().len();
    // Pages of 25 cover the listing exactly once, in order.
    let mut paged = Vec::new();
    let mut start = 1;
    while start <= total {
        let page = scim
            .get(&format!("/acme/twilio/Users?startIndex={start}&count=25"))
            .await;
        assert_eq!(page.body["startIndex"], start);
        assert_eq!(page.body["totalResults"], total);
        assert!(page.body["itemsPerPage"].as_u64().unwrap() <= 25);
        paged.extend(ids(&page));
        start += 25;
    }
    assert_eq!(paged, ids(&first));
    // Filters.
    let q = |f: &str| {
        format!(
            "/acme/twilio/Users?count=1000&filter={}",
            f.replace(' ', "%20").replace('"', "%22")
        )
    };
    let main = sim.main_credentials().0;
    let one = scim.get(&q(&format!("id eq \"{main}\""))).await;
    assert_eq!(ids(&one), std::slice::from_ref(&main));
    let active = scim.get(&q("active eq true")).await;
    let inactive = scim.get(&q("not (active eq true)")).await;
    assert_eq!(
        active.body["totalResults"].as_u64().unwrap()
            + inactive.body["totalResults"].as_u64().unwrap(),
        total as u64
    );
    assert!(
        inactive.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["active"] == false)
    );
    let named = scim.get(&q("displayName co \"subaccount 1\"")).await;
    assert!(named.body["totalResults"].as_u64().unwrap() >= 1);
    assert!(named.body["Resources"].as_array().unwrap().iter().all(|r| {
        r["displayName"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("subaccount 1")
    }));
    let either = scim
        .get(&q(&format!(
            "id eq \"{main}\" or userName sw \"AC\" and active eq false"
        )))
        .await;
    assert!(ids(&either).contains(&main));
    let with_email = scim.get(&q("emails.value pr")).await;
    assert_eq!(
        with_email.body["totalResults"], 0,
        "Twilio accounts carry no email"
    );
    let bad = scim.get(&q("userName eq")).await;
    assert_error(&bad, 400, Some("invalidFilter"));
    // Projection and sorting.
    let projected = scim
        .get("/acme/twilio/Users?count=3&attributes=userName")
        .await;
    for r in projected.body["Resources"].as_array().unwrap() {
        let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["id", "schemas", "userName"], "{r}");
    }
    let excluded = scim
        .get("/acme/twilio/Users?count=3&excludedAttributes=urn:governance-connector:params:scim:schemas:extension:activity:2.0:User")
        .await;
    for r in excluded.body["Resources"].as_array().unwrap() {
        assert!(
            r.get("urn:governance-connector:params:scim:schemas:extension:activity:2.0:User")
                .is_none()
        );
        assert!(r.get("userName").is_some());
    }
    let sorted = scim
        .get("/acme/twilio/Users?count=1000&sortBy=displayName&sortOrder=descending")
        .await;
    let names: Vec<String> = sorted.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["displayName"].as_str().unwrap_or_default().to_lowercase())
        .collect();
    let mut expected = names.clone();
    expected.sort();
    expected.reverse();
    assert_eq!(names, expected);
    // Every one of those listings was served from the one sync.
    assert_eq!(
        sim.requests().len(),
        reads_after_sync,
        "no upstream read after the sync"
    );
    // Each resource says where it is, its version and when it changed.
    let r = &first.body["Resources"][0];
    assert!(
        r["meta"]["location"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/acme/twilio/Users/{}", r["id"].as_str().unwrap()))
    );
    assert!(r["meta"]["version"].as_str().unwrap().starts_with("W/\""));
    assert!(r["meta"]["lastModified"].is_string());
    // `Cache-Control: no-cache` asks for a fresh listing; one synced less than 30 s ago is
    // fresh enough, so a client sending it on every request costs no extra sync.
    let fresh = scim
        .call(
            "GET",
            "/acme/twilio/Users?count=1",
            Some(OKTA),
            None,
            &[("Cache-Control", "no-cache")],
        )
        .await;
    assert_eq!(fresh.status, 200);
    assert_eq!(sim.requests().len(), reads_after_sync);
}

#[tokio::test]
async fn a_scim_deactivation_suspends_the_subaccount_and_is_audited() {
    let sim = sim(Fixture::demo()).await;
    let scim = Scim::start(&sim, "scim-deactivate", ServeOptions::default()).await;
    let before = scim.get(&format!("/acme/twilio/Users/{SUB}")).await;
    assert_eq!(before.status, 200, "{}", before.body);
    assert_eq!(before.body["active"], true);
    let etag = before.header("etag").unwrap().to_string();
    assert_eq!(before.body["meta"]["version"], etag.as_str());
    // A stale version is refused before anything is sent.
    let stale = scim
        .call(
            "PATCH",
            &format!("/acme/twilio/Users/{SUB}"),
            Some(OKTA),
            Some(patch_active(json!(false))),
            &[("If-Match", "W/\"0000000000000000\"")],
        )
        .await;
    assert_error(&stale, 412, None);
    assert!(writes(&sim).is_empty());
    let off = scim
        .call(
            "PATCH",
            &format!("/acme/twilio/Users/{SUB}"),
            Some(OKTA),
            Some(patch_active(json!(false))),
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["active"], false);
    assert_eq!(status_in_sim(&sim, SUB), "suspended");
    assert_ne!(off.header("etag").unwrap(), etag);
    // Asked again, nothing more is sent.
    let writes_before = writes(&sim).len();
    let again = scim
        .call(
            "PATCH",
            &format!("/acme/twilio/Users/{SUB}"),
            Some(OKTA),
            Some(patch_active(json!(false))),
            &[],
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(writes(&sim).len(), writes_before);
    // Entra ID's form: no path, the value a string.
    let on = scim
        .call(
            "PATCH",
            &format!("/acme/twilio/Users/{SUB}"),
            Some(OKTA),
            Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "value": {"active": "True"}}]})),
            &[],
        )
        .await;
    assert_eq!(on.status, 200, "{}", on.body);
    assert_eq!(status_in_sim(&sim, SUB), "active");
    // The listing shows the change without another sync.
    let listed = scim
        .get(&format!("/acme/twilio/Users?filter=id%20eq%20%22{SUB}%22"))
        .await;
    assert_eq!(listed.body["Resources"][0]["active"], true);
    let lines = scim.audit_lines();
    let actions: Vec<&Value> = lines.iter().filter(|l| l["event"] == "action").collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert_eq!(actions[0]["action"], "suspend");
    assert_eq!(actions[0]["account"], SUB);
    assert_eq!(actions[0]["ok"], true);
    assert_eq!(actions[1]["action"], "reactivate");
    assert!(lines.iter().any(|l| l["event"] == "served"
        && l["client"] == "okta"
        && l["method"] == "PATCH"
        && l["action"] == "suspend"
        && l["account"] == SUB
        && l["status"] == 200));
}

#[tokio::test]
async fn what_an_app_cannot_do_is_refused_with_the_rfcs_error() {
    let sim = sim(Fixture::demo()).await;
    let scim = Scim::start(&sim, "scim-refused", ServeOptions::default()).await;
    let user = format!("/acme/twilio/Users/{SUB}");
    // Only `active` can change.
    let rename = scim
        .call(
            "PATCH",
            &user,
            Some(OKTA),
            Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "x"}]})),
            &[],
        )
        .await;
    assert_error(&rename, 400, Some("mutability"));
    let put = scim
        .call(
            "PUT",
            &user,
            Some(OKTA),
            Some(json!({"schemas": [USER_SCHEMA], "userName": "someone-else", "active": true})),
            &[],
        )
        .await;
    assert_error(&put, 400, Some("mutability"));
    // Twilio cannot create subaccounts here; Flex cannot suspend; groups cannot change.
    let create = scim
        .call(
            "POST",
            "/acme/twilio/Users",
            Some(OKTA),
            Some(json!({"schemas": [USER_SCHEMA], "userName": "new"})),
            &[],
        )
        .await;
    assert_error(&create, 501, None);
    let flex_off = scim
        .call(
            "PATCH",
            "/acme/flex/Users/WK0000000000000000000000000000d001",
            Some(OKTA),
            Some(patch_active(json!(false))),
            &[],
        )
        .await;
    assert_error(&flex_off, 400, Some("mutability"));
    assert!(
        flex_off.body["detail"]
            .as_str()
            .unwrap()
            .contains("DELETE deprovisions")
    );
    let group = scim
        .call(
            "PATCH",
            "/acme/flex/Groups/role:agent",
            Some(OKTA),
            Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": "WK0000000000000000000000000000d003"}]}]})),
            &[],
        )
        .await;
    // Flex grants roles: a member added is a grant, here refused by the plugin with its reason
    // (the worker has no Flex User); an app that cannot grant answers 501.
    assert_error(&group, 400, Some("mutability"));
    assert!(
        group.body["detail"]
            .as_str()
            .unwrap()
            .contains("has no Flex User"),
        "{}",
        group.body
    );
    let twilio_group = scim
        .call(
            "PATCH",
            "/acme/twilio/Groups/account_type:subaccount",
            Some(OKTA),
            Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": "x"}]}]})),
            &[],
        )
        .await;
    assert_error(&twilio_group, 501, None);
    // The plugin's own refusal (the connecting account) is the client's error, with its reason.
    let own = scim
        .call(
            "PATCH",
            &format!("/acme/twilio/Users/{MAIN}"),
            Some(OKTA),
            Some(patch_active(json!(false))),
            &[],
        )
        .await;
    assert_error(&own, 400, Some("mutability"));
    // Malformed bodies.
    let not_json = scim
        .http
        .request(
            hyper::Request::builder()
                .method("PATCH")
                .uri(format!("{}{user}", scim.base))
                .header("Authorization", format!("Bearer {OKTA}"))
                .body(Full::new(Bytes::from_static(b"{\"schemas\": [")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let not_patch_op = scim
        .call(
            "PATCH",
            &user,
            Some(OKTA),
            Some(json!({"active": false})),
            &[],
        )
        .await;
    assert_error(&not_patch_op, 400, Some("invalidSyntax"));
    let unknown = scim
        .get("/acme/twilio/Users/AC00000000000000000000000000009999")
        .await;
    assert_error(&unknown, 404, None);
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
    assert_eq!(status_in_sim(&sim, MAIN), "active");
}

#[tokio::test]
async fn delete_deprovisions_and_post_provisions_once() {
    let sim = sim(Fixture::demo()).await;
    let scim = Scim::start(&sim, "scim-lifecycle", ServeOptions::default()).await;
    let gone = scim
        .call(
            "DELETE",
            &format!("/acme/twilio/Users/{SUB}"),
            Some(OKTA),
            None,
            &[],
        )
        .await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    assert_eq!(status_in_sim(&sim, SUB), "closed");
    // A deprovisioned account is a deleted resource to SCIM: 404, and no longer listed.
    let after = scim.get(&format!("/acme/twilio/Users/{SUB}")).await;
    assert_error(&after, 404, None);
    let listed = scim.get("/acme/twilio/Users").await;
    assert!(!ids(&listed).contains(&SUB.to_string()));
    assert!(
        !ids(&listed).contains(&"AC0000000000000000000000000000b004".to_string()),
        "closed before"
    );
    let again = scim
        .call(
            "DELETE",
            &format!("/acme/twilio/Users/{SUB}"),
            Some(OKTA),
            None,
            &[],
        )
        .await;
    assert_error(&again, 404, None);
    // Flex: POST provisions a user; the same userName again is a conflict, not a second user.
    let hank = json!({
        "schemas": [USER_SCHEMA],
        "userName": "hank",
        "displayName": "Hank Hill",
        "emails": [{"value": "hank@acme.example", "primary": true}],
    });
    let created = scim
        .call(
            "POST",
            "/acme/flex/Users",
            Some(OKTA),
            Some(hank.clone()),
            &[],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["userName"], "hank");
    let location = created.header("location").unwrap().to_string();
    assert_eq!(created.body["meta"]["location"], location.as_str());
    let posts = writes(&sim)
        .iter()
        .filter(|w| w.starts_with("POST"))
        .count();
    let again = scim
        .call("POST", "/acme/flex/Users", Some(OKTA), Some(hank), &[])
        .await;
    assert_error(&again, 409, Some("uniqueness"));
    assert_eq!(
        writes(&sim)
            .iter()
            .filter(|w| w.starts_with("POST"))
            .count(),
        posts
    );
    let bob = scim
        .call(
            "POST",
            "/acme/flex/Users",
            Some(OKTA),
            Some(json!({"schemas": [USER_SCHEMA], "userName": "bob", "emails": [{"value": "bob@acme.example"}]})),
            &[],
        )
        .await;
    assert_error(&bob, 409, Some("uniqueness"));
    let no_email = scim
        .call(
            "POST",
            "/acme/flex/Users",
            Some(OKTA),
            Some(json!({"schemas": [USER_SCHEMA], "userName": "ivy"})),
            &[],
        )
        .await;
    assert_error(&no_email, 400, Some("invalidValue"));
    // Groups: each Flex role with its holders.
    let groups = scim.get("/acme/flex/Groups").await;
    assert_eq!(groups.status, 200, "{}", groups.body);
    let agent = groups.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == "role:agent")
        .unwrap_or_else(|| panic!("{}", groups.body));
    let members: Vec<&str> = agent["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["display"].as_str().unwrap())
        .collect();
    assert!(
        members.contains(&"alice") && members.contains(&"bob"),
        "{members:?}"
    );
    let one = scim
        .get("/acme/flex/Groups/role:agent?excludedAttributes=members")
        .await;
    assert_eq!(one.status, 200);
    assert!(one.body.get("members").is_none());
}

#[tokio::test]
async fn an_app_without_a_listing_answers_one_user_by_name() {
    let sim = sim(Fixture::demo()).await;
    let scim = Scim::start(&sim, "scim-frontline", ServeOptions::default()).await;
    let all = scim.get("/acme/frontline/Users").await;
    assert_error(&all, 501, None);
    let erin = scim
        .get("/acme/frontline/Users?filter=userName%20eq%20%22erin@acme.example%22")
        .await;
    assert_eq!(erin.status, 200, "{}", erin.body);
    assert_eq!(erin.body["totalResults"], 1);
    let nobody = scim
        .get("/acme/frontline/Users?filter=userName%20eq%20%22nobody@acme.example%22")
        .await;
    assert_eq!(nobody.body["totalResults"], 0, "{}", nobody.body);
}

#[tokio::test]
async fn a_client_over_its_rate_waits() {
    let sim = sim(Fixture::demo()).await;
    let options = ServeOptions {
        rate_per_second: 0.5,
        burst: 3,
        ..ServeOptions::default()
    };
    let scim = Scim::start(&sim, "scim-rate", options).await;
    for _ in 0..3 {
        assert_eq!(
            scim.get("/acme/twilio/ServiceProviderConfig").await.status,
            200
        );
    }
    let over = scim.get("/acme/twilio/ServiceProviderConfig").await;
    assert_error(&over, 429, None);
    let wait: u64 = over.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    // Another client has its own allowance.
    let reader = scim
        .call(
            "GET",
            "/acme/twilio/ServiceProviderConfig",
            Some(READER),
            None,
            &[],
        )
        .await;
    assert_eq!(reader.status, 200);
}

#[tokio::test]
async fn a_plugins_text_stays_inside_its_json_string() {
    let mut fixture = Fixture::demo();
    let hostile = "\"},{\"id\":\"forged\",\"active\":true}]}\u{0}\n<script>";
    for a in fixture.accounts.iter_mut().filter(|a| a["sid"] == SUB) {
        a["friendly_name"] = json!(hostile);
    }
    let sim = sim(fixture).await;
    let scim = Scim::start(&sim, "scim-text", ServeOptions::default()).await;
    let list = scim.get("/acme/twilio/Users?count=1000").await;
    assert_eq!(list.status, 200);
    assert!(!ids(&list).contains(&"forged".to_string()));
    let sub = list.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == SUB)
        .unwrap();
    assert_eq!(sub["displayName"], hostile);
}

/// A Group's members changed through SCIM are the connector's grant and revoke: the Flex
/// user gains and loses one role, and each change is an audited action.
#[tokio::test]
async fn adding_and_removing_group_members_grants_and_revokes_the_role() {
    let sim = sim(Fixture::demo()).await;
    let scim = Scim::start(&sim, "scim-groups", ServeOptions::default()).await;
    let alice = "WK0000000000000000000000000000d001";
    let members = |g: &Answer| -> Vec<String> {
        g.body["members"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| m["value"].as_str().unwrap().to_string())
            .collect()
    };
    let add = json!({"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": alice}]}]});
    let granted = scim
        .call(
            "PATCH",
            "/acme/flex/Groups/role:supervisor",
            Some(OKTA),
            Some(add),
            &[],
        )
        .await;
    assert_eq!(granted.status, 204, "{}", granted.body);
    let group = scim.get("/acme/flex/Groups/role:supervisor").await;
    assert!(
        members(&group).contains(&alice.to_string()),
        "{}",
        group.body
    );
    let remove = json!({"schemas": [PATCH_OP], "Operations": [
        {"op": "remove", "path": format!("members[value eq \"{alice}\"]")}]});
    let revoked = scim
        .call(
            "PATCH",
            "/acme/flex/Groups/role:supervisor",
            Some(OKTA),
            Some(remove),
            &[],
        )
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    let group = scim.get("/acme/flex/Groups/role:supervisor").await;
    assert!(
        !members(&group).contains(&alice.to_string()),
        "{}",
        group.body
    );
    // A reader may not change members.
    let read_only = scim
        .call(
            "PATCH",
            "/acme/flex/Groups/role:admin",
            Some(READER),
            Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": alice}]}]})),
            &[],
        )
        .await;
    assert_error(&read_only, 403, None);
    let audit = std::fs::read_to_string(&scim.audit).unwrap();
    for action in ["\"grant\"", "\"revoke\""] {
        assert!(audit.contains(action), "{action} audited: {audit}");
    }
}

/// The Organization through SCIM: its users listed, one deactivated with a SCIM PATCH (Twilio's
/// own SCIM PATCH upstream), a role granted by adding a Group member.
#[tokio::test]
async fn the_organizations_users_and_roles_through_scim() {
    let sim = sim(Fixture::demo()).await;
    let scim = Scim::start(&sim, "scim-organization", ServeOptions::default()).await;
    let dana = "US0000000000000000000000000000ab02";
    let nora = "US0000000000000000000000000000ab05";
    let list = scim
        .get("/acme/organization/Users?filter=userName%20sw%20%22dana%22")
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(ids(&list), [dana]);
    let off = scim
        .call(
            "PATCH",
            &format!("/acme/organization/Users/{dana}"),
            Some(OKTA),
            Some(patch_active(json!(false))),
            &[],
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["active"], false);
    let support = format!("role:IX00000000000000000000000000000105@{MAIN}");
    let add = json!({"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": nora}]}]});
    let granted = scim
        .call(
            "PATCH",
            &format!("/acme/organization/Groups/{support}"),
            Some(OKTA),
            Some(add),
            &[],
        )
        .await;
    assert_eq!(granted.status, 204, "{}", granted.body);
    let nora_now = scim.get(&format!("/acme/organization/Users/{nora}")).await;
    let roles: Vec<&str> = nora_now.body["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["value"].as_str())
        .collect();
    assert!(
        roles.contains(&&support["role:".len()..]),
        "{}",
        nora_now.body
    );
}

/// An action taken while a sync runs is not lost when the sync, which read the account before
/// the action, replaces the snapshot: the first listing (its sync slowed on another
/// subaccount's usage) already shows the subaccount suspended during it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_during_a_sync_survives_the_snapshot_it_completes() {
    let sim = sim(Fixture::demo()).await;
    sim.inject(twilio_sim::FaultRule::on(
        "AC0000000000000000000000000000b002/Usage",
        twilio_sim::Fault::Delay(std::time::Duration::from_secs(3)),
        20,
    ));
    let scim = Scim::start(&sim, "scim-journal", ServeOptions::default()).await;
    let listed = || {
        sim.requests()
            .iter()
            .any(|r| r.method == "GET" && r.path.ends_with("/Accounts.json"))
    };
    let (list, suspended) = tokio::join!(scim.get("/acme/twilio/Users?count=100"), async {
        // The sync has read the account list (SUB active in it) and waits on b002's usage.
        while !listed() {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        scim.call(
            "PATCH",
            &format!("/acme/twilio/Users/{SUB}"),
            Some(OKTA),
            Some(patch_active(json!(false))),
            &[],
        )
        .await
    });
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    assert_eq!(status_in_sim(&sim, SUB), "suspended");
    assert_eq!(list.status, 200, "{}", list.body);
    let sub = list.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == SUB)
        .unwrap_or_else(|| panic!("{SUB} listed: {}", list.body));
    assert_eq!(
        sub["active"], false,
        "the suspension survived the sync: {sub}"
    );
}
