//! A rate limit never sinks a sync: the real component in the real host against the simulator's
//! throttling (refusals in a row, a periodic 429, Twilio's limit on concurrent requests per
//! account), each sync complete and equal to one that was never throttled; and one account's
//! limit is shared by every call for it in one host.

use connector_e2e::{options, sim, tenant};
use connector_host::types::Account;
use connector_host::{Host, Tenant};
use std::sync::Arc;
use std::time::Duration;
use twilio_sim::{Fault, FaultRule, Fixture, Simulator};

/// A fresh host (so a fresh gate per account) aimed at `sim`.
async fn fresh_host(sim: &Simulator) -> Arc<Host> {
    let host = Host::load(connector_e2e::connector_wasm(), options(sim))
        .await
        .expect("plugin loads");
    Arc::new(host)
}

/// A full sync: the tenant's kept state forgotten first, so every read is made again.
async fn full_sync(host: &Host, t: &Tenant) -> Vec<Account> {
    host.clear_state(t).await.expect("state cleared");
    host.list_all(t, |_| {}).await.expect("the sync completes")
}

/// The accounts of an unthrottled full sync of `fixture`, on a simulator of its own.
async fn unthrottled(fixture: Fixture) -> Vec<Account> {
    let clean = sim(fixture).await;
    let host = fresh_host(&clean).await;
    let list = full_sync(&host, &tenant(&clean, "twilio")).await;
    assert_eq!(throttled(&clean), 0);
    list
}

/// Another customer's tenant that names `sim`'s account with a secret of its own.
fn impostor(sim: &Simulator) -> Tenant {
    Tenant::new(
        "impostor",
        "twilio",
        connector_host::Credentials::AuthToken {
            account_sid: sim.main_credentials().0,
            auth_token: "not-the-accounts-token".into(),
        },
    )
}

/// Requests the simulator answered 429.
fn throttled(sim: &Simulator) -> usize {
    sim.requests().iter().filter(|r| r.status == 429).count()
}

#[tokio::test]
async fn a_request_refused_eight_times_in_a_row_is_retried_until_it_goes_through() {
    let fixture = || Fixture::generate(20, 5);
    let expected = unthrottled(fixture()).await;
    let sim = sim(fixture()).await;
    let refusal = Fault::RateLimit {
        retry_after_secs: Some(0),
    };
    // The one request of the accounts listing (one page), refused eight times in a row.
    sim.inject(FaultRule::on("/Accounts.json", refusal, 8));
    let host = fresh_host(&sim).await;
    let list = full_sync(&host, &tenant(&sim, "twilio")).await;
    assert_eq!(list, expected);
    let listing: Vec<u16> = sim
        .requests()
        .iter()
        .filter(|r| r.path == "/2010-04-01/Accounts.json")
        .map(|r| r.status)
        .collect();
    assert_eq!(listing, [[429; 8].as_slice(), &[200]].concat());
}

#[tokio::test]
async fn every_third_request_refused_never_sinks_a_sync() {
    let fixture = || Fixture::generate(4, 13);
    let expected = unthrottled(fixture()).await;
    let sim = sim(fixture()).await;
    sim.faults().rate_limit_every = 3;
    let host = fresh_host(&sim).await;
    let t = tenant(&sim, "twilio");
    for run in 0..20 {
        assert_eq!(full_sync(&host, &t).await, expected, "sync {run}");
    }
    let (all, refused) = (sim.requests().len(), throttled(&sim));
    assert!(refused * 3 >= all - 2, "{refused} of {all} refused");
}

/// Where a new account's gate starts: the Twilio policy's first burst.
fn first_burst() -> usize {
    connector_e2e::vendor_policy().first_in_flight()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_twilios_concurrency_limit_a_sync_is_exact_and_rarely_throttled() {
    // 1,000 subaccounts against an account allowed 8 at once, far below the first burst a
    // new gate rises to: its excess is refused once, the limit is learned, and the sync is
    // exact with at most a tenth of its requests refused.
    let fixture = || Fixture::generate(1000, 17);
    let expected = unthrottled(fixture()).await;
    let sim = sim(fixture()).await;
    sim.faults().latency = Duration::from_millis(10);
    let limit = 8;
    sim.faults().concurrency_limit = Some(limit);
    let host = fresh_host(&sim).await;
    let t = tenant(&sim, "twilio");
    let list = full_sync(&host, &t).await;
    assert_eq!(list, expected);
    let all = sim.requests().len();
    let refused = sim.concurrency_stats().throttled as usize;
    assert_eq!(refused, throttled(&sim), "only the limit refused anything");
    assert!(refused * 10 <= all, "{refused} of {all} requests throttled");
    let learned = host.account_in_flight_limit(&t);
    assert!((limit..=limit + 2).contains(&learned), "learned {learned}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_for_one_account_share_its_limit() {
    let fixture = || Fixture::generate(60, 19);
    let expected = unthrottled(fixture()).await;
    let sim = sim(fixture()).await;
    sim.faults().latency = Duration::from_millis(20);
    let limit = 8;
    sim.faults().concurrency_limit = Some(limit);
    let host = fresh_host(&sim).await;
    let t = tenant(&sim, "twilio");
    // One sync teaches the host the account's limit (the simulator reports its count)...
    assert_eq!(full_sync(&host, &t).await, expected);
    let learned = host.account_in_flight_limit(&t);
    assert!((limit..=limit + 2).contains(&learned), "learned {learned}");
    // ...which two tenants of the same account, synced at once, then share: each call on its
    // own would offer what the account allows, and about a quarter of their requests would be
    // refused.
    sim.clear_requests();
    let twins: Vec<Tenant> = ["one", "two"]
        .into_iter()
        .map(|name| Tenant {
            name: name.into(),
            ..t.clone()
        })
        .collect();
    for r in host.sync_tenants(twins, 2).await {
        let list = r.result.expect("each sync completes");
        assert_eq!(list, expected, "{}", r.tenant);
    }
    let (all, refused) = (sim.requests().len(), throttled(&sim));
    assert_eq!(refused as u64, sim.concurrency_stats().throttled);
    assert!(refused * 20 <= all, "{refused} of {all} requests throttled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_that_only_names_an_account_shares_nothing_with_its_gate() {
    let sim = sim(Fixture::generate(30, 23)).await;
    sim.faults().latency = Duration::from_millis(10);
    sim.faults().concurrency_limit = Some(6);
    let host = fresh_host(&sim).await;
    let real = tenant(&sim, "twilio");
    full_sync(&host, &real).await;
    let learned = host.account_in_flight_limit(&real);
    assert!(learned < first_burst(), "learned {learned}");
    // Another customer's tenant that names this account with a secret of its own.
    let impostor = impostor(&sim);
    assert!(host.list_all(&impostor, |_| {}).await.is_err());
    assert_eq!(
        host.account_in_flight_limit(&impostor),
        connector_host::upstream_gate::INITIAL,
        "a gate of its own, not the account's, never raised to the first burst by a success"
    );
    assert_eq!(
        host.account_in_flight_limit(&real),
        learned,
        "taught nothing"
    );
    assert_eq!(full_sync(&host, &real).await.len(), 31);
}

/// The hostile component's `burst`: 40 reads of the account list started at once; what came
/// back, as `status×count`.
async fn burst(host: &Host, t: &Tenant) -> String {
    let page = host
        .list_page(&t.clone().with_option("mode", "burst"), None)
        .await
        .expect("the burst call returns its report");
    page.accounts[0].display_name.clone().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_ignores_every_limit_is_held_to_the_accounts_gate_and_an_impostor_teaches_it_nothing()
 {
    let sim = sim(Fixture::generate(5, 29)).await;
    sim.faults().latency = Duration::from_millis(30);
    let limit = 6;
    sim.faults().concurrency_limit = Some(limit);
    let host = Host::load(connector_e2e::hostile_wasm(), options(&sim))
        .await
        .expect("the hostile plugin loads");
    let real = tenant(&sim, "twilio");
    // Its first burst goes out as far as a new gate lets it and is mostly throttled; the
    // gate learns the account's limit from the upstream's count.
    let first = burst(&host, &real).await;
    assert!(first.contains("429×"), "{first}");
    assert!(
        sim.max_concurrent() <= connector_host::upstream_gate::INITIAL as u64,
        "a new gate lets {} through at once",
        sim.max_concurrent()
    );
    let learned = host.account_in_flight_limit(&real);
    assert!((limit..=limit + 2).contains(&learned), "learned {learned}");
    // From then on, 40 requests started at once reach the upstream no more than the gate
    // allows (one more when it probes), however the plugin asks.
    for _ in 0..3 {
        sim.clear_requests();
        let report = burst(&host, &real).await;
        assert!(report.contains("200×"), "{report}");
        assert!(
            sim.max_concurrent() <= learned as u64 + 1,
            "{} in flight at once under a gate of {learned}: {report}",
            sim.max_concurrent()
        );
    }
    let learned = host.account_in_flight_limit(&real);
    // A tenant that only names the account (another customer's, with a secret of its own)
    // bursts too while the account is busier (the upstream now lets 3 through): the upstream
    // refuses it, and the account's gate learns nothing from what it was told.
    sim.faults().concurrency_limit = Some(3);
    let impostor = impostor(&sim);
    for _ in 0..3 {
        let report = burst(&host, &impostor).await;
        assert!(!report.contains("200×"), "{report}");
    }
    assert_eq!(
        host.account_in_flight_limit(&real),
        learned,
        "the impostor's answers taught the account's gate"
    );
    sim.faults().concurrency_limit = Some(limit);
    sim.clear_requests();
    let report = burst(&host, &real).await;
    assert!(report.contains("200×"), "{report}");
    assert!(sim.max_concurrent() <= learned as u64 + 1, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_accounts_gate_lets_out_the_first_burst_only_after_a_success_and_never_more() {
    let sim = sim(Fixture::generate(5, 37)).await;
    sim.faults().latency = Duration::from_millis(30);
    let limit = 6;
    // A call cap far above the first burst, so only the account's gate holds the plugin back.
    let opts = connector_host::HostOptions {
        limits: connector_host::Limits {
            max_in_flight: 256,
            ..connector_host::Limits::default()
        },
        ..options(&sim)
    };
    let host = Host::load(connector_e2e::hostile_wasm(), opts)
        .await
        .expect("the hostile plugin loads");
    let real = tenant(&sim, "twilio");
    let burst_of = |n: &str| {
        let t = real
            .clone()
            .with_option("mode", "burst")
            .with_option("burst", n);
        let host = &host;
        async move {
            let page = host.list_page(&t, None).await.expect("the burst returns");
            page.accounts[0].display_name.clone().unwrap_or_default()
        }
    };
    // A tenant that names the account with a secret of its own starts 150 reads at once,
    // with no limit upstream to refuse them: all are refused as unauthenticated, none proves
    // its credentials, and no more than INITIAL are ever out at once.
    let impostor = impostor(&sim)
        .with_option("mode", "burst")
        .with_option("burst", "150");
    sim.clear_requests();
    let page = host
        .list_page(&impostor, None)
        .await
        .expect("the burst returns");
    let report = page.accounts[0].display_name.clone().unwrap_or_default();
    assert!(!report.contains("200×"), "{report}");
    let initial = connector_host::upstream_gate::INITIAL;
    assert!(
        sim.max_concurrent() <= initial as u64,
        "{} of the impostor's reads out at once: {report}",
        sim.max_concurrent()
    );
    assert_eq!(host.account_in_flight_limit(&impostor), initial);
    sim.faults().concurrency_limit = Some(limit);
    // One read answered: the credentials are good, and the gate rises to the first burst.
    assert_eq!(burst_of("1").await, "200×1");
    assert_eq!(host.account_in_flight_limit(&real), first_burst());
    // 150 reads started at once: the first burst goes out, the upstream refuses all but its
    // limit of them, and the rest wait for the limit the refusals taught.
    sim.clear_requests();
    let report = burst_of("150").await;
    assert!(report.contains("429×"), "{report}");
    let refused = throttled(&sim);
    assert!(
        refused <= first_burst() - limit,
        "{refused} refused of 150 started at once: {report}"
    );
    let learned = host.account_in_flight_limit(&real);
    assert!((limit..=limit + 2).contains(&learned), "learned {learned}");
}

/// Every file under `dir`, read whole.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            out.push((path, bytes));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_host_on_the_same_state_starts_at_the_accounts_learned_limit_and_an_impostor_changes_none_of_it()
 {
    let sim = sim(Fixture::generate(5, 31)).await;
    sim.faults().latency = Duration::from_millis(30);
    let limit = 6;
    sim.faults().concurrency_limit = Some(limit);
    let dir =
        connector_e2e::target_dir().join(format!("test-remembered-limits-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let load = || async {
        let options = connector_host::HostOptions {
            state_dir: Some(dir.clone()),
            ..options(&sim)
        };
        Host::load(connector_e2e::hostile_wasm(), options)
            .await
            .expect("the hostile plugin loads")
    };
    let real = tenant(&sim, "twilio");
    // The first process learns the account's limit from the upstream's throttles.
    let learned = {
        let host = load().await;
        let first = burst(&host, &real).await;
        assert!(first.contains("429×"), "{first}");
        host.account_in_flight_limit(&real)
    };
    assert!((limit..=limit + 2).contains(&learned), "learned {learned}");
    // What it keeps names the account, never its secret.
    let (_, token) = sim.main_credentials();
    let kept = files_under(&dir);
    assert!(
        !kept.is_empty(),
        "the learned limit is kept under the state directory"
    );
    for (path, bytes) in &kept {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains(&token),
            "{} holds the secret",
            path.display()
        );
    }
    // A later process starts at it before its first request: 40 reads started at once by a
    // plugin that ignores every limit reach the upstream no more than the account allows,
    // where a new gate lets them all out at once and most are refused.
    sim.clear_requests();
    let host = load().await;
    assert_eq!(host.account_in_flight_limit(&real), learned);
    let report = burst(&host, &real).await;
    assert!(report.contains("200×"), "{report}");
    assert!(
        sim.max_concurrent() <= learned as u64,
        "{} in flight at once after the account's gate learned {learned}: {report}",
        sim.max_concurrent()
    );
    assert!(
        throttled(&sim) <= learned - limit,
        "{} refused: {report}",
        throttled(&sim)
    );
    drop(host);
    // Another customer's tenant that names the account, while the upstream lets 3 through,
    // learns a limit of its own in a process of its own; the account's next process still
    // starts at what the account's gate learned.
    sim.faults().concurrency_limit = Some(3);
    let impostor = impostor(&sim);
    {
        let host = load().await;
        for _ in 0..3 {
            let report = burst(&host, &impostor).await;
            assert!(!report.contains("200×"), "{report}");
        }
    }
    sim.faults().concurrency_limit = Some(limit);
    let host = load().await;
    assert_eq!(
        host.account_in_flight_limit(&real),
        learned,
        "the impostor's answers changed what the account's gate remembers"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
