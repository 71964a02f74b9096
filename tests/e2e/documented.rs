//! Twilio as documented, not as simulated: each test sets the simulator up the way Twilio's
//! own contract says it behaves (attributes null in worker lists, by-username answers without
//! `worker_sid`, TaskRouter-only workers, priced months of sub-cent days, refused usage of
//! inactive subaccounts, custom unavailable activities, adjustments, nulls, updates that do
//! not apply) and checks what the real component in the real host makes of it.

use connector_e2e::flex_tenant as flex;
use connector_e2e::host_at_now as host;
use connector_e2e::{FLEX_INSTANCE_SID as GO, find, roles, services, sim, tenant};
use connector_host::Action;
use serde_json::{Value, json};
use twilio_sim::{Fault, FaultRule, Fixture};

const BOB: &str = "WK0000000000000000000000000000d002";
const CAROL: &str = "WK0000000000000000000000000000d003";
const SUB: &str = "AC0000000000000000000000000000b002";

/// The demo fixture, changed by `edit` (as JSON) before it is loaded.
fn demo_with(edit: impl FnOnce(&mut Value)) -> Fixture {
    let mut v: Value = serde_json::from_str(twilio_sim::fixture::DEMO_JSON).unwrap();
    edit(&mut v);
    Fixture::from_json(&v.to_string()).unwrap()
}

fn usage(category: Value, price: Value, day: &str) -> Value {
    json!({"category": category, "start_date": day, "end_date": day, "price": price, "price_unit": "usd"})
}

#[tokio::test]
async fn roles_are_read_although_worker_lists_hide_attributes() {
    let sim = sim(Fixture::demo()).await;
    // The simulator follows the OpenAPI note: the list itself carries no attributes.
    let host = host(&sim).await;
    sim.inject(FaultRule::on(
        &format!("/Workers/{CAROL}"),
        Fault::Status(500),
        100,
    ));
    let list = host.list_all(&flex(&sim, false), |_| {}).await.unwrap();
    assert_eq!(
        list.len(),
        4,
        "one unreadable worker does not sink the sync"
    );
    assert_eq!(roles(find(&list, BOB)), vec!["supervisor", "agent"]);
    let carol = find(&list, CAROL);
    assert!(roles(carol).is_empty());
    assert!(
        carol
            .warnings
            .iter()
            .any(|w| w.contains("could not be read")),
        "{:?}",
        carol.warnings
    );
    let fetches = sim
        .requests()
        .iter()
        .filter(|r| r.path.contains("/Workers/WK"))
        .map(|r| r.path.clone())
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(fetches.len(), 4, "each worker fetched for its attributes");
}

#[tokio::test]
async fn get_and_list_return_the_same_flex_account() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    for with_instance in [false, true] {
        let t = flex(&sim, with_instance);
        let list = host.list_all(&t, |_| {}).await.unwrap();
        for a in &list {
            let one = host.get_account(&t, &a.id).await.unwrap();
            assert_eq!(&one, a, "instance {with_instance}: {}", a.id);
        }
        if with_instance {
            // By username the answer has no worker_sid, yet the account is the joined one.
            let bob = host.get_account(&t, "bob").await.unwrap();
            assert_eq!(&bob, find(&list, BOB));
            assert!(
                bob.attributes
                    .iter()
                    .any(|(k, v)| k == "flex_user_sid" && v.starts_with("FU"))
            );
        }
    }
}

#[tokio::test]
async fn a_taskrouter_only_worker_is_deleted_even_with_an_instance() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let t = flex(&sim, true);
    let r = host
        .act(&t, Action::Deprovision, CAROL, false)
        .await
        .unwrap();
    assert!(r.changed, "{r:?}");
    assert!(
        r.warnings.iter().any(|w| w.contains("no Flex User")),
        "{r:?}"
    );
    let gone = sim.with_fixture(|f| f.workers.values().flatten().all(|w| w["sid"] != CAROL));
    assert!(gone, "the worker was deleted");
    let again = host
        .act(&t, Action::Deprovision, CAROL, false)
        .await
        .unwrap();
    assert!(!again.changed);
}

#[tokio::test]
async fn each_month_is_refined_by_its_own_days_only() {
    // Sub-cent SMS days in October sum to a priced month while each day reads 0.00 (the
    // simulator rounds prices to cents); September has a priced call.
    let fixture = demo_with(|v| {
        v["behaviour"] = json!({"price_decimals": 2});
        let days: Vec<Value> = (1..=9)
            .map(|d| {
                usage(
                    json!("sms-outbound"),
                    json!("0.004"),
                    &format!("2025-10-0{d}"),
                )
            })
            .chain([usage(json!("calls-outbound"), json!("1.00"), "2025-09-15")])
            .collect();
        v["usage_records"][SUB] = json!(days);
    });
    let sim = sim(fixture).await;
    let host = host(&sim).await;
    let list = host
        .list_all(&tenant(&sim, "twilio"), |_| {})
        .await
        .unwrap();
    let sub = find(&list, SUB);
    assert_eq!(
        sub.last_activity.as_deref(),
        Some("2025-10-31T00:00:00Z"),
        "October is priced though none of its days is: the month's end stands"
    );
    assert_eq!(
        services(sub),
        vec![
            ("Messaging".to_string(), Some("2025-10-31T00:00:00Z".into())),
            ("Voice".to_string(), Some("2025-09-15T00:00:00Z".into())),
        ]
    );
}

#[tokio::test]
async fn totals_adjustments_and_nulls_are_nobodys_activity() {
    let fixture = demo_with(|v| {
        v["usage_records"][SUB] = json!([
            usage(json!("sms"), json!("0.75"), "2025-10-10"),
            usage(json!("credit-transfer"), json!("-20.00"), "2025-11-05"),
            usage(json!("min-spend-adjustments"), json!("5.00"), "2025-11-06"),
            usage(
                json!("authy-bucket-adjustment"),
                json!("1.00"),
                "2025-11-07"
            ),
            usage(Value::Null, json!("3.00"), "2025-11-08"),
            usage(json!("calls"), Value::Null, "2025-11-09"),
        ]);
        // Nullable Flex User fields.
        v["flex_users"][GO][0]["roles"] = Value::Null;
        v["flex_users"][GO][1]["deactivated"] = Value::Null;
    });
    let sim = sim(fixture).await;
    let host = host(&sim).await;
    let list = host
        .list_all(&tenant(&sim, "twilio"), |_| {})
        .await
        .unwrap();
    let sub = find(&list, SUB);
    assert_eq!(sub.last_activity.as_deref(), Some("2025-10-10T00:00:00Z"));
    assert_eq!(
        services(sub),
        vec![("Messaging".to_string(), Some("2025-10-10T00:00:00Z".into()))]
    );
    assert!(
        sub.warnings.iter().any(|w| w.contains("no category")),
        "{:?}",
        sub.warnings
    );

    let flex_list = host.list_all(&flex(&sim, true), |_| {}).await.unwrap();
    let alice = find(&flex_list, "WK0000000000000000000000000000d001");
    assert!(alice.warnings.iter().any(|w| w.contains("roles were null")));
    assert_eq!(roles(alice), vec!["agent"], "the worker's own roles remain");
    let bob = find(&flex_list, BOB);
    assert!(
        bob.warnings
            .iter()
            .any(|w| w.contains("deactivated was null"))
    );
    assert_eq!(
        bob.status,
        connector_host::types::AccountStatus::Active,
        "null reads as not deactivated"
    );
}

#[tokio::test]
async fn inactive_subaccounts_whose_usage_is_refused_are_listed_with_a_warning() {
    let sim = sim(demo_with(|v| {
        v["behaviour"] = json!({"refuse_inactive_usage": true});
    }))
    .await;
    let host = host(&sim).await;
    let list = host
        .list_all(&tenant(&sim, "twilio"), |_| {})
        .await
        .unwrap();
    assert_eq!(list.len(), 6);
    for sid in [
        "AC0000000000000000000000000000b003",
        "AC0000000000000000000000000000b004",
    ] {
        let a = find(&list, sid);
        assert_eq!(a.last_activity, None);
        assert!(
            a.warnings.iter().any(|w| w.contains("refused")),
            "{sid}: {:?}",
            a.warnings
        );
        let refused = sim
            .requests()
            .iter()
            .any(|r| r.path.contains(sid) && r.status == 401);
        assert!(refused, "the simulator answered 401 for {sid}");
    }
    assert!(find(&list, SUB).last_activity.is_some());
}

#[tokio::test]
async fn a_failed_daily_read_keeps_the_month_and_a_missing_monthly_gives_no_window_date() {
    let sim = sim(Fixture::demo()).await;
    sim.inject(FaultRule::on("/Daily.json", Fault::Status(500), 10_000));
    let host = host(&sim).await;
    let list = host
        .list_all(&tenant(&sim, "twilio"), |_| {})
        .await
        .unwrap();
    let sub = find(&list, SUB);
    assert_eq!(sub.last_activity.as_deref(), Some("2025-11-30T00:00:00Z"));
    assert!(
        sub.warnings.iter().any(|w| w.contains("daily usage")),
        "{:?}",
        sub.warnings
    );

    // Without Monthly records the account is told, never dated by a query window.
    let sim = connector_e2e::sim(Fixture::demo()).await;
    sim.inject(FaultRule::on("/Monthly.json", Fault::Status(404), 10_000));
    let list = connector_e2e::host_at_now(&sim)
        .await
        .list_all(&tenant(&sim, "twilio"), |_| {})
        .await
        .unwrap();
    let sub = find(&list, SUB);
    assert_eq!(sub.last_activity, None);
    assert!(sub.warnings.iter().any(|w| w.contains("not readable")));
    assert!(
        !sim.requests()
            .iter()
            .any(|r| r.path.ends_with("/Usage/Records.json"))
    );
}

#[tokio::test]
async fn custom_unavailable_activities_and_any_case_are_inactive() {
    let fixture = demo_with(|v| {
        let workers = v["workers"]["WS0000000000000000000000000000c001"]
            .as_array_mut()
            .unwrap();
        // A custom activity that TaskRouter marks unavailable.
        workers[3]["available"] = json!(false);
        workers[3]["attributes"] = json!("{}");
        // A lower-case Offline.
        workers[0]["activity_name"] = json!("offline");
    });
    let sim = sim(fixture).await;
    let host = host(&sim).await;
    let list = host.list_all(&flex(&sim, false), |_| {}).await.unwrap();
    let dave = find(&list, "WK0000000000000000000000000000d004");
    assert_eq!(dave.last_activity.as_deref(), Some("2025-11-21T09:10:00Z"));
    let alice = find(&list, "WK0000000000000000000000000000d001");
    assert_eq!(alice.last_activity.as_deref(), Some("2025-11-20T08:00:00Z"));
}

#[tokio::test]
async fn updates_twilio_does_not_apply_fail_the_action() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    // A 200 whose account still reads active.
    let unchanged = sim.with_fixture(|f| {
        f.accounts
            .iter()
            .find(|a| a["sid"] == SUB)
            .unwrap()
            .to_string()
    });
    sim.inject(FaultRule::on_method(
        "POST",
        &format!("/Accounts/{SUB}.json"),
        Fault::Body(200, unchanged),
        1,
    ));
    let e = host
        .act(&tenant(&sim, "twilio"), Action::Suspend, SUB, false)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not applied"), "{e}");

    let erin = sim.with_fixture(|f| f.frontline_users[0].to_string());
    sim.inject(FaultRule::on_method(
        "POST",
        "/v1/Users/",
        Fault::Body(200, erin),
        1,
    ));
    let e = host
        .act(
            &tenant(&sim, "frontline"),
            Action::Suspend,
            "erin@acme.example",
            false,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not applied"), "{e}");

    // The worker delete answers 204 but removes nothing.
    sim.inject(FaultRule::on_method(
        "DELETE",
        &format!("/Workers/{BOB}"),
        Fault::Body(204, String::new()),
        1,
    ));
    let e = host
        .act(&flex(&sim, false), Action::Deprovision, BOB, false)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("still exists"), "{e}");
}

#[tokio::test]
async fn request_bodies_go_out_with_a_content_length() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    host.act(&tenant(&sim, "twilio"), Action::Suspend, SUB, false)
        .await
        .unwrap();
    host.act(&flex(&sim, true), Action::Deprovision, BOB, false)
        .await
        .unwrap();
    let posts: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 2, "{posts:?}");
    for p in posts {
        assert_eq!(p.content_length, Some(p.body.len() as u64), "{p:?}");
        assert!(!p.chunked, "{p:?}");
    }
}
