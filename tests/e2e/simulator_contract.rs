//! The simulator answers with Twilio's own shapes: every field it sends is declared in
//! Twilio's OpenAPI description with the right type, and list envelopes page as Twilio's do.

use connector_e2e::oai::{load, response_schema, violations};
use connector_e2e::sim;
use serde_json::Value;
use twilio_sim::{Fixture, Simulator};

/// Plain HTTP/1.1 GET over a loopback socket, as Twilio's host would be asked.
async fn get(sim: &Simulator, path: &str) -> Value {
    use base64::Engine;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (sid, token) = sim.main_credentials();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"));
    let mut s = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: api.twilio.com\r\nAuthorization: Basic {auth}\r\nConnection: close\r\n\r\n"
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
