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
