//! The host keeps its promises by itself: each attack of the hostile component (built against
//! the same contract) is tried through the real host against an upstream on loopback that
//! answers the abused routes with secrets, and each is refused, audited with the rule that
//! denied it, and followed by an ordinary call the host still serves.

use connector_e2e::{host_with, hostile_wasm, options, sim, tenant};
use connector_host::audit::AuditLog;
use connector_host::{Action, Host, HostOptions, Limits};
use twilio_sim::{Fault, FaultRule, Fixture, Simulator};

const TOKEN: &str = "demo-main-auth-token-0001";

async fn hostile(sim: &Simulator) -> Host {
    host_with(sim, hostile_wasm(), Limits::default()).await
}

async fn run(host: &Host, sim: &Simulator, mode: &str) -> String {
    let t = tenant(sim, "twilio").with_option("mode", mode);
    let page = host
        .list_page(&t, None)
        .await
        .expect("the hostile call returns");
    page.accounts[0].display_name.clone().unwrap_or_default()
}

async fn still_serves(host: &Host, sim: &Simulator) {
    assert_eq!(
        run(host, sim, "ok").await,
        "ok",
        "the host serves the next call"
    );
}

fn writes(sim: &Simulator) -> Vec<String> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

#[tokio::test]
async fn reads_cannot_mint_credentials_or_write_and_each_denial_is_audited() {
    let sim = sim(Fixture::demo()).await;
    let path =
        connector_e2e::target_dir().join(format!("host-promises-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let host = Host::load(
        hostile_wasm(),
        HostOptions {
            audit: Some(AuditLog::open(&path).unwrap()),
            ..options(&sim)
        },
    )
    .await
    .unwrap();
    for mode in ["mint-key", "secondary-token", "write-during-read"] {
        let report = run(&host, &sim, mode).await;
        assert!(report.contains("HttpRequestDenied"), "{mode}: {report}");
        assert!(!report.contains("\"secret\""), "{mode}: {report}");
    }
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
    assert!(
        !sim.requests().iter().any(|r| r.path.contains("/Keys")),
        "nothing reached the Keys route"
    );
    let audit = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).ok();
    for rule in ["read-only-call", "forbidden-route", "host-not-allowed"] {
        assert!(
            audit.contains(&format!("rule {rule}")),
            "{rule} not audited: {audit}"
        );
    }
    still_serves(&host, &sim).await;
}

#[tokio::test]
async fn other_representations_encodings_and_cut_answers_never_reach_the_guest() {
    let sim = sim(Fixture::demo()).await;
    let host = hostile(&sim).await;
    // Another representation is not a route the policy grants: the XML one is never asked for.
    let report = run(&host, &sim, "xml").await;
    assert!(report.contains("HttpRequestDenied"), "{report}");
    assert!(!sim.requests().iter().any(|r| r.path.ends_with(".xml")));
    // An upstream that answers the JSON route with XML, compresses against the host's wish,
    // or cuts a JSON answer right after the token.
    sim.inject(FaultRule::on(
        "/Accounts.json",
        Fault::Body(
            200,
            format!("<Account><AuthToken>{TOKEN}</AuthToken></Account>"),
        ),
        1,
    ));
    let report = run(&host, &sim, "echo").await;
    assert!(report.contains("HttpResponseContentCoding"), "{report}");
    assert!(!report.contains(TOKEN), "{report}");

    sim.inject(FaultRule::on(
        "/Accounts.json",
        Fault::Encoded(
            "gzip".into(),
            format!(r#"{{"accounts":[{{"auth_token":"{TOKEN}"}}]}}"#),
        ),
        1,
    ));
    let report = run(&host, &sim, "gzip").await;
    assert!(
        report.contains("header accept-encoding refused"),
        "{report}"
    );
    assert!(report.contains("HttpResponseContentCoding"), "{report}");
    assert!(!report.contains(TOKEN), "{report}");

    sim.inject(FaultRule::on(
        "/Accounts.json",
        Fault::Body(
            200,
            format!(r#"{{"accounts":[{{"sid":"AC1","auth_token":"{TOKEN}""#),
        ),
        1,
    ));
    let report = run(&host, &sim, "echo").await;
    assert!(
        !report.contains(TOKEN),
        "a truncated answer leaked: {report}"
    );
    still_serves(&host, &sim).await;
}

#[tokio::test]
async fn trace_and_ranges_are_refused_and_echoed_secrets_blanked_in_any_encoding() {
    use base64::Engine as _;
    let sim = sim(Fixture::demo()).await;
    let host = hostile(&sim).await;
    let report = run(&host, &sim, "trace").await;
    assert!(report.contains("HttpRequestDenied"), "{report}");
    assert!(!sim.requests().iter().any(|r| r.method == "TRACE"));
    let report = run(&host, &sim, "range").await;
    assert!(report.contains("header range refused"), "{report}");

    let (sid, token) = sim.main_credentials();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"));
    sim.inject(FaultRule::on(
        "/Accounts.json",
        Fault::Body(
            200,
            format!(r#"{{"echo":"Basic {basic}","raw":"{token}","secret":"sk-secret","secondary_auth_token":"second"}}"#),
        ),
        1,
    ));
    let report = run(&host, &sim, "echo").await;
    for leaked in [basic.as_str(), token.as_str(), "sk-secret", "second\""] {
        assert!(!report.contains(leaked), "{leaked} in {report}");
    }
    still_serves(&host, &sim).await;
}

#[tokio::test]
async fn a_plugin_that_ignores_dry_run_cannot_write_nor_close_the_connecting_account() {
    let sim = sim(Fixture::demo()).await;
    let host = hostile(&sim).await;
    let t = tenant(&sim, "twilio");
    for dry_run in [true, false] {
        let r = host
            .act(
                &t,
                Action::Suspend,
                "AC0000000000000000000000000000b001",
                dry_run,
            )
            .await
            .unwrap();
        assert!(r.message.contains("HttpRequestDenied"), "{r:?}");
    }
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
    let status = sim.with_fixture(|f| f.accounts[0]["status"].clone());
    assert_eq!(status, "active", "the connecting account is untouched");
    still_serves(&host, &sim).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_text_reaches_the_terminal_without_control_characters() {
    let sim = sim(Fixture::demo()).await;
    let addr = sim.addr().to_string();
    let plugin = hostile_wasm().to_str().unwrap().to_string();
    for args in [
        vec!["apps", "--plugin", &plugin],
        vec!["check", "--plugin", &plugin, "--connect-to", &addr],
    ] {
        let out = connector_e2e::run_cli(&sim, None, &args);
        let all = [out.stdout.clone(), out.stderr.clone()].concat();
        assert!(
            !all.iter().any(|b| *b == 0x1b || *b == 0x07 || *b == b'\r'),
            "{args:?}: {}",
            connector_e2e::text(&all)
        );
        assert!(
            connector_e2e::text(&all).contains("\\u{1b}"),
            "{args:?}: shown escaped"
        );
    }
}

#[tokio::test]
async fn a_cached_artifact_is_used_only_if_this_host_signed_it_for_this_component() {
    use connector_host::EngineCache;
    let dir = connector_e2e::target_dir().join(format!("cache-integrity-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let opts = || HostOptions {
        cache_dir: Some(dir.clone()),
        vendor_policy: connector_e2e::vendor_policy(),
        ..HostOptions::default()
    };
    let entries = || -> std::collections::BTreeSet<std::path::PathBuf> {
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
            .collect()
    };
    let connector = connector_e2e::connector_wasm();
    Host::load(connector, opts()).await.unwrap();
    let ours = entries().into_iter().next().unwrap();
    Host::load(hostile_wasm(), opts()).await.unwrap();
    let theirs = entries().into_iter().find(|p| *p != ours).unwrap();

    // The hostile component's own, validly signed artifact put under the connector's name.
    std::fs::copy(&theirs, &ours).unwrap();
    let h = Host::load(connector, opts()).await.unwrap();
    assert_eq!(
        h.cache(),
        EngineCache::Compiled,
        "the swapped artifact was not used"
    );
    assert_eq!(h.info().name, "twilio-governance-connector");

    // A raw precompiled artifact of the hostile component, without this host's MAC.
    let engine = connector_host::engine::new_engine(&Limits::default()).unwrap();
    let raw = engine
        .precompile_component(&std::fs::read(hostile_wasm()).unwrap())
        .unwrap();
    std::fs::write(&ours, raw).unwrap();
    let h = Host::load(connector, opts()).await.unwrap();
    assert_eq!(h.cache(), EngineCache::Compiled);
    assert_eq!(h.info().name, "twilio-governance-connector");
    // And the connector's own entry, rewritten just now, is used again.
    assert_eq!(
        Host::load(connector, opts()).await.unwrap().cache(),
        EngineCache::Cached
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn without_a_home_nothing_is_cached_in_a_shared_directory() {
    let tmp = connector_e2e::target_dir().join(format!("no-home-tmp-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for _ in 0..2 {
        let out = std::process::Command::new(connector_e2e::connector_bin())
            .args([
                "apps",
                "--plugin",
                connector_e2e::connector_wasm().to_str().unwrap(),
            ])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TMPDIR", &tmp)
            .output()
            .unwrap();
        let text = connector_e2e::text(&out.stdout);
        assert!(out.status.success(), "{}", connector_e2e::text(&out.stderr));
        assert!(text.contains("compiled now"), "{text}");
    }
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "nothing was written to the temporary directory"
    );
    std::fs::remove_dir_all(&tmp).ok();
}

#[tokio::test]
async fn only_declared_routes_go_out_and_released_contracts_keep_loading() {
    let sim = sim(Fixture::demo()).await;
    // A route the hostile app never declared, on a host it did.
    let host = hostile(&sim).await;
    let report = run(&host, &sim, "undeclared").await;
    assert!(report.contains("HttpRequestDenied"), "{report}");
    assert!(
        !sim.requests()
            .iter()
            .any(|r| r.path.ends_with("/Records.json"))
    );
    still_serves(&host, &sim).await;

    // A plugin built against the frozen 0.1.0 contract loads, reads, and may not write.
    let legacy = host_with(&sim, connector_e2e::legacy_wasm(), Limits::default()).await;
    assert_eq!(
        legacy.contract_version(),
        connector_host::bindings::ContractVersion::V0_1_0
    );
    assert_eq!(legacy.info().name, "legacy");
    let t = tenant(&sim, "twilio");
    let page = legacy.list_page(&t, None).await.unwrap();
    assert_eq!(
        page.accounts[0].display_name.as_deref(),
        Some("accounts answered 200")
    );
    let r = legacy
        .act(
            &t,
            Action::Suspend,
            "AC0000000000000000000000000000b001",
            false,
        )
        .await
        .unwrap();
    assert!(r.message.contains("HttpRequestDenied"), "{r:?}");
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
    // A plugin of the frozen 0.2.0 contract loads, reads and writes along its declared routes.
    let v2 = host_with(&sim, connector_e2e::legacy_v0_2_0_wasm(), Limits::default()).await;
    assert_eq!(
        v2.contract_version(),
        connector_host::bindings::ContractVersion::V0_2_0
    );
    assert_eq!(v2.info().apps[0].routes.len(), 2);
    let page = v2.list_page(&t, None).await.unwrap();
    assert_eq!(
        page.accounts[0].display_name.as_deref(),
        Some("accounts answered 200")
    );
    let r = v2
        .act(
            &t,
            Action::Suspend,
            "AC0000000000000000000000000000b001",
            false,
        )
        .await
        .unwrap();
    assert!(r.changed, "{r:?}");
    assert_eq!(
        writes(&sim),
        vec!["POST /2010-04-01/Accounts/AC0000000000000000000000000000b001.json"]
    );
    // A plugin of the frozen 0.3.0 contract (whose world imports wasi:keyvalue/store, which it
    // never opens) loads, reads and writes along its declared routes as well.
    let v3 = host_with(&sim, connector_e2e::legacy_v0_3_0_wasm(), Limits::default()).await;
    assert_eq!(
        v3.contract_version(),
        connector_host::bindings::ContractVersion::V0_3_0
    );
    assert_eq!(v3.contract_version().name(), "0.3.0");
    assert_eq!(v3.info().name, "legacy");
    assert_eq!(v3.info().version, "0.3.0");
    assert_eq!(v3.info().apps[0].routes.len(), 2);
    let page = v3.list_page(&t, None).await.unwrap();
    assert_eq!(
        page.accounts[0].display_name.as_deref(),
        Some("accounts answered 200")
    );
    let r = v3
        .act(
            &t,
            Action::Suspend,
            "AC0000000000000000000000000000b002",
            false,
        )
        .await
        .unwrap();
    assert!(r.changed, "{r:?}");
    assert_eq!(
        writes(&sim),
        vec![
            "POST /2010-04-01/Accounts/AC0000000000000000000000000000b001.json",
            "POST /2010-04-01/Accounts/AC0000000000000000000000000000b002.json",
        ]
    );
    // Our own component implements the latest version.
    let ours = connector_e2e::host(&sim).await;
    assert_eq!(
        ours.contract_version(),
        connector_host::bindings::ContractVersion::V0_4_0
    );
    assert!(ours.info().apps.iter().all(|a| !a.routes.is_empty()));
}

/// The host process's resident memory, in MiB.
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

#[tokio::test]
async fn a_guest_cannot_make_the_host_hold_memory_or_draw_unbounded_randomness() {
    let sim = sim(Fixture::demo()).await;
    let host = hostile(&sim).await;
    let before = rss_mib();
    let t = tenant(&sim, "twilio").with_option("mode", "fields");
    let outcome = host.list_page(&t, None).await;
    let after = rss_mib();
    // Bounded by design: 16 KiB per header map, 4096 resources per call.
    assert!(
        after.saturating_sub(before) < 200,
        "the host grew by {} MiB ({outcome:?})",
        after.saturating_sub(before)
    );
    match outcome {
        Ok(page) => {
            let report = page.accounts[0].display_name.clone().unwrap_or_default();
            assert!(report.contains("stopped: append 0"), "{report}");
        }
        Err(e) => assert_eq!(e.kind(), "plugin-stopped", "{e}"),
    }
    still_serves(&host, &sim).await;

    let t = tenant(&sim, "twilio").with_option("mode", "many-fields");
    let err = host.list_page(&t, None).await.unwrap_err();
    assert!(
        matches!(
            &err,
            connector_host::CallError::Limit {
                limit: connector_host::LimitExceeded::Resources { .. },
                ..
            }
        ),
        "{err}"
    );
    still_serves(&host, &sim).await;

    let t = tenant(&sim, "twilio").with_option("mode", "random");
    let err = host.list_page(&t, None).await.unwrap_err();
    assert_eq!(err.kind(), "plugin-stopped", "{err}");
    still_serves(&host, &sim).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_can_narrow_the_vendor_policy_but_not_widen_it() {
    let sim = sim(Fixture::demo()).await;
    let addr = sim.addr().to_string();
    let run_with = |trusted: &str, app: &str| {
        let (sid, token) = sim.main_credentials();
        std::process::Command::new(connector_e2e::connector_bin())
            .args(["accounts", "--app", app, "--connect-to", &addr, "--json"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CONNECTOR_CACHE_DIR", connector_e2e::cache_dir())
            .env("TWILIO_ACCOUNT_SID", sid)
            .env("TWILIO_AUTH_TOKEN", token)
            .env("CONNECTOR_TRUSTED_HOSTS", trusted)
            .output()
            .unwrap()
    };
    // Only api.twilio.com: the twilio app works, Flex's hosts are refused.
    let out = run_with("api.twilio.com,evil.example", "twilio");
    assert!(out.status.success(), "{}", connector_e2e::text(&out.stderr));
    let out = run_with("api.twilio.com,evil.example", "flex");
    assert!(!out.status.success());
    let err = connector_e2e::text(&out.stderr);
    assert!(
        err.contains("host-not-allowed") || err.contains("not an allowed host"),
        "{err}"
    );
    assert!(
        !sim.requests()
            .iter()
            .any(|r| r.host == "taskrouter.twilio.com")
    );
}
