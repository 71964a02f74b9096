//! The `twilio` app end to end: the real component in the real host against the simulator.

use connector_e2e::{find, host, services, sim, tenant};
use connector_host::types::{AccountStatus, EntitlementKind};
use serde_json::json;
use twilio_sim::Fixture;

#[tokio::test]
async fn demo_fixture_statuses_types_services_and_last_activity() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let list = host
        .list_all(&tenant(&sim, "twilio"), |_| {})
        .await
        .unwrap();
    assert_eq!(list.len(), 6);

    let main = find(&list, "AC0000000000000000000000000000a001");
    assert_eq!(main.status, AccountStatus::Active);
    // Only the main account's own usage counts: subaccounts' later usage must not leak in.
    assert_eq!(main.last_activity.as_deref(), Some("2025-09-01T00:00:00Z"));

    let support = find(&list, "AC0000000000000000000000000000b001");
    assert_eq!(
        support.last_activity.as_deref(),
        Some("2025-10-20T00:00:00Z"),
        "the 0.00 call on 10-29 does not count"
    );
    assert_eq!(
        services(support),
        vec![
            ("Messaging".into(), Some("2025-10-20T00:00:00Z".into())),
            ("Voice".into(), Some("2025-10-14T00:00:00Z".into()))
        ]
    );
    let types: Vec<_> = support
        .entitlements
        .iter()
        .filter(|e| e.kind == EntitlementKind::AccountType)
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(types, vec!["Full"]);

    let marketing = find(&list, "AC0000000000000000000000000000b002");
    assert_eq!(
        services(marketing),
        vec![("Messaging".into(), Some("2025-11-09T00:00:00Z".into()))],
        "SMS, MMS and short codes are one service"
    );

    let pilot = find(&list, "AC0000000000000000000000000000b003");
    assert_eq!(pilot.status, AccountStatus::Suspended);
    assert_eq!(
        services(pilot),
        vec![("Verify".into(), Some("2024-12-18T00:00:00Z".into()))],
        "-0.00 lookups are not priced"
    );

    let closed = find(&list, "AC0000000000000000000000000000b004");
    assert_eq!(closed.status, AccountStatus::Deprovisioned);

    let sandbox = find(&list, "AC0000000000000000000000000000b005");
    assert_eq!(sandbox.last_activity, None, "a price of 0 is no activity");
    assert!(services(sandbox).is_empty());
    assert_eq!(sandbox.entitlements[0].name, "Trial");
}

#[tokio::test]
async fn tricky_prices_and_exact_days_across_history() {
    let fixture = Fixture::from_json(
        &json!({
            "main_account_sid": "AC00000000000000000000000000000001",
            "accounts": [
                {"sid": "AC00000000000000000000000000000001", "auth_token": "main-token-1"},
                {"sid": "AC00000000000000000000000000000002", "friendly_name": "sub"}
            ],
            "usage_records": {
                "AC00000000000000000000000000000001": [
                    {"category": "sms", "end_date": "2025-06-30", "price": "0"},
                    {"category": "calls", "end_date": "2025-06-29", "price": null}
                ],
                "AC00000000000000000000000000000002": [
                    {"category": "sms-outbound", "end_date": "2021-02-03", "price": 0.01},
                    {"category": "mms", "end_date": "2023-07-14", "price": "-1.50"},
                    {"category": "mms", "end_date": "2023-07-20", "price": "0.00"},
                    {"category": "verify-sms", "end_date": "2022-12-31", "price": "2"},
                    {"category": "quantum-widgets", "end_date": "2020-01-05", "price": "7.25"},
                    {"category": "calls-inbound", "end_date": "2024-03-09", "price": "-0.00"}
                ]
            }
        })
        .to_string(),
    )
    .unwrap();
    let sim = sim(fixture).await;
    let host = host(&sim).await;
    let list = host
        .list_all(&tenant(&sim, "twilio"), |_| {})
        .await
        .unwrap();
    let main = find(&list, "AC00000000000000000000000000000001");
    assert_eq!(
        main.last_activity, None,
        "zero and null prices are no activity, and subaccounts' usage is not the main account's"
    );
    assert!(services(main).is_empty());
    let sub = find(&list, "AC00000000000000000000000000000002");
    assert_eq!(sub.last_activity.as_deref(), Some("2023-07-14T00:00:00Z"));
    assert_eq!(
        services(sub),
        vec![
            ("Messaging".into(), Some("2023-07-14T00:00:00Z".into())),
            ("Verify".into(), Some("2022-12-31T00:00:00Z".into())),
            (
                "quantum-widgets".into(),
                Some("2020-01-05T00:00:00Z".into())
            ),
        ]
    );
    // Cheap reads: per account one Monthly query and one Daily query per distinct month.
    let usage: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/Usage/"))
        .collect();
    let daily = usage
        .iter()
        .filter(|r| r.path.ends_with("Daily.json"))
        .count();
    let monthly = usage
        .iter()
        .filter(|r| r.path.ends_with("Monthly.json"))
        .count();
    assert_eq!(monthly, 2);
    assert_eq!(
        daily, 3,
        "one Daily query per latest month (2023-07, 2022-12, 2020-01); none for an unpriced account"
    );
    assert!(
        usage
            .iter()
            .all(|r| r.path.contains("AC00000000000000000000000000000002")
                || r.query.contains("IncludeSubaccounts=false"))
    );
}

#[tokio::test]
async fn listing_pages_through_thousands_of_accounts_exactly_once() {
    let sim = sim(Fixture::generate(2300, 11)).await;
    let host = host(&sim).await;
    let mut progress = Vec::new();
    let list = host
        .list_all(&tenant(&sim, "twilio"), |n| progress.push(n))
        .await
        .unwrap();
    assert_eq!(list.len(), 2301);
    let mut ids: Vec<_> = list.iter().map(|a| a.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2301, "no account lost or duplicated");
    // Calls are bounded whatever the tenant's size: a page of 1,000 accounts (Twilio's
    // largest), and the list's last page when it is the next one (so the list ends in that
    // call, not in one more of its own).
    assert_eq!(
        progress,
        vec![1000, 2301],
        "a page, then a page with the last one joined"
    );
    // Each page of the list is read once: the page read ahead by a call is kept for the next.
    let pages: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path == "/2010-04-01/Accounts.json")
        .collect();
    assert_eq!(pages.len(), 3);
    assert!(pages.iter().all(|r| r.query.contains("PageSize=1000")));
}

#[tokio::test]
async fn a_list_that_ends_just_past_a_page_is_one_call() {
    // 1,000 subaccounts and the main account: two pages of Twilio's list.
    let sim = sim(Fixture::generate(1000, 12)).await;
    let host = host(&sim).await;
    let t = tenant(&sim, "twilio");
    let first = host.list_page(&t, None).await.unwrap();
    assert_eq!(first.accounts.len(), 1001, "the last page joins the first");
    assert_eq!(first.next_cursor, None, "and the list ends there");
    let mut ids: Vec<_> = first.accounts.iter().map(|a| a.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1001, "no account twice");
    let requests = sim.requests();
    let pages = requests
        .iter()
        .filter(|r| r.path == "/2010-04-01/Accounts.json")
        .count();
    assert_eq!(pages, 2);
    // The joined account is read like the others: its usage, not a bare record.
    let monthly = requests
        .iter()
        .filter(|r| r.path.ends_with("/Usage/Records/Monthly.json"))
        .count();
    assert_eq!(monthly, 1001, "every account's usage read once");
}

#[tokio::test]
async fn get_account_agrees_with_listing_and_unknown_ids_are_not_found() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let t = tenant(&sim, "twilio");
    let list = host.list_all(&t, |_| {}).await.unwrap();
    for a in &list {
        let one = host.get_account(&t, &a.id).await.unwrap();
        assert_eq!(&one, a);
    }
    let err = host
        .get_account(&t, "AC0000000000000000000000000000ffff")
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("not found"), "{err}");
    let err = host.get_account(&t, "../../etc/passwd").await.unwrap_err();
    assert!(
        err.to_string().contains("not a Twilio account SID"),
        "{err}"
    );
}
