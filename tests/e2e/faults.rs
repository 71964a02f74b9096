//! Upstream misbehaviour: bad credentials, rate limits, server errors, broken bodies, resets,
//! slow answers and hostile page links. Each either completes with every account exactly once
//! or fails with a clear, specific error.

use connector_e2e::{connector_wasm, host, host_with, sim, tenant};
use connector_host::types::ConnectorError;
use connector_host::{CallError, Credentials, Limits, Tenant};
use std::time::Duration;
use twilio_sim::{Fault, FaultRule, Fixture};

fn ids_once(list: &[connector_host::types::Account], expected: usize) {
    let mut ids: Vec<_> = list.iter().map(|a| a.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), expected);
    assert_eq!(list.len(), expected);
}

#[tokio::test]
async fn wrong_token_is_a_clear_authentication_error() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let (sid, _) = sim.main_credentials();
    let t = Tenant::new(
        "t",
        "twilio",
        Credentials::AuthToken {
            account_sid: sid,
            auth_token: "wrong-token-value".into(),
        },
    );
    let err = host.list_all(&t, |_| {}).await.unwrap_err();
    assert!(err.kind() == "unauthorized", "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("authentication failed") && text.contains("20003"),
        "{text}"
    );
    assert!(!text.contains("wrong-token-value"));
    assert_eq!(sim.requests().len(), 1, "an auth failure is not retried");
}

#[tokio::test]
async fn rate_limits_are_retried_and_nothing_is_lost_or_duplicated() {
    let sim = sim(Fixture::generate(40, 3)).await;
    sim.inject(FaultRule::on(
        "/Accounts.json",
        Fault::RateLimit {
            retry_after_secs: Some(1),
        },
        1,
    ));
    sim.inject(FaultRule::on(
        "/Usage/",
        Fault::RateLimit {
            retry_after_secs: None,
        },
        5,
    ));
    let host = host(&sim).await;
    let list = host
        .list_all(&tenant(&sim, "twilio"), |_| {})
        .await
        .unwrap();
    ids_once(&list, 41);
    let limited = sim.requests().iter().filter(|r| r.status == 429).count();
    assert_eq!(limited, 6);
    // Same answer as a run without faults.
    let clean = host
        .list_all(&tenant(&sim, "twilio"), |_| {})
        .await
        .unwrap();
    assert_eq!(list, clean);
}

#[tokio::test]
async fn persistent_rate_limiting_ends_in_a_typed_error_when_the_calls_budget_runs_out() {
    let sim = sim(Fixture::demo()).await;
    sim.inject(FaultRule::any(
        Fault::RateLimit {
            retry_after_secs: Some(1),
        },
        1000,
    ));
    // A 4 s call: retried while a wait still ends within its first 3.2 s.
    let limits = Limits {
        call_timeout: Duration::from_secs(4),
        ..Limits::default()
    };
    let host = host_with(&sim, connector_wasm(), limits).await;
    let err = host
        .list_all(&tenant(&sim, "twilio"), |_| {})
        .await
        .unwrap_err();
    assert!(err.kind() == "rate-limited", "{err}");
    let text = err.to_string();
    assert!(
        text.contains("throttled by Twilio") && text.contains("time(s) and retried for"),
        "{text}"
    );
    // One a second, as Retry-After said, and none once a wait would outlast the budget.
    let n = sim.requests().len();
    assert!((2..=4).contains(&n), "{n} requests");
}

#[tokio::test]
async fn server_errors_and_resets_on_reads_are_retried() {
    let sim = sim(Fixture::demo()).await;
    sim.inject(FaultRule::on("/Accounts.json", Fault::Status(503), 1));
    sim.inject(FaultRule::on("/Usage/", Fault::Status(500), 2));
    sim.inject(FaultRule::on("/Usage/", Fault::Reset, 1));
    let host = host(&sim).await;
    let list = host
        .list_all(&tenant(&sim, "twilio"), |_| {})
        .await
        .unwrap();
    ids_once(&list, 6);
}

#[tokio::test]
async fn malformed_and_truncated_bodies_fail_clearly() {
    for fault in [Fault::Malformed, Fault::Truncated] {
        let sim = sim(Fixture::demo()).await;
        sim.inject(FaultRule::on("/Accounts.json", fault.clone(), 1));
        let host = host(&sim).await;
        let err = host
            .list_all(&tenant(&sim, "twilio"), |_| {})
            .await
            .unwrap_err();
        assert!(err.kind() == "malformed-response", "{fault:?}: {err}");
        // The host refuses an answer it cannot read before the plugin sees it.
        assert!(
            err.to_string().contains("Accounts.json") && err.to_string().contains("not JSON"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn oversized_bodies_are_cut_off_by_the_host() {
    let sim = sim(Fixture::demo()).await;
    sim.inject(FaultRule::on(
        "/Accounts.json",
        Fault::Oversized(3 << 20),
        1,
    ));
    let limits = Limits {
        max_response_bytes: 1 << 20,
        ..Limits::default()
    };
    let host = host_with(&sim, connector_wasm(), limits).await;
    let err = host
        .list_all(&tenant(&sim, "twilio"), |_| {})
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("exceeds the host's limit")
            || text.contains("exceeded the 1048576 byte limit"),
        "{text}"
    );
}

#[tokio::test]
async fn slow_answers_time_out_with_a_specific_error() {
    let sim = sim(Fixture::demo()).await;
    sim.inject(FaultRule::any(Fault::Delay(Duration::from_secs(3)), 100));
    let limits = Limits {
        request_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let host = host_with(&sim, connector_wasm(), limits).await;
    let err = host
        .list_all(&tenant(&sim, "twilio"), |_| {})
        .await
        .unwrap_err();
    // The host says what timed out and after how long, in words.
    assert!(
        matches!(
            &err,
            CallError::Network {
                failure: connector_host::network::NetworkFailure::Timeout { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().ends_with("timed out after 300 ms"), "{err}");
}

#[tokio::test]
async fn page_link_to_a_foreign_host_is_refused_and_nothing_is_sent_there() {
    let sim = sim(Fixture::demo()).await;
    let (main, _) = sim.main_credentials();
    let page = serde_json::json!({
        "accounts": [{"sid": main, "status": "active", "type": "Full", "friendly_name": "m"}],
        "next_page_uri": "https://evil.example/2010-04-01/Accounts.json?Page=1",
        "page": 0, "page_size": 1000
    });
    sim.inject(FaultRule::on(
        "/Accounts.json",
        Fault::Body(200, page.to_string()),
        1,
    ));
    let host = host(&sim).await;
    let err = host
        .list_all(&tenant(&sim, "twilio"), |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Connector { error: ConnectorError::Refused(m), .. } if m.contains("evil.example")),
        "{err}"
    );
    let reqs = sim.requests();
    assert_eq!(reqs.len(), 1, "only the first page was fetched: {reqs:?}");
    assert!(reqs.iter().all(|r| r.host == "api.twilio.com"));
}

#[tokio::test]
async fn an_api_without_daily_usage_keeps_each_months_end() {
    let sim = sim(Fixture::demo()).await;
    sim.inject(FaultRule::on("/Daily.json", Fault::Status(404), 1000));
    let host = host(&sim).await;
    let list = host
        .list_all(&tenant(&sim, "twilio"), |_| {})
        .await
        .unwrap();
    let b002 = list
        .iter()
        .find(|a| a.id == "AC0000000000000000000000000000b002")
        .unwrap();
    assert_eq!(
        b002.last_activity.as_deref(),
        Some("2025-11-30T00:00:00Z"),
        "the month's end stands without Daily records"
    );
    assert!(
        b002.warnings.iter().any(|w| w.contains("daily usage")),
        "{:?}",
        b002.warnings
    );
}

#[tokio::test]
async fn accounts_whose_usage_is_missing_are_listed_with_a_warning() {
    let sim = sim(Fixture::demo()).await;
    sim.inject(FaultRule::on(
        "AC0000000000000000000000000000b003/Usage",
        Fault::Status(404),
        10,
    ));
    let host = host(&sim).await;
    let list = host
        .list_all(&tenant(&sim, "twilio"), |_| {})
        .await
        .unwrap();
    ids_once(&list, 6);
    let pilot = list
        .iter()
        .find(|a| a.id == "AC0000000000000000000000000000b003")
        .unwrap();
    assert_eq!(pilot.last_activity, None);
    assert!(
        pilot.warnings[0].contains("not readable"),
        "{:?}",
        pilot.warnings
    );
    let other = list
        .iter()
        .find(|a| a.id == "AC0000000000000000000000000000b002")
        .unwrap();
    assert!(other.warnings.is_empty() && other.last_activity.is_some());
}
