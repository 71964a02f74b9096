//! The simulator answers with Twilio's own shapes: every field it sends is declared in
//! Twilio's OpenAPI description with the right type, and list envelopes page as Twilio's do.

use connector_e2e::oai::{load, response_schema, violations};
use connector_e2e::sim;
use serde_json::Value;
use twilio_sim::{Fixture, Simulator};

/// Plain HTTP/1.1 GET over a loopback socket, as Twilio's host would be asked.
async fn get(sim: &Simulator, path: &str) -> Value {
    get_on(sim, "api.twilio.com", path).await
}

async fn get_on(sim: &Simulator, host: &str, path: &str) -> Value {
    use base64::Engine;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (sid, token) = sim.main_credentials();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"));
    let mut s = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let body = text.split("\r\n\r\n").nth(1).expect("an HTTP answer");
    serde_json::from_str(body).expect("JSON body")
}

/// Twilio documents `price` as a number but sends numeric strings too; both are accepted.
fn real_violations(v: Vec<String>) -> Vec<String> {
    v.into_iter()
        .filter(|m| !(m.contains(".price: expected number, got \"")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_and_usage_records_match_twilios_openapi() {
    let spec = load("twilio_api_v2010.json");
    let sim = sim(Fixture::demo()).await;
    let (main, _) = sim.main_credentials();

    let list = get(&sim, "/2010-04-01/Accounts.json?PageSize=2").await;
    let schema = response_schema(&spec, "/2010-04-01/Accounts.json", "get", "200");
    assert_eq!(
        real_violations(violations(&spec, &schema, &list, "accounts")),
        Vec::<String>::new()
    );
    assert_eq!(list["accounts"].as_array().unwrap().len(), 2);
    assert!(
        list["next_page_uri"]
            .as_str()
            .unwrap()
            .starts_with("/2010-04-01/Accounts.json?")
    );

    let one = get(&sim, &format!("/2010-04-01/Accounts/{main}.json")).await;
    let schema = response_schema(&spec, "/2010-04-01/Accounts/{Sid}.json", "get", "200");
    assert_eq!(
        real_violations(violations(&spec, &schema, &one, "account")),
        Vec::<String>::new()
    );

    for (path, template) in [
        (
            "Monthly",
            "/2010-04-01/Accounts/{AccountSid}/Usage/Records/Monthly.json",
        ),
        (
            "Daily",
            "/2010-04-01/Accounts/{AccountSid}/Usage/Records/Daily.json",
        ),
    ] {
        let body = get(&sim, &format!("/2010-04-01/Accounts/AC0000000000000000000000000000b001/Usage/Records/{path}.json?PageSize=1000")).await;
        let schema = response_schema(&spec, template, "get", "200");
        assert!(!body["usage_records"].as_array().unwrap().is_empty());
        assert_eq!(
            real_violations(violations(&spec, &schema, &body, path)),
            Vec::<String>::new()
        );
    }

    let missing = get(
        &sim,
        "/2010-04-01/Accounts/AC0000000000000000000000000000ffff.json",
    )
    .await;
    assert_eq!(
        (missing["code"].as_u64(), missing["status"].as_u64()),
        (Some(20404), Some(404))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checker_catches_shape_drift() {
    // The checker itself must fail on a wrong shape, or the test above proves nothing.
    let spec = load("twilio_api_v2010.json");
    let schema = response_schema(&spec, "/2010-04-01/Accounts/{Sid}.json", "get", "200");
    let bad = serde_json::json!({"sid": 5, "status": "sleeping", "unknown_field": true});
    let v = violations(&spec, &schema, &bad, "a");
    assert!(v.iter().any(|m| m.contains("a.sid: expected string")));
    assert!(
        v.iter()
            .any(|m| m.contains("a.status") && m.contains("not in enum"))
    );
    assert!(
        v.iter()
            .any(|m| m.contains("a.unknown_field: not in the schema"))
    );
}

fn assert_conforms(spec: &Value, template: &str, body: &Value, what: &str) {
    let schema = response_schema(spec, template, "get", "200");
    assert!(schema.is_object(), "no schema for {template}");
    assert_eq!(
        real_violations(violations(spec, &schema, body, what)),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn taskrouter_frontline_and_flex_v2_match_twilios_openapi() {
    let sim = sim(Fixture::demo()).await;
    let tr = load("twilio_taskrouter_v1.json");
    let ws = "WS0000000000000000000000000000c001";
    let list = get_on(&sim, "taskrouter.twilio.com", "/v1/Workspaces?PageSize=1").await;
    assert_conforms(&tr, "/v1/Workspaces", &list, "workspaces");
    assert_eq!(list["meta"]["key"], "workspaces");
    let workers = get_on(
        &sim,
        "taskrouter.twilio.com",
        &format!("/v1/Workspaces/{ws}/Workers?PageSize=2"),
    )
    .await;
    assert_conforms(
        &tr,
        "/v1/Workspaces/{WorkspaceSid}/Workers",
        &workers,
        "workers",
    );
    assert!(
        workers["meta"]["next_page_url"]
            .as_str()
            .unwrap()
            .starts_with("https://taskrouter.twilio.com/v1/Workspaces/")
    );
    // taskrouter OpenAPI, Worker.attributes: null in lists, shown only when fetched.
    assert!(
        workers["workers"][0]["attributes"].is_null(),
        "attributes are null in a list"
    );
    let one = get_on(
        &sim,
        "taskrouter.twilio.com",
        &format!("/v1/Workspaces/{ws}/Workers/WK0000000000000000000000000000d001"),
    )
    .await;
    assert_conforms(
        &tr,
        "/v1/Workspaces/{WorkspaceSid}/Workers/{Sid}",
        &one,
        "worker",
    );
    assert!(
        one["attributes"].is_string(),
        "a fetched worker's attributes are a JSON string"
    );

    let fl = load("twilio_frontline_v1.json");
    let user = get_on(
        &sim,
        "frontline-api.twilio.com",
        "/v1/Users/erin%40acme.example",
    )
    .await;
    assert_conforms(&fl, "/v1/Users/{Sid}", &user, "frontline user");

    let fx = load("twilio_flex_v2.json");
    let v2 = get_on(
        &sim,
        "flex-api.twilio.com",
        "/v2/Instances/GO0000000000000000000000000000e001/Users/FU0000000000000000000000000000f001",
    )
    .await;
    assert_conforms(
        &fx,
        "/v2/Instances/{InstanceSid}/Users/{FlexUserSid}",
        &v2,
        "flex v2 user",
    );
}

/// Field names of the Flex Users API examples in the seed document (003_*).
const SEED_USER_FIELDS: &[&str] = &[
    "account_sid",
    "created_date",
    "deactivated",
    "deactivated_date",
    "email",
    "flex_team_sid",
    "flex_user_sid",
    "full_name",
    "instance_sid",
    "locale",
    "roles",
    "updated_date",
    "username",
    "version",
    "worker_sid",
    "workspace_sid",
];

#[tokio::test]
async fn flex_users_api_matches_the_seed_examples() {
    let sim = sim(Fixture::demo()).await;
    let go = "GO0000000000000000000000000000e001";
    let list = get_on(
        &sim,
        "flex-api.twilio.com",
        &format!("/v1/Instances/{go}/Users?PageSize=50"),
    )
    .await;
    let mut keys: Vec<&str> = list["users"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, SEED_USER_FIELDS);
    for k in [
        "first_page_url",
        "key",
        "next_page_url",
        "page",
        "page_size",
        "previous_page_url",
        "url",
    ] {
        assert!(list["meta"].get(k).is_some(), "meta.{k}");
    }
    let by_name = get_on(
        &sim,
        "flex-api.twilio.com",
        &format!("/v4/Instances/{go}/Users?Username=alice"),
    )
    .await;
    assert_eq!(by_name["users"].as_array().unwrap().len(), 1);
    assert_eq!(by_name["meta"]["list_key"], "users");
    // Seed 003's by-username example: workspace_sid, but no worker_sid.
    assert!(by_name["users"][0].get("worker_sid").is_none());
    assert!(by_name["users"][0]["workspace_sid"].is_string());
    let none = get_on(
        &sim,
        "flex-api.twilio.com",
        &format!("/v4/Instances/{go}/Users?Username=nobody"),
    )
    .await;
    assert_eq!(none["users"], serde_json::json!([]));
    let by_sid = get_on(
        &sim,
        "flex-api.twilio.com",
        &format!("/v4/Instances/{go}/Users/FU0000000000000000000000000000f001"),
    )
    .await;
    let mut keys: Vec<&str> = by_sid
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, SEED_USER_FIELDS);
}

// ---------------------------------------------------------------------------------------------
// The organization-level APIs (OAuth token URLs, SCIM Users, Accounts, RoleAssignments on
// preview-iam.twilio.com) and Monitor Events.

/// One raw answer: status, headers (names lower-case) and body.
struct Got {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }
}

/// One HTTP/1.1 request over a loopback socket.
async fn call(
    sim: &Simulator,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &str,
) -> Got {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Got {
        status,
        headers,
        body: body.to_string(),
    }
}

const FORM: &str = "application/x-www-form-urlencoded";
const IAM: &str = "preview-iam.twilio.com";

fn basic(user: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))
    )
}

/// POST the client credentials grant to `host` `path`.
async fn ask_token(sim: &Simulator, host: &str, path: &str, id: &str, secret: &str) -> Got {
    let body = format!(
        "grant_type=client_credentials&client_id={id}&client_secret={}",
        connector_e2e_encode(secret)
    );
    call(
        sim,
        "POST",
        host,
        path,
        &[("Content-Type", FORM.to_string())],
        &body,
    )
    .await
}

fn connector_e2e_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A live token of the demo fixture's OAuth client.
async fn bearer(sim: &Simulator) -> String {
    let (id, secret) = sim
        .oauth_credentials()
        .expect("the demo has an OAuth client");
    let got = ask_token(sim, "oauth.twilio.com", "/v2/token", &id, &secret).await;
    assert_eq!(got.status, 200, "{}", got.body);
    got.json()["access_token"].as_str().unwrap().to_string()
}

/// A request to the organization APIs with `token`.
async fn org(
    sim: &Simulator,
    token: &str,
    method: &str,
    path: &str,
    json_body: Option<&Value>,
) -> Got {
    let mut headers = vec![("Authorization", format!("Bearer {token}"))];
    let body = match json_body {
        Some(b) => {
            headers.push(("Content-Type", "application/scim+json".to_string()));
            b.to_string()
        }
        None => String::new(),
    };
    call(sim, method, IAM, path, &headers, &body).await
}

/// A role assignment write takes `application/json` (CreateRoleAssignment's requestBody).
async fn org_json(sim: &Simulator, token: &str, method: &str, path: &str, body: &Value) -> Got {
    let headers = [
        ("Authorization", format!("Bearer {token}")),
        ("Content-Type", "application/json".to_string()),
    ];
    call(sim, method, IAM, path, &headers, &body.to_string()).await
}

/// The schema of `status` of `method path` served as `content_type`.
fn schema_as(spec: &Value, path: &str, method: &str, status: &str, content_type: &str) -> Value {
    let s =
        spec["paths"][path][method]["responses"][status]["content"][content_type]["schema"].clone();
    assert!(
        s.is_object(),
        "no {content_type} schema for {method} {path} {status}"
    );
    s
}

fn component(name: &str) -> Value {
    serde_json::json!({"$ref": format!("#/components/schemas/{name}")})
}

fn assert_shape(spec: &Value, schema: &Value, body: &Value, what: &str) {
    assert_eq!(
        violations(spec, schema, body, what),
        Vec::<String>::new(),
        "{what}: {body}"
    );
}

/// Every SCIM answer is `application/scim+json` (twilio_iam_organizations.json).
fn assert_scim(got: &Got) {
    assert!(
        got.content_type().starts_with("application/scim+json"),
        "content type {:?}",
        got.content_type()
    );
}

const OWNER: &str = "US0000000000000000000000000000ab01";
const DANA: &str = "US0000000000000000000000000000ab02";
const BEN: &str = "US0000000000000000000000000000ab03";
const SAM_SUSPENDED: &str = "US0000000000000000000000000000ab04";
const NORA_NO_ROLE: &str = "US0000000000000000000000000000ab05";

fn users_path(sim: &Simulator) -> String {
    format!(
        "/Organizations/{}/scim/Users",
        sim.organization_sid().unwrap()
    )
}

#[tokio::test]
async fn oauth_tokens_match_twilios_openapi() {
    let v2 = load("twilio_oauth_v2.json");
    let orgs = load("twilio_iam_organizations.json");
    let sim = sim(Fixture::demo()).await;
    let (id, secret) = sim.oauth_credentials().unwrap();
    assert_eq!(sim.tokens_minted(), 0);

    let got = ask_token(&sim, "oauth.twilio.com", "/v2/token", &id, &secret).await;
    assert_eq!(
        got.status, 200,
        "CreateOauth2Token answers 200: {}",
        got.body
    );
    assert!(got.content_type().starts_with("application/json"));
    let body = got.json();
    let schema = response_schema(&v2, "/v2/token", "post", "200");
    assert_shape(&v2, &schema, &body, "v2 token");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600, "tokens last one hour");
    let token = body["access_token"].as_str().unwrap().to_string();
    assert!(token.len() >= 32);

    let got = ask_token(&sim, IAM, "/v1/token", &id, &secret).await;
    assert_eq!(got.status, 201, "CreateToken answers 201: {}", got.body);
    let schema = response_schema(&orgs, "/v1/token", "post", "201");
    assert_shape(&orgs, &schema, &got.json(), "v1 token");
    assert_ne!(got.json()["access_token"], token.as_str());
    assert_eq!(sim.tokens_minted(), 2);

    // A wrong secret or an unknown client: 401 with Twilio's error body.
    for (who, pass) in [
        (id.as_str(), "wrong"),
        ("OQ00000000000000000000000000000bad", secret.as_str()),
    ] {
        let got = ask_token(&sim, "oauth.twilio.com", "/v2/token", who, pass).await;
        assert_eq!(got.status, 401, "{}", got.body);
        let e = got.json();
        assert_shape(&v2, &component("Error"), &e, "token error");
        assert_eq!(
            (e["code"].as_u64(), e["status"].as_u64()),
            (Some(20003), Some(401))
        );
        assert!(e.get("access_token").is_none());
    }
    let got = call(
        &sim,
        "POST",
        "oauth.twilio.com",
        "/v2/token",
        &[("Content-Type", FORM.to_string())],
        &format!("client_id={id}&client_secret={secret}"),
    )
    .await;
    assert_eq!(got.status, 400, "no grant_type: {}", got.body);
    assert_shape(&v2, &component("Error"), &got.json(), "token 400");
    assert_eq!(sim.tokens_minted(), 2, "refusals mint nothing");

    // The log names the client and whether its credentials were right (they were in the
    // request without a grant_type); the secrets are known as such.
    let log = sim.requests();
    let tokens: Vec<_> = log.iter().filter(|r| r.path.ends_with("/token")).collect();
    assert_eq!(
        tokens
            .iter()
            .map(|r| (r.authenticated, r.status))
            .collect::<Vec<_>>(),
        [
            (true, 200),
            (true, 201),
            (false, 401),
            (false, 401),
            (true, 400)
        ]
    );
    assert_eq!(tokens[0].user.as_deref(), Some(id.as_str()));
    let secrets = sim.secrets();
    assert!(secrets.contains(&secret) && secrets.contains(&token));
}

#[tokio::test]
async fn scim_users_match_twilios_openapi_and_are_not_paged() {
    let spec = load("twilio_iam_organizations.json");
    let sim = sim(Fixture::demo()).await;
    let token = bearer(&sim).await;
    let users = users_path(&sim);
    let template = "/Organizations/{OrganizationSid}/scim/Users";

    let got = org(&sim, &token, "GET", &users, None).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_scim(&got);
    let list = got.json();
    let schema = schema_as(&spec, template, "get", "200", "application/scim+json");
    assert_shape(&spec, &schema, &list, "users");
    assert_eq!(list["totalResults"], 5);
    assert_eq!(list["Resources"].as_array().unwrap().len(), 5);
    assert_eq!(
        list["schemas"],
        serde_json::json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    // Not paged: paging parameters change nothing, and no page fields are sent.
    let again = org(
        &sim,
        &token,
        "GET",
        &format!("{users}?startIndex=2&count=1"),
        None,
    )
    .await;
    assert_eq!(again.json()["Resources"], list["Resources"]);
    assert!(list.get("itemsPerPage").is_none() && list.get("startIndex").is_none());
    let suspended = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == SAM_SUSPENDED)
        .unwrap();
    assert_eq!(
        suspended["active"], false,
        "a suspended user reads inactive"
    );

    let got = org(&sim, &token, "GET", &format!("{users}/{DANA}"), None).await;
    assert_eq!(got.status, 200);
    assert_scim(&got);
    let one = got.json();
    let schema = schema_as(
        &spec,
        &format!("{template}/{{UserSid}}"),
        "get",
        "200",
        "application/scim+json",
    );
    assert_shape(&spec, &schema, &one, "user");
    assert_eq!(one["userName"], "dana.dev@acme.example");
    assert_eq!(got.header("etag"), one["meta"]["version"].as_str());

    for (filter, expected) in [
        (r#"userName eq "dana.dev@acme.example""#, Some(DANA)),
        (r#"userName eq "DANA.DEV@acme.example""#, Some(DANA)),
        (r#"externalId eq "okta-00u-ben""#, Some(BEN)),
        (r#"externalId eq "OKTA-00U-BEN""#, None),
        (r#"userName eq "nobody@acme.example""#, None),
    ] {
        let path = format!("{users}?filter={}", connector_e2e_encode(filter));
        let got = org(&sim, &token, "GET", &path, None).await;
        assert_eq!(got.status, 200, "{filter}: {}", got.body);
        let ids: Vec<String> = got.json()["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect();
        let expected: Vec<String> = expected.into_iter().map(str::to_string).collect();
        assert_eq!(ids, expected, "{filter}");
    }

    let missing = org(
        &sim,
        &token,
        "GET",
        &format!("{users}/US00000000000000000000000000000bad"),
        None,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_scim(&missing);
    let schema = schema_as(
        &spec,
        &format!("{template}/{{UserSid}}"),
        "get",
        "404",
        "application/scim+json",
    );
    assert_shape(&spec, &schema, &missing.json(), "404");
}

#[tokio::test]
async fn scim_filters_other_than_user_name_or_external_id_are_error_25001() {
    let spec = load("twilio_iam_organizations.json");
    let sim = sim(Fixture::demo()).await;
    let token = bearer(&sim).await;
    let users = users_path(&sim);
    let schema = schema_as(
        &spec,
        "/Organizations/{OrganizationSid}/scim/Users",
        "get",
        "400",
        "application/scim+json",
    );
    for filter in [
        r#"displayName eq "Dana Developer""#,
        r#"userName co "dana""#,
        r#"userName sw "dana""#,
        r#"active eq true"#,
        r#"emails.value eq "dana.dev@acme.example""#,
        r#"userName eq "a@acme.example" or externalId eq "b""#,
        r#"userName eq dana.dev@acme.example"#,
    ] {
        let path = format!("{users}?filter={}", connector_e2e_encode(filter));
        let got = org(&sim, &token, "GET", &path, None).await;
        assert_eq!(got.status, 400, "{filter}: {}", got.body);
        assert_scim(&got);
        let e = got.json();
        assert_shape(&spec, &schema, &e, "filter error");
        assert_eq!(e["code"], 25001, "{filter}");
        assert_eq!(e["scimType"], "invalidFilter");
        assert_eq!(e["status"], "400", "ScimError.status is a string");
        assert_eq!(
            e["schemas"],
            serde_json::json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
        );
    }
}

fn new_user(email: &str) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "externalId": format!("ext-{email}"),
        "displayName": "New Person",
        "name": {"givenName": "New", "familyName": "Person"},
        "emails": [{"value": email, "primary": true, "type": "work"}],
        "active": true,
    })
}

fn deactivate() -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}],
    })
}

#[tokio::test]
async fn scim_creates_replaces_patches_and_delete_leaves_the_user_inactive() {
    let spec = load("twilio_iam_organizations.json");
    let sim = sim(Fixture::demo()).await;
    let token = bearer(&sim).await;
    let users = users_path(&sim);
    let template = "/Organizations/{OrganizationSid}/scim/Users";
    let user_schema = component("ScimUser");
    let error_schema = component("ScimError");

    let got = org(
        &sim,
        &token,
        "POST",
        &users,
        Some(&new_user("new.person@acme.example")),
    )
    .await;
    assert_eq!(got.status, 201, "{}", got.body);
    assert_scim(&got);
    let created = got.json();
    assert_shape(
        &spec,
        &schema_as(&spec, template, "post", "201", "application/scim+json"),
        &created,
        "created",
    );
    let id = created["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("US") && id.len() == 34);
    assert_eq!(created["active"], true);
    assert!(
        got.header("location")
            .unwrap()
            .ends_with(&format!("{users}/{id}"))
    );

    // userName must be the primary email.
    let mut mismatched = new_user("other@acme.example");
    mismatched["emails"][0]["value"] = "someone.else@acme.example".into();
    let got = org(&sim, &token, "POST", &users, Some(&mismatched)).await;
    assert_eq!(got.status, 400, "{}", got.body);
    assert_scim(&got);
    assert_shape(&spec, &error_schema, &got.json(), "mismatch");
    assert_eq!(got.json()["scimType"], "invalidValue");

    // An existing userName (whatever its case) is 409 uniqueness.
    let got = org(
        &sim,
        &token,
        "POST",
        &users,
        Some(&new_user("Dana.Dev@acme.example")),
    )
    .await;
    assert_eq!(got.status, 409, "{}", got.body);
    assert_scim(&got);
    let e = got.json();
    assert_shape(&spec, &error_schema, &e, "duplicate");
    assert_eq!(
        (e["scimType"].as_str(), e["status"].as_str()),
        (Some("uniqueness"), Some("409"))
    );
    assert_eq!(e["code"], 25022);

    // Replace (PUT) keeps the id; a stale If-Match is a version conflict.
    let mut replacement = new_user("new.person@acme.example");
    replacement["displayName"] = "Renamed Person".into();
    let path = format!("{users}/{id}");
    let got = org(&sim, &token, "PUT", &path, Some(&replacement)).await;
    assert_eq!(got.status, 200, "{}", got.body);
    let replaced = got.json();
    assert_shape(&spec, &user_schema, &replaced, "replaced");
    assert_eq!(
        (replaced["id"].as_str(), replaced["displayName"].as_str()),
        (Some(id.as_str()), Some("Renamed Person"))
    );
    assert_eq!(replaced["meta"]["version"], "W/2");
    let headers = [
        ("Authorization", format!("Bearer {token}")),
        ("Content-Type", "application/scim+json".to_string()),
        ("If-Match", "W/1".to_string()),
    ];
    let stale = call(
        &sim,
        "PATCH",
        IAM,
        &path,
        &headers,
        &deactivate().to_string(),
    )
    .await;
    assert_eq!(stale.status, 409, "{}", stale.body);

    // PATCH active false, then true again.
    let got = org(&sim, &token, "PATCH", &path, Some(&deactivate())).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_shape(&spec, &user_schema, &got.json(), "patched");
    assert_eq!(got.json()["active"], false);
    let reactivate = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": true}}],
    });
    let got = org(&sim, &token, "PATCH", &path, Some(&reactivate)).await;
    assert_eq!(
        (got.status, got.json()["active"].clone()),
        (200, Value::Bool(true))
    );

    // DELETE deactivates: the user stays, inactive.
    let got = org(
        &sim,
        &token,
        "DELETE",
        &format!("{users}/{NORA_NO_ROLE}"),
        None,
    )
    .await;
    assert_eq!(got.status, 204, "{}", got.body);
    assert!(got.body.is_empty());
    let after = org(
        &sim,
        &token,
        "GET",
        &format!("{users}/{NORA_NO_ROLE}"),
        None,
    )
    .await;
    assert_eq!(after.status, 200, "the deleted user is still there");
    assert_eq!(after.json()["active"], false);
    let list = org(&sim, &token, "GET", &users, None).await.json();
    assert_eq!(
        list["totalResults"], 6,
        "five users and the new one, none removed"
    );
    sim.with_fixture(|f| {
        let u = f.organizations[0]
            .users
            .iter()
            .find(|u| u["id"] == NORA_NO_ROLE)
            .unwrap();
        assert_eq!(u["active"], false);
    });
}

#[tokio::test]
async fn scim_refuses_to_change_the_owner_and_suspended_users() {
    let spec = load("twilio_iam_organizations.json");
    let sim = sim(Fixture::demo()).await;
    let token = bearer(&sim).await;
    let users = users_path(&sim);
    let before = sim.with_fixture(|f| f.organizations[0].users.clone());
    for (sid, code) in [(OWNER, Some(25016u64)), (SAM_SUSPENDED, None)] {
        let path = format!("{users}/{sid}");
        let mut put = before.iter().find(|u| u["id"] == sid).unwrap().clone();
        put["displayName"] = "Changed".into();
        for (method, body) in [
            ("PATCH", Some(deactivate())),
            ("PUT", Some(put)),
            ("DELETE", None),
        ] {
            let got = org(&sim, &token, method, &path, body.as_ref()).await;
            assert_eq!(got.status, 400, "{method} {sid}: {}", got.body);
            assert_scim(&got);
            let e = got.json();
            assert_shape(&spec, &component("ScimError"), &e, "refusal");
            assert_eq!(e["scimType"], "mutability", "{method} {sid}");
            assert_eq!(e["code"].as_u64(), code, "{method} {sid}");
        }
    }
    assert_eq!(
        sim.with_fixture(|f| f.organizations[0].users.clone()),
        before,
        "nothing changed"
    );
}

#[tokio::test]
async fn organization_accounts_and_role_assignments_match_twilios_openapi() {
    let spec = load("twilio_iam_organizations.json");
    let sim = sim(Fixture::demo()).await;
    let token = bearer(&sim).await;
    let or = sim.organization_sid().unwrap();
    let (main, _) = sim.main_credentials();

    // Accounts: paged with PageSize and the page's next_page_url.
    let template = "/Organizations/{OrganizationSid}/Accounts";
    let schema = response_schema(&spec, template, "get", "200");
    let mut next = Some(format!(
        "https://{IAM}/Organizations/{or}/Accounts?PageSize=2"
    ));
    let mut seen = Vec::new();
    while let Some(url) = next {
        let path = url
            .strip_prefix(&format!("https://{IAM}"))
            .expect("an absolute URL on the host");
        let got = org(&sim, &token, "GET", path, None).await;
        assert_eq!(got.status, 200, "{}", got.body);
        assert!(got.content_type().starts_with("application/json"));
        let page = got.json();
        assert_shape(&spec, &schema, &page, "accounts page");
        assert_eq!(page["meta"]["key"], "content");
        assert!(page["content"].as_array().unwrap().len() <= 2);
        seen.extend(page["content"].as_array().unwrap().iter().cloned());
        next = page["meta"]["next_page_url"].as_str().map(str::to_string);
    }
    let sids: Vec<&str> = seen
        .iter()
        .map(|a| a["account_sid"].as_str().unwrap())
        .collect();
    assert_eq!(
        sids.len(),
        6,
        "the main account and its subaccounts: {sids:?}"
    );
    assert!(sids.contains(&main.as_str()));
    let got = org(
        &sim,
        &token,
        "GET",
        &format!("/Organizations/{or}/Accounts/{main}"),
        None,
    )
    .await;
    assert_eq!(got.status, 200);
    let one = got.json();
    assert_shape(
        &spec,
        &response_schema(&spec, &format!("{template}/{{AccountSid}}"), "get", "200"),
        &one,
        "account",
    );
    assert_eq!(
        (one["owner_sid"].as_str(), one["date_created"].as_str()),
        (Some(OWNER), Some("2023-01-10T09:00:00Z"))
    );
    let got = org(
        &sim,
        &token,
        "GET",
        &format!("/Organizations/{or}/Accounts/AC00000000000000000000000000000bad"),
        None,
    )
    .await;
    assert_eq!(got.status, 404);
    assert_shape(
        &spec,
        &response_schema(&spec, &format!("{template}/{{AccountSid}}"), "get", "404"),
        &got.json(),
        "404",
    );
    let got = org(
        &sim,
        &token,
        "GET",
        &format!("/Organizations/{or}/Accounts?PageSize=101"),
        None,
    )
    .await;
    assert_eq!(got.status, 400, "PageSize's maximum is 100");

    // Role assignments: list, filters, create, delete.
    let template = "/Organizations/{OrganizationSid}/RoleAssignments";
    let path = format!("/Organizations/{or}/RoleAssignments");
    let schema = response_schema(&spec, template, "get", "200");
    let got = org(&sim, &token, "GET", &path, None).await;
    assert_eq!(got.status, 200, "{}", got.body);
    let all = got.json();
    assert_shape(&spec, &schema, &all, "role assignments");
    assert_eq!(all["content"].as_array().unwrap().len(), 6);
    assert_eq!(all["meta"]["page_size"], 100, "PageSize defaults to 100");
    let count = |q: String| {
        let sim = &sim;
        let token = token.clone();
        let path = format!("{path}?{q}");
        async move {
            let got = org(sim, &token, "GET", &path, None).await;
            assert_eq!(got.status, 200, "{}", got.body);
            got.json()["content"].as_array().unwrap().len()
        }
    };
    assert_eq!(count(format!("Identity={BEN}")).await, 2);
    assert_eq!(count(format!("Scope={main}")).await, 3);
    assert_eq!(count(format!("Identity={BEN}&Scope={main}")).await, 1);
    assert_eq!(count(format!("Identity={NORA_NO_ROLE}")).await, 0);
    let paged = org(&sim, &token, "GET", &format!("{path}?PageSize=4"), None)
        .await
        .json();
    let next = paged["meta"]["next_page_url"].as_str().unwrap();
    let rest = org(
        &sim,
        &token,
        "GET",
        next.strip_prefix(&format!("https://{IAM}")).unwrap(),
        None,
    )
    .await
    .json();
    assert_eq!(rest["content"].as_array().unwrap().len(), 2);

    let create = serde_json::json!({
        "role_sid": twilio_sim::fixture::ROLE_SUPPORT,
        "scope": "AC0000000000000000000000000000b002",
        "identity": NORA_NO_ROLE,
    });
    let got = org_json(&sim, &token, "POST", &path, &create).await;
    assert_eq!(got.status, 201, "{}", got.body);
    let made = got.json();
    assert_shape(
        &spec,
        &response_schema(&spec, template, "post", "201"),
        &made,
        "created assignment",
    );
    let sid = made["sid"].as_str().unwrap().to_string();
    assert!(sid.starts_with("IY"));
    assert_eq!(count(format!("Identity={NORA_NO_ROLE}")).await, 1);
    // No update: only DELETE on an assignment.
    let one = format!("{path}/{sid}");
    for method in ["PUT", "PATCH", "POST"] {
        let got = org_json(&sim, &token, method, &one, &create).await;
        assert_eq!(got.status, 405, "{method}: {}", got.body);
        assert_eq!(got.header("allow"), Some("DELETE"));
    }
    let got = org(&sim, &token, "DELETE", &one, None).await;
    assert_eq!(got.status, 204, "{}", got.body);
    assert_eq!(count(format!("Identity={NORA_NO_ROLE}")).await, 0);
    let got = org(&sim, &token, "DELETE", &one, None).await;
    assert_eq!(got.status, 404);
}

#[tokio::test]
async fn role_assignment_errors_are_25200_25201_and_25202() {
    let spec = load("twilio_iam_organizations.json");
    let sim = sim(Fixture::demo()).await;
    let token = bearer(&sim).await;
    let or = sim.organization_sid().unwrap();
    let path = format!("/Organizations/{or}/RoleAssignments");
    let schema = schema_as(
        &spec,
        "/Organizations/{OrganizationSid}/RoleAssignments",
        "post",
        "400",
        "application/scim+json",
    );
    let (main, _) = sim.main_credentials();
    let admin = twilio_sim::fixture::ROLE_ADMIN;
    for (role, scope, identity, code) in [
        (
            admin,
            "AC00000000000000000000000000000bad",
            NORA_NO_ROLE,
            25200,
        ),
        (
            admin,
            "OR00000000000000000000000000000bad",
            NORA_NO_ROLE,
            25200,
        ),
        (
            admin,
            main.as_str(),
            "US00000000000000000000000000000bad",
            25201,
        ),
        (
            admin,
            main.as_str(),
            "US0000000000000000000000000000a0a1",
            25201,
        ),
        (
            "IX00000000000000000000000000000bad",
            main.as_str(),
            NORA_NO_ROLE,
            25202,
        ),
    ] {
        let body = serde_json::json!({"role_sid": role, "scope": scope, "identity": identity});
        let got = org_json(&sim, &token, "POST", &path, &body).await;
        assert_eq!(got.status, 400, "{body}: {}", got.body);
        assert_scim(&got);
        let e = got.json();
        assert_shape(&spec, &schema, &e, "role assignment error");
        assert_eq!(e["code"], code, "{body}");
        assert_eq!(e["status"], 400);
    }
    // The organization itself is a valid scope.
    let body = serde_json::json!({"role_sid": admin, "scope": or, "identity": NORA_NO_ROLE});
    assert_eq!(
        org_json(&sim, &token, "POST", &path, &body).await.status,
        201
    );
    assert_eq!(
        sim.with_fixture(|f| f.organizations[0].role_assignments.len()),
        7
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn organization_apis_take_only_a_live_bearer_token_of_the_organization() {
    let spec = load("twilio_iam_organizations.json");
    let sim = sim(Fixture::demo()).await;
    let users = users_path(&sim);
    let or = sim.organization_sid().unwrap();
    let accounts = format!("/Organizations/{or}/Accounts");
    let (main, auth_token) = sim.main_credentials();
    let scim_401 = schema_as(
        &spec,
        "/Organizations/{OrganizationSid}/scim/Users",
        "get",
        "401",
        "application/scim+json",
    );

    // A Basic credential (the account's own), none, or a token never minted: 401.
    let refusals = [
        (Some(basic(&main, &auth_token)), 20003),
        (None, 20003),
        (Some("Bearer not-a-token-we-minted".to_string()), 20101),
    ];
    for (authorization, code) in refusals {
        let headers: Vec<(&str, String)> = authorization
            .iter()
            .map(|a| ("Authorization", a.clone()))
            .collect();
        let got = call(&sim, "GET", IAM, &users, &headers, "").await;
        assert_eq!(got.status, 401, "{authorization:?}: {}", got.body);
        assert_scim(&got);
        assert_shape(&spec, &scim_401, &got.json(), "401");
        assert_eq!(got.json()["code"], code);
        assert!(
            got.header("www-authenticate")
                .unwrap()
                .starts_with("Bearer")
        );
        let got = call(&sim, "GET", IAM, &accounts, &headers, "").await;
        assert_eq!(got.status, 401);
        assert_eq!(got.json()["code"], code);
    }
    assert!(sim.requests().iter().all(|r| !r.authenticated));

    // One token serves a burst: nothing more is minted.
    let token = bearer(&sim).await;
    let burst: Vec<_> = (0..10)
        .map(|_| org(&sim, &token, "GET", &users, None))
        .collect();
    for got in futures::future::join_all(burst).await {
        assert_eq!(got.status, 200);
    }
    assert_eq!(sim.tokens_minted(), 1, "a burst of requests used one token");
    assert!(
        sim.requests()
            .iter()
            .filter(|r| r.host == IAM)
            .all(|r| r.status != 200 || (r.authenticated && r.user.is_some()))
    );

    // An expired token: 401 until a new one is minted.
    sim.expire_tokens();
    let got = org(&sim, &token, "GET", &users, None).await;
    assert_eq!(got.status, 401, "{}", got.body);
    assert_eq!(got.json()["code"], 20104);
    assert!(
        got.header("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
    let fresh = bearer(&sim).await;
    assert_eq!(org(&sim, &fresh, "GET", &users, None).await.status, 200);
    assert_eq!(sim.tokens_minted(), 2);

    // A live token of another organization: 403.
    let other = "OR0000000000000000000000000000aa02";
    sim.update_fixture(|f| {
        f.organizations.push(twilio_sim::Organization {
            sid: other.to_string(),
            ..Default::default()
        });
        f.oauth_clients.push(twilio_sim::OAuthClient {
            client_id: "OQ0000000000000000000000000000ae02".into(),
            client_secret: "other-secret".into(),
            organization_sid: other.into(),
            user_sid: None,
        });
    });
    let got = ask_token(
        &sim,
        "oauth.twilio.com",
        "/v2/token",
        "OQ0000000000000000000000000000ae02",
        "other-secret",
    )
    .await;
    let foreign = got.json()["access_token"].as_str().unwrap().to_string();
    let got = org(&sim, &foreign, "GET", &users, None).await;
    assert_eq!(got.status, 403, "{}", got.body);
    assert_shape(
        &spec,
        &schema_as(
            &spec,
            "/Organizations/{OrganizationSid}/scim/Users",
            "get",
            "403",
            "application/scim+json",
        ),
        &got.json(),
        "403",
    );
    let got = org(
        &sim,
        &foreign,
        "GET",
        &format!("/Organizations/{other}/scim/Users"),
        None,
    )
    .await;
    assert_eq!(
        (got.status, got.json()["totalResults"].clone()),
        (200, serde_json::json!(0))
    );
}

#[tokio::test]
async fn monitor_events_match_twilios_openapi_within_retention_newest_first() {
    let spec = load("twilio_monitor_v1.json");
    let sim = sim(Fixture::demo()).await;
    let schema = response_schema(&spec, "/v1/Events", "get", "200");
    let events = |body: &Value| -> Vec<String> {
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["sid"].as_str().unwrap()[30..].to_string())
            .collect()
    };

    let list = get_on(&sim, "monitor.twilio.com", "/v1/Events").await;
    assert_shape(&spec, &schema, &list, "events");
    assert_eq!(list["meta"]["key"], "events");
    // The demo's clock is 2025-11-23T12:00:00Z: 30 days keep ad01..ad04; ad05 and ad06 are
    // older; ad07 is the subaccount's.
    assert_eq!(
        events(&list),
        ["ad01", "ad02", "ad03", "ad04"],
        "newest first"
    );
    let dates: Vec<&str> = list["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_date"].as_str().unwrap())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]));

    for (query, expected) in [
        (format!("ActorSid={DANA}"), vec!["ad01", "ad03"]),
        (
            "StartDate=2025-11-10T00:00:00Z".to_string(),
            vec!["ad01", "ad02"],
        ),
        (
            "EndDate=2025-11-10T00:00:00Z".to_string(),
            vec!["ad03", "ad04"],
        ),
        (
            "StartDate=2025-11-02&EndDate=2025-11-18".to_string(),
            vec!["ad02", "ad03"],
        ),
        (
            "ResourceSid=AC0000000000000000000000000000b002".to_string(),
            vec!["ad04"],
        ),
        (
            "SourceIpAddress=203.0.113.10".to_string(),
            vec!["ad01", "ad03"],
        ),
        (
            "EventType=account.updated".to_string(),
            vec!["ad02", "ad04"],
        ),
        (format!("ActorSid={SAM_SUSPENDED}"), vec![]),
    ] {
        let body = get_on(&sim, "monitor.twilio.com", &format!("/v1/Events?{query}")).await;
        assert_shape(&spec, &schema, &body, "filtered events");
        assert_eq!(events(&body), expected, "{query}");
    }
    let page = get_on(&sim, "monitor.twilio.com", "/v1/Events?PageSize=3").await;
    assert_eq!(events(&page), ["ad01", "ad02", "ad03"]);
    let next = page["meta"]["next_page_url"].as_str().unwrap();
    let rest = get_on(
        &sim,
        "monitor.twilio.com",
        next.strip_prefix("https://monitor.twilio.com").unwrap(),
    )
    .await;
    assert_eq!(events(&rest), ["ad04"]);
    assert!(rest["meta"]["next_page_url"].is_null());

    let one = get_on(
        &sim,
        "monitor.twilio.com",
        "/v1/Events/AE0000000000000000000000000000ad02",
    )
    .await;
    assert_shape(
        &spec,
        &response_schema(&spec, "/v1/Events/{Sid}", "get", "200"),
        &one,
        "event",
    );
    assert_eq!(one["actor_sid"], BEN);
    let gone = get_on(
        &sim,
        "monitor.twilio.com",
        "/v1/Events/AE0000000000000000000000000000ad06",
    )
    .await;
    assert_eq!(gone["status"], 404, "past retention");
    let bad = get_on(&sim, "monitor.twilio.com", "/v1/Events?StartDate=yesterday").await;
    assert_eq!(bad["status"], 400);

    // A subaccount's own credentials read its own events.
    let (sub, sub_token) = sim.with_fixture(|f| {
        let a = f
            .accounts
            .iter()
            .find(|a| a["sid"] == "AC0000000000000000000000000000b001")
            .unwrap();
        (
            a["sid"].as_str().unwrap().to_string(),
            a["auth_token"].as_str().unwrap().to_string(),
        )
    });
    let got = call(
        &sim,
        "GET",
        "monitor.twilio.com",
        "/v1/Events",
        &[("Authorization", basic(&sub, &sub_token))],
        "",
    )
    .await;
    assert_eq!(events(&got.json()), ["ad07"]);
    // Monitor takes Basic, not a bearer token.
    let token = bearer(&sim).await;
    let got = call(
        &sim,
        "GET",
        "monitor.twilio.com",
        "/v1/Events",
        &[("Authorization", format!("Bearer {token}"))],
        "",
    )
    .await;
    assert_eq!(got.status, 401);

    // Thirteen months of retention (the paid editions) keep the older ones.
    sim.update_fixture(|f| f.behaviour.monitor_retention_days = Some(395));
    let list = get_on(&sim, "monitor.twilio.com", "/v1/Events").await;
    assert_eq!(
        events(&list),
        ["ad01", "ad02", "ad03", "ad04", "ad05", "ad06"]
    );
}
