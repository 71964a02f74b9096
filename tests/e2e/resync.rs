//! Incremental re-syncs from the tenant's kept state: a re-sync a day later reads the account
//! list and, per account, only the Daily usage since the last sync, and reports exactly what a
//! full sync of the same data reports.

use connector_e2e::{connector_wasm, options, sim, tenant};
use connector_host::types::Account;
use connector_host::{Host, HostOptions};
use serde_json::json;
use std::path::{Path, PathBuf};
use twilio_sim::Fixture;

fn state_dir(name: &str) -> PathBuf {
    connector_e2e::scratch_dir(&format!("state-{name}"))
}

async fn host_on(sim: &twilio_sim::Simulator, day: &str, state: &Path) -> Host {
    let opts = HostOptions {
        now: Some(format!("{day}T12:00:00Z").parse().unwrap()),
        state_dir: Some(state.to_path_buf()),
        ..options(sim)
    };
    Host::load(connector_wasm(), opts).await.unwrap()
}

fn sorted(mut list: Vec<Account>) -> Vec<Account> {
    list.sort_by(|a, b| a.id.cmp(&b.id));
    list
}

/// What a full sync on `day` reports of the same data (no kept state), sorted.
async fn full_sync(sim: &twilio_sim::Simulator, day: &str, name: &str) -> Vec<Account> {
    let fresh = state_dir(name);
    let t = tenant(sim, "twilio");
    let full = host_on(sim, day, &fresh)
        .await
        .list_all(&t, |_| {})
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(fresh);
    sorted(full)
}

#[tokio::test]
async fn a_resync_a_day_later_reads_little_and_equals_a_full_sync() {
    let sim = sim(Fixture::generate(300, 7)).await;
    let t = tenant(&sim, "twilio");
    let kept = state_dir("resync");

    // Day 1: a full sync, which keeps each account's usage.
    let first = host_on(&sim, "2025-12-30", &kept).await;
    let day1 = first.list_all(&t, |_| {}).await.unwrap();
    assert!(!first.state(&t).await.unwrap().is_empty(), "usage was kept");

    // Overnight, new usage: new days of known services, a new service, and late usage of the
    // day of the first sync (which Twilio may still have been filling).
    let subs: Vec<String> = sim.with_fixture(|f| {
        f.accounts
            .iter()
            .filter_map(|a| a["sid"].as_str())
            .filter(|s| *s != f.main_account_sid)
            .map(str::to_string)
            .collect()
    });
    sim.update_fixture(|f| {
        for (i, sid) in subs.iter().enumerate().take(40) {
            let (category, day) = match i % 3 {
                0 => ("sms-outbound", "2025-12-31"),
                1 => ("verify-sms", "2025-12-31"),
                _ => ("calls-inbound", "2025-12-30"),
            };
            f.usage_records.entry(sid.clone()).or_default().push(json!({
                "category": category, "end_date": day, "price": "0.75"
            }));
        }
    });

    // Day 2: the re-sync.
    sim.clear_requests();
    let second = host_on(&sim, "2025-12-31", &kept).await;
    let resync = sorted(second.list_all(&t, |_| {}).await.unwrap());
    let requests = sim.requests();
    let per_account = requests.len() as f64 / resync.len() as f64;
    assert!(
        per_account <= 1.2,
        "{} requests for {} accounts ({per_account:.3} per account)",
        requests.len(),
        resync.len()
    );
    assert!(
        !requests.iter().any(|r| r.path.ends_with("/Monthly.json")),
        "a re-sync reads no Monthly usage"
    );
    assert!(
        requests
            .iter()
            .filter(|r| r.path.ends_with("/Daily.json"))
            .all(|r| r.query.contains("StartDate=2025-12-29&EndDate=2025-12-31")),
        "Daily usage since the day before the last sync"
    );

    // The same data, synced in full (no kept state), gives exactly the same accounts.
    assert_eq!(resync, full_sync(&sim, "2025-12-31", "resync-full").await);
    // And the new usage shows: the re-sync did not just repeat day 1.
    assert_ne!(resync, sorted(day1));
    let _ = std::fs::remove_dir_all(kept);
}

#[tokio::test]
async fn clearing_the_state_forces_a_full_sync() {
    let sim = sim(Fixture::generate(20, 3)).await;
    let t = tenant(&sim, "twilio");
    let kept = state_dir("clear");
    let host = host_on(&sim, "2025-12-30", &kept).await;
    host.list_all(&t, |_| {}).await.unwrap();
    sim.clear_requests();
    host.list_all(&t, |_| {}).await.unwrap();
    let monthly = |sim: &twilio_sim::Simulator| {
        sim.requests()
            .iter()
            .filter(|r| r.path.ends_with("/Monthly.json"))
            .count()
    };
    assert_eq!(monthly(&sim), 0, "the second sync is incremental");
    assert!(host.clear_state(&t).await.unwrap());
    sim.clear_requests();
    let all = host.list_all(&t, |_| {}).await.unwrap();
    assert_eq!(
        monthly(&sim),
        all.len(),
        "after a reset every account is read in full"
    );
    let _ = std::fs::remove_dir_all(kept);
}

#[tokio::test]
async fn a_resync_reads_known_accounts_usage_while_the_account_page_is_read() {
    let sim = sim(Fixture::generate(12, 11)).await;
    let t = tenant(&sim, "twilio");
    let kept = state_dir("early");
    // One subaccount opens after day 1, another (an active one) is no longer listed on day 2.
    let (joiner, leaver) = sim.with_fixture(|f| {
        let n = f.accounts.len();
        let leaver = f.accounts[1..n - 1]
            .iter()
            .rev()
            .find(|a| a["status"] == "active")
            .expect("an active subaccount")
            .clone();
        (f.accounts[n - 1].clone(), leaver)
    });
    let sid_of = |a: &serde_json::Value| a["sid"].as_str().unwrap().to_string();
    let (joiner_sid, leaver_sid) = (sid_of(&joiner), sid_of(&leaver));
    // Twilio refuses a suspended or closed subaccount's usage (20003): on day 2 that is still a
    // warning, not a failure, whether the refusal or the page comes first (the unit test
    // `an_early_read_is_judged_by_the_status_the_page_gives` fixes the order).
    sim.update_fixture(|f| {
        f.accounts.retain(|a| a["sid"] != joiner["sid"]);
        f.behaviour.refuse_inactive_usage = true;
    });
    let day1 = host_on(&sim, "2025-12-30", &kept).await;
    day1.list_all(&t, |_| {}).await.unwrap();
    let leaver_key = format!("usage/{leaver_sid}");
    let kept_of =
        |b: &connector_host::state::bucket::Bucket| b.get(&leaver_key).map(<[u8]>::to_vec);
    let leaver_kept = kept_of(&day1.state(&t).await.unwrap());
    assert!(leaver_kept.is_some(), "day 1 kept the leaver's usage");

    sim.update_fixture(|f| {
        f.accounts.retain(|a| a["sid"] != leaver["sid"]);
        f.accounts.push(joiner.clone());
    });
    sim.clear_requests();
    sim.faults().latency = std::time::Duration::from_millis(150);
    // What the account no longer listed answers is not this sync's concern.
    sim.faults().rules.push_back(twilio_sim::FaultRule::on(
        &format!("{leaver_sid}/Usage"),
        twilio_sim::Fault::Malformed,
        1,
    ));
    let day2 = host_on(&sim, "2025-12-31", &kept).await;
    let resync = sorted(day2.list_all(&t, |_| {}).await.unwrap());
    sim.faults().latency = std::time::Duration::ZERO;
    let after = day2.state(&t).await.unwrap();
    assert_eq!(
        kept_of(&after),
        leaver_kept,
        "what is kept of an account the sync no longer lists is left as it was"
    );
    // What was read early of the accounts the page lists is kept for the next sync.
    for a in resync.iter().filter(|a| a.warnings.is_empty()) {
        let kept = after.get(&format!("usage/{}", a.id)).unwrap_or_default();
        assert!(
            String::from_utf8_lossy(kept).contains("\"as_of\":\"2025-12-31\""),
            "{} is kept as of day 2",
            a.id
        );
    }
    let requests = sim.requests();
    let page = requests
        .iter()
        .find(|r| r.path.ends_with("/Accounts.json"))
        .expect("the account list was read");
    let daily: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/Daily.json"))
        .collect();
    assert!(!daily.is_empty());
    assert!(
        daily.iter().any(|r| r.received < page.answered),
        "the kept accounts' usage is read while the account page is, not after it"
    );
    // The new account is read in full; the one no longer listed is not reported.
    assert!(
        requests.iter().any(|r| r
            .path
            .ends_with(&format!("{joiner_sid}/Usage/Records/Monthly.json"))),
        "the new account's whole history is read"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.path.contains(&format!("{leaver_sid}/Usage")) && r.received < page.answered),
        "the account the last sync listed was read early"
    );
    let ids: Vec<&str> = resync.iter().map(|a| a.id.as_str()).collect();
    assert!(ids.contains(&joiner_sid.as_str()));
    assert!(!ids.contains(&leaver_sid.as_str()));
    assert!(
        resync.iter().any(|a| a
            .warnings
            .iter()
            .any(|w| w.contains("are refused to these credentials"))),
        "an inactive account's refused usage is a warning"
    );

    // Exactly what a full sync of the same data reports.
    assert_eq!(resync, full_sync(&sim, "2025-12-31", "early-full").await);
    let _ = std::fs::remove_dir_all(kept);
}
