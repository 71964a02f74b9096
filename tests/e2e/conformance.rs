//! `connector conformance` passes on our component and fails, naming the checks, on the
//! hostile one.

use connector_conformance as conformance;
use connector_e2e::{cache_dir, connector_bin, connector_wasm, hostile_wasm};

#[tokio::test]
async fn our_component_passes_every_check() {
    let report = conformance::run(connector_wasm(), Some(cache_dir()))
        .await
        .unwrap();
    let failures: Vec<_> = report
        .failures()
        .iter()
        .map(|c| format!("{}: expected {}, seen {}", c.name, c.expected, c.seen))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(report.checks.len() >= 40, "{} checks", report.checks.len());
}

#[tokio::test]
async fn the_hostile_component_fails_named_checks() {
    let report = conformance::run(hostile_wasm(), Some(cache_dir()))
        .await
        .unwrap();
    let failed: Vec<_> = report.failures().iter().map(|c| c.name.clone()).collect();
    for expected in [
        "no request leaves the declared hosts",
        "twilio: declares its hosts",
        "twilio: every page's items are kept",
        "twilio: bad credentials are typed unauthorized",
    ] {
        assert!(
            failed.iter().any(|f| f == expected),
            "{expected} not among {failed:?}"
        );
    }
}

#[tokio::test]
async fn a_component_that_declares_ungranted_routes_fails_to_load() {
    let report = conformance::run(connector_e2e::greedy_wasm(), Some(cache_dir()))
        .await
        .unwrap();
    let failures = report.failures();
    let load = failures
        .iter()
        .find(|c| c.name == "plugin loads")
        .unwrap_or_else(|| panic!("it loaded: {:?}", report.checks));
    assert!(
        load.seen.contains("IncomingPhoneNumbers/{PN}.json") && load.seen.contains("/v1/Services"),
        "{}",
        load.seen
    );
}

#[test]
fn the_cli_exit_code_follows_the_result() {
    let run = |plugin: &std::path::Path| {
        std::process::Command::new(connector_bin())
            .args(["conformance", "--plugin", plugin.to_str().unwrap()])
            .env("CONNECTOR_CACHE_DIR", cache_dir())
            .output()
            .unwrap()
    };
    let good = run(connector_wasm());
    let text = String::from_utf8_lossy(&good.stdout);
    assert!(good.status.success(), "{text}");
    assert!(text.contains("PASS  twilio: the connecting account is protected"));
    let bad = run(hostile_wasm());
    let text = String::from_utf8_lossy(&bad.stdout);
    assert!(!bad.status.success());
    assert!(
        text.contains("FAIL  twilio: declares its hosts") && text.contains("evil.example"),
        "{text}"
    );
}
