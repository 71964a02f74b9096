//! A plugin that names the fields it reads of a list page (`connector-answer-fields`) gets
//! exactly those fields of each item, the rest of the page whole, and still no secret: shown
//! with the hostile component, on the simulator's two-year usage pages and on answers that
//! hide secrets inside a kept field.

use connector_e2e::{host_with, hostile_wasm, sim, tenant};
use connector_host::{Host, Limits};
use serde_json::{Value, json};
use twilio_sim::{Fault, FaultRule, Fixture, History, Simulator};

const USAGE_FIELDS: &str = "usage_records=category,price,end_date";

/// What the Twilio plugin asks of a page of the account list (`AccountResource::FIELDS`).
const ACCOUNT_FIELDS: &str =
    "accounts=sid,friendly_name,status,type,owner_account_sid,date_created";

async fn hostile(sim: &Simulator) -> Host {
    host_with(sim, hostile_wasm(), Limits::default()).await
}

/// The hostile component's report of reading `path` with `fields` (none: the whole page):
/// the status and the body as the guest saw it.
async fn read(host: &Host, sim: &Simulator, path: &str, fields: &str) -> (u16, String) {
    let mut t = tenant(sim, "twilio")
        .with_option("mode", "narrow")
        .with_option("path", path);
    if !fields.is_empty() {
        t = t.with_option("fields", fields);
    }
    let page = host.list_page(&t, None).await.expect("the call returns");
    let report = page.accounts[0].display_name.clone().unwrap_or_default();
    let (status, body) = report
        .split_once('\n')
        .unwrap_or_else(|| panic!("no answer: {report}"));
    (status.parse().expect("a status"), body.to_string())
}

/// `page` with each item of `list` cut to `fields`, as the test reads the promise.
fn narrowed(page: &Value, list: &str, fields: &[&str]) -> Value {
    let mut out = page.clone();
    for item in out[list].as_array_mut().expect("a list page") {
        item.as_object_mut()
            .expect("items are objects")
            .retain(|k, _| fields.contains(&k.as_str()));
    }
    out
}

#[tokio::test]
async fn a_usage_page_narrowed_by_the_host_holds_exactly_the_asked_fields_of_every_record() {
    let sim = sim(Fixture::generate_with_history(12, 7, History::TWO_YEARS)).await;
    let host = hostile(&sim).await;
    let sub = sim.with_fixture(|f| {
        f.usage_history
            .iter()
            .filter(|(sid, h)| **sid != f.main_account_sid && h.len() > 100)
            .map(|(sid, _)| sid.clone())
            .next()
            .expect("an active subaccount")
    });
    let path = format!("/2010-04-01/Accounts/{sub}/Usage/Records/Monthly.json?PageSize=1000");
    let (status, whole) = read(&host, &sim, &path, "").await;
    assert_eq!(status, 200, "{whole}");
    sim.clear_requests();
    let (status, narrow) = read(&host, &sim, &path, USAGE_FIELDS).await;
    assert_eq!(status, 200, "{narrow}");
    let sent = sim.requests();
    assert_eq!(sent.len(), 1);
    assert!(
        !sent[0]
            .header_names
            .iter()
            .any(|h| h == "connector-answer-fields"),
        "the host's header went upstream: {:?}",
        sent[0].header_names
    );
    // The headers are seen (the host's own credential among them).
    assert!(
        sent[0].header_names.iter().any(|h| h == "authorization"),
        "{:?}",
        sent[0].header_names
    );
    let whole: Value = serde_json::from_str(&whole).unwrap();
    let narrow_page: Value = serde_json::from_str(&narrow).unwrap();
    let records = whole["usage_records"].as_array().unwrap().len();
    assert!(records > 100, "a two-year page: {records} records");
    assert_eq!(
        narrow_page,
        narrowed(&whole, "usage_records", &["category", "price", "end_date"]),
        "every record keeps exactly its category, price and end date; the paging fields stay"
    );
    assert!(
        narrow.len() * 4 < serde_json::to_string(&whole).unwrap().len(),
        "the guest reads a fraction of the page: {} bytes",
        narrow.len()
    );
}

#[tokio::test]
async fn an_account_page_narrowed_by_the_host_holds_no_auth_token_at_all() {
    let sim = sim(Fixture::generate(40, 8)).await;
    let host = hostile(&sim).await;
    let path = "/2010-04-01/Accounts.json?PageSize=1000";
    let (status, whole) = read(&host, &sim, path, "").await;
    assert_eq!(status, 200, "{whole}");
    let (status, narrow) = read(&host, &sim, path, ACCOUNT_FIELDS).await;
    assert_eq!(status, 200, "{narrow}");
    let whole: Value = serde_json::from_str(&whole).unwrap();
    let narrow: Value = serde_json::from_str(&narrow).unwrap();
    // Whole, every account comes with its auth token blanked by the host...
    let accounts = whole["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 41);
    assert!(
        accounts.iter().all(|a| a["auth_token"] == json!("")),
        "{whole}"
    );
    // ...narrowed, with the fields the plugin reads and no auth token field at all: dropped
    // before the hygiene, not blanked by it.
    let fields = [
        "sid",
        "friendly_name",
        "status",
        "type",
        "owner_account_sid",
        "date_created",
    ];
    assert_eq!(narrow, narrowed(&whole, "accounts", &fields));
    assert!(
        narrow["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a.get("auth_token").is_none() && a["sid"].is_string()),
        "{narrow}"
    );
}

#[tokio::test]
async fn a_secret_inside_a_kept_field_is_blanked_and_one_in_a_dropped_field_never_arrives() {
    let sim = sim(Fixture::demo()).await;
    let host = hostile(&sim).await;
    let (sid, token) = sim.main_credentials();
    let path = format!("/2010-04-01/Accounts/{sid}/Usage/Records/Monthly.json");
    let hidden = json!({
        "usage_records": [{
            "category": "sms",
            "price": {"auth_token": token, "note": format!("token {token}")},
            "end_date": format!("2025-01-31 {}", token.replace('a', "\\u0061")),
            "description": token,
        }],
        "next_page_uri": null
    })
    .to_string()
    // An escape the blanking must see through, in a kept field.
    .replace("\\\\u0061", "\\u0061");
    sim.inject(FaultRule::on(
        "/Usage/Records/Monthly.json",
        Fault::Body(200, hidden),
        1,
    ));
    let (status, body) = read(&host, &sim, &path, USAGE_FIELDS).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.contains(&token),
        "the tenant's secret reached the guest: {body}"
    );
    let page: Value = serde_json::from_str(&body).unwrap();
    let record = &page["usage_records"][0];
    assert_eq!(record["price"]["auth_token"], "", "{body}");
    assert_eq!(record["price"]["note"], "token [redacted]", "{body}");
    assert_eq!(record["end_date"], "2025-01-31 [redacted]", "{body}");
    assert!(record.get("description").is_none(), "{body}");
}

#[tokio::test]
async fn a_malformed_field_list_is_refused_before_anything_is_sent() {
    let sim = sim(Fixture::demo()).await;
    let host = hostile(&sim).await;
    let (sid, _) = sim.main_credentials();
    let path = format!("/2010-04-01/Accounts/{sid}/Usage/Records/Monthly.json");
    for fields in [
        "usage_records",
        "usage_records=",
        "usage_records=price,\"x\"",
    ] {
        sim.clear_requests();
        let t = tenant(&sim, "twilio")
            .with_option("mode", "narrow")
            .with_option("path", &path)
            .with_option("fields", fields);
        let page = host.list_page(&t, None).await.expect("the call returns");
        let report = page.accounts[0].display_name.clone().unwrap_or_default();
        assert!(report.contains("HttpRequestDenied"), "{fields}: {report}");
        assert!(sim.requests().is_empty(), "{fields}: a request went out");
    }
    // A page of another shape (an error answer) reaches the guest whole, as without a list.
    sim.inject(FaultRule::on(
        "/Usage/Records/Monthly.json",
        Fault::Body(
            404,
            r#"{"code":20404,"message":"The requested resource was not found","status":404}"#
                .into(),
        ),
        1,
    ));
    let (status, body) = read(&host, &sim, &path, USAGE_FIELDS).await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["code"],
        20404,
        "{body}"
    );
}
