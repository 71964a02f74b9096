//! Request economy and concurrency: a sync makes exactly the requests the API requires, never
//! has more in flight than the configured and host limits allow, and the compiled plugin is
//! reused. How many requests actually overlap depends on scheduling, so it is measured by the
//! benchmarks, not asserted here.

use connector_e2e::{cache_dir, connector_wasm, host, host_with, sim, tenant};
use connector_host::engine::EngineCache;
use connector_host::{Host, HostOptions, Limits};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use twilio_sim::Fixture;

/// The service a category belongs to, for the few categories the generator uses.
fn service(category: &str) -> &str {
    match category.split('-').next().unwrap() {
        "sms" | "mms" => "Messaging",
        "calls" => "Voice",
        other => other,
    }
}

fn priced(p: &serde_json::Value) -> bool {
    match p {
        serde_json::Value::Number(n) => n.as_f64() != Some(0.0),
        serde_json::Value::String(s) => s.parse::<f64>().is_ok_and(|f| f != 0.0),
        _ => false,
    }
}

/// Daily queries needed: one per account per distinct month holding a latest priced date.
fn daily_queries(f: &Fixture) -> usize {
    f.usage_records
        .values()
        .map(|records| {
            let mut latest: BTreeMap<&str, &str> = BTreeMap::new();
            let mut overall: Option<&str> = None;
            for r in records.iter().filter(|r| priced(&r["price"])) {
                let d = r["end_date"].as_str().unwrap();
                let e = latest
                    .entry(service(r["category"].as_str().unwrap()))
                    .or_insert(d);
                *e = (*e).max(d);
                overall = overall.max(Some(d));
            }
            let months: BTreeSet<&str> = latest
                .values()
                .copied()
                .chain(overall)
                .map(|d| &d[..7])
                .collect();
            months.len()
        })
        .sum()
}

#[tokio::test]
async fn a_sync_makes_exactly_the_requests_the_api_requires() {
    let fixture = Fixture::generate(1500, 5);
    let accounts = fixture.accounts.len();
    let expected = accounts.div_ceil(1000) + accounts + daily_queries(&fixture);
    let sim = sim(fixture).await;
    let host = host(&sim).await;
    let list = host
        .list_all(&tenant(&sim, "twilio"), |_| {})
        .await
        .unwrap();
    assert_eq!(list.len(), accounts);
    let requests = sim.requests();
    assert_eq!(
        requests.len(),
        expected,
        "pages + one Monthly per account + one Daily per needed month"
    );
    let distinct: BTreeSet<_> = requests
        .iter()
        .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
        .collect();
    assert_eq!(distinct.len(), requests.len(), "nothing fetched twice");
    assert!(requests.iter().all(|r| r.query.contains("PageSize=1000")));
}

/// Every request of the run went out exactly once.
fn made_once(sim: &twilio_sim::Simulator) {
    let requests = sim.requests();
    let distinct: BTreeSet<_> = requests
        .iter()
        .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
        .collect();
    assert_eq!(distinct.len(), requests.len(), "a request was repeated");
}

#[tokio::test]
async fn requests_stay_within_the_configured_and_host_limits() {
    let sim = sim(Fixture::generate(120, 9)).await;
    sim.faults().latency = Duration::from_millis(50);
    let host_default = host(&sim).await;
    host_default
        .list_all(&tenant(&sim, "twilio"), |_| {})
        .await
        .unwrap();
    let seen = sim.max_concurrent();
    let cap = Limits::default().max_in_flight as u64;
    assert!(
        (17..=cap).contains(&seen),
        "by default up to the host's cap of {cap} (past the old 16), saw {seen}"
    );
    made_once(&sim);

    sim.clear_requests();
    let t = tenant(&sim, "twilio").with_option("concurrency", "4");
    host_default.list_all(&t, |_| {}).await.unwrap();
    assert!(
        (1..=4).contains(&sim.max_concurrent()),
        "saw {}",
        sim.max_concurrent()
    );
    made_once(&sim);

    sim.clear_requests();
    let capped = host_with(
        &sim,
        connector_wasm(),
        Limits {
            max_in_flight: 2,
            ..Limits::default()
        },
    )
    .await;
    let t = tenant(&sim, "twilio").with_option("concurrency", "64");
    capped.list_all(&t, |_| {}).await.unwrap();
    assert!(
        (1..=2).contains(&sim.max_concurrent()),
        "never more than the host allows, saw {}",
        sim.max_concurrent()
    );
    made_once(&sim);
}

#[tokio::test]
async fn the_compiled_plugin_is_cached_on_disk_and_reused() {
    let dir = cache_dir().join(format!("fresh-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let opts = || HostOptions {
        cache_dir: Some(dir.clone()),
        vendor_policy: connector_e2e::vendor_policy(),
        ..HostOptions::default()
    };
    let first = Host::load(connector_wasm(), opts()).await.unwrap();
    assert_eq!(first.cache(), EngineCache::Compiled);
    let second = Host::load(connector_wasm(), opts()).await.unwrap();
    assert_eq!(second.cache(), EngineCache::Cached);
    // A damaged cache entry is ignored, not trusted.
    for entry in std::fs::read_dir(&dir).unwrap() {
        std::fs::write(entry.unwrap().path(), b"garbage").unwrap();
    }
    let third = Host::load(connector_wasm(), opts()).await.unwrap();
    assert_eq!(third.cache(), EngineCache::Compiled);
    assert_eq!(third.info().apps.len(), 4);
    std::fs::remove_dir_all(&dir).ok();
}
