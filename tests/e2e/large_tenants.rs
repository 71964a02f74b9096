//! Tenants of any size in bounded memory: what one call holds depends on the page the plugin
//! chooses and the requests in flight, never on how many accounts or usage records a tenant
//! has. Each test runs with the host's default per-call limits (256 MiB guest memory).

use connector_e2e::{host, sim, tenant};
use connector_host::types::Account;
use std::collections::BTreeSet;
use twilio_sim::Fixture;

fn priced(p: &serde_json::Value) -> bool {
    match p {
        serde_json::Value::Number(n) => n.as_f64() != Some(0.0),
        serde_json::Value::String(s) => s.parse::<f64>().is_ok_and(|f| f != 0.0),
        _ => false,
    }
}

#[tokio::test]
async fn ten_thousand_subaccounts_sync_in_bounded_pages() {
    let fixture = Fixture::generate(10_000, 21);
    let active_ids: BTreeSet<String> = fixture
        .usage_records
        .iter()
        .filter(|(_, records)| records.iter().any(|r| priced(&r["price"])))
        .map(|(sid, _)| sid.clone())
        .collect();
    let sim = sim(fixture).await;
    let host = host(&sim).await;
    let mut sizes = Vec::new();
    let mut last = 0;
    let list = host
        .list_all(&tenant(&sim, "twilio"), |n| {
            sizes.push(n - last);
            last = n;
        })
        .await
        .expect("a 10,000-subaccount tenant syncs within the default limits");
    assert_eq!(list.len(), 10_001);
    let ids: BTreeSet<&str> = list.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), 10_001, "no account lost or listed twice");
    // A page of 1,000 per call; the list's last page (one account) joins the call before it.
    assert!(
        sizes.iter().all(|n| *n <= 2000) && sizes.len() == 10 && sizes[9] == 1001,
        "every call returns a bounded page: {sizes:?}"
    );
    // Each subaccount with priced usage has a last activity; the others have none.
    for a in list.iter().filter(|a| a.id != sim.main_credentials().0) {
        assert_eq!(
            a.last_activity.is_some(),
            active_ids.contains(&a.id),
            "{}: {:?}",
            a.id,
            a.last_activity
        );
    }
}

/// What a sync reports that does not depend on when it ran.
fn summary(list: &[Account]) -> Vec<String> {
    let mut out: Vec<String> = list
        .iter()
        .map(|a| {
            format!(
                "{} {:?} {:?} {:?} {:?}",
                a.id, a.status, a.last_activity, a.entitlements, a.warnings
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn two_years_of_usage_listing_every_category_syncs_and_changes_nothing() {
    let sparse = Fixture::generate(12, 5);
    let mut dense = sparse.clone();
    let since = chrono::Utc::now().date_naive() - chrono::Days::new(730);
    dense.behaviour.every_category_since = Some(since.to_string());

    let sparse_sim = sim(sparse).await;
    let expected = host(&sparse_sim)
        .await
        .list_all(&tenant(&sparse_sim, "twilio"), |_| {})
        .await
        .unwrap();

    let dense_sim = sim(dense).await;
    let got = host(&dense_sim)
        .await
        .list_all(&tenant(&dense_sim, "twilio"), |_| {})
        .await
        .expect("two years of every-category usage syncs within the default limits");
    assert_eq!(summary(&got), summary(&expected));
    // The usage really was long: Monthly lists of 25 months of ~650 categories run to many pages.
    let deepest = dense_sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/Usage/Records/Monthly.json"))
        .filter_map(|r| {
            r.query
                .split('&')
                .find_map(|kv| kv.strip_prefix("Page="))
                .and_then(|p| p.parse::<u32>().ok())
        })
        .max();
    assert!(
        deepest >= Some(15),
        "Monthly usage read to page {deepest:?}"
    );
}

#[tokio::test]
async fn a_ten_thousand_worker_flex_instance_lists_in_bounded_pages() {
    const GO: &str = "GO000000000000000000000000000000aa";
    let fixture = Fixture::generate(0, 3)
        .with_generated_workers(10_000)
        .with_generated_flex_users(GO, 40);
    let sim = sim(fixture).await;
    let host = host(&sim).await;
    let t = tenant(&sim, "flex").with_option("flex_instance_sid", GO);
    let mut sizes = Vec::new();
    let mut last = 0;
    let list = host
        .list_all(&t, |n| {
            sizes.push(n - last);
            last = n;
        })
        .await
        .expect("a 10,000-worker instance lists within the default limits");
    assert_eq!(list.len(), 10_040);
    let ids: BTreeSet<&str> = list.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), 10_040, "no user lost or listed twice");
    assert!(sizes.iter().all(|n| *n <= 1000), "bounded pages: {sizes:?}");
    // Every worker is joined with its Flex User, across pages.
    let joined = list
        .iter()
        .filter(|a| a.id.starts_with("WK"))
        .filter(|a| a.attributes.iter().any(|(k, _)| k == "flex_user_sid"))
        .count();
    assert_eq!(joined, 10_000);
    // The users without a worker come last, deprovisioned.
    assert!(list[10_000..].iter().all(|a| a.id.starts_with("FU")
        && a.status == connector_host::types::AccountStatus::Deprovisioned));
}
