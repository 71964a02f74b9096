//! The `flex` app end to end: workers, roles, last activity, the Flex Users API join, both
//! deprovision paths and provisioning.

use connector_e2e::flex_tenant as flex;
use connector_e2e::host_at_now as host;
use connector_e2e::{FLEX_INSTANCE_SID as GO, NOW, find, roles, sim, writes};
use connector_host::Action;
use connector_host::CallError;
use connector_host::types::{AccountStatus, ConnectorError, EntitlementKind, ProvisionRequest};
use serde_json::json;
use twilio_sim::Fixture;

const WS: &str = "WS0000000000000000000000000000c001";

#[tokio::test]
async fn workers_with_roles_and_the_last_activity_rule() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let list = host.list_all(&flex(&sim, false), |_| {}).await.unwrap();
    assert_eq!(list.len(), 4);
    let alice = find(&list, "WK0000000000000000000000000000d001");
    assert_eq!(
        alice.last_activity.as_deref(),
        Some(NOW),
        "an Available worker is active at sync time"
    );
    assert_eq!(alice.username.as_deref(), Some("alice"));
    assert_eq!(alice.email.as_deref(), Some("alice@acme.example"));
    assert_eq!(alice.display_name.as_deref(), Some("Alice Anders"));
    assert_eq!(alice.status, AccountStatus::Active);
    let types: Vec<_> = alice
        .entitlements
        .iter()
        .filter(|e| e.kind == EntitlementKind::AccountType)
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(types, vec!["Flex UI User"]);
    let bob = find(&list, "WK0000000000000000000000000000d002");
    assert_eq!(
        bob.last_activity.as_deref(),
        Some("2025-11-18T17:45:12Z"),
        "Offline: when the status changed"
    );
    assert_eq!(roles(bob), vec!["supervisor", "agent"]);
    let carol = find(&list, "WK0000000000000000000000000000d003");
    assert_eq!(
        carol.last_activity.as_deref(),
        Some("2025-10-02T11:00:00Z"),
        "Unavailable: when the status changed"
    );
    let dave = find(&list, "WK0000000000000000000000000000d004");
    assert!(roles(dave).is_empty(), "malformed attributes give no roles");
    assert_eq!(dave.entitlements.len(), 1);
    assert!(dave.warnings[0].contains("not valid JSON"));
    assert_eq!(
        dave.last_activity.as_deref(),
        Some(NOW),
        "Break is not Offline/Unavailable"
    );
}

#[tokio::test]
async fn instance_joins_flex_users_and_lists_deactivated_ones() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let list = host.list_all(&flex(&sim, true), |_| {}).await.unwrap();
    assert_eq!(list.len(), 5);
    let alice = find(&list, "WK0000000000000000000000000000d001");
    assert!(alice.attributes.contains(&(
        "flex_user_sid".into(),
        "FU0000000000000000000000000000f001".into()
    )));
    let gina = find(&list, "FU0000000000000000000000000000f003");
    assert_eq!(gina.status, AccountStatus::Deprovisioned);
    assert_eq!(gina.email.as_deref(), Some("gina@acme.example"));
    assert_eq!(roles(gina), vec!["agent"]);
    let users_api = sim
        .requests()
        .into_iter()
        .filter(|r| r.host == "flex-api.twilio.com")
        .collect::<Vec<_>>();
    // The Users list is read twice: by the first page, to join each worker with its user, and
    // after the last worker, for the users no listed worker stands for.
    assert_eq!(users_api.len(), 2);
    assert!(users_api.iter().all(|r| {
        r.path == format!("/v1/Instances/{GO}/Users") && r.query.contains("PageSize=1000")
    }));

    // One account by worker SID, Flex user SID or username.
    let t = flex(&sim, true);
    for id in [
        "WK0000000000000000000000000000d002",
        "FU0000000000000000000000000000f002",
        "bob",
    ] {
        let a = host.get_account(&t, id).await.unwrap();
        assert_eq!(a.id, "WK0000000000000000000000000000d002", "{id}");
        assert_eq!(&a, find(&list, "WK0000000000000000000000000000d002"));
    }
    let err = host.get_account(&t, "nobody").await.unwrap_err();
    assert!(err.kind() == "not-found", "{err}");
}

#[tokio::test]
async fn workers_page_across_workspaces_exactly_once() {
    let mut workers = serde_json::Map::new();
    workers.insert(
        "WS00000000000000000000000000000001".into(),
        json!(
            (0..1203)
                .map(|i| json!({"sid": format!("WK{:032x}", i), "friendly_name": format!("w{i}")}))
                .collect::<Vec<_>>()
        ),
    );
    workers.insert(
        "WS00000000000000000000000000000002".into(),
        json!(
            (0..7)
                .map(|i| json!({"sid": format!("WK{:032x}", 5000 + i)}))
                .collect::<Vec<_>>()
        ),
    );
    let fixture = Fixture::from_json(&json!({
        "main_account_sid": "AC00000000000000000000000000000001",
        "accounts": [{"sid": "AC00000000000000000000000000000001", "auth_token": "t0k3n-main"}],
        "workspaces": [{"sid": "WS00000000000000000000000000000001"}, {"sid": "WS00000000000000000000000000000002"}],
        "workers": workers,
    }).to_string()).unwrap();
    let sim = sim(fixture).await;
    let host = host(&sim).await;
    let list = host.list_all(&flex(&sim, false), |_| {}).await.unwrap();
    let mut ids: Vec<_> = list.iter().map(|a| a.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1210);
    assert_eq!(list.len(), 1210);
    let pages = sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/Workers"))
        .count();
    assert_eq!(
        pages, 4,
        "three pages of the large workspace (500 workers per call), one of the small"
    );
}

#[tokio::test]
async fn deprovision_through_the_flex_users_api() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let t = flex(&sim, true);
    let dry = host
        .act(&t, Action::Deprovision, "bob", true)
        .await
        .unwrap();
    assert!(
        dry.dry_run && dry.changed && writes(&sim).is_empty(),
        "{}",
        dry.message
    );

    let r = host
        .act(
            &t,
            Action::Deprovision,
            "WK0000000000000000000000000000d002",
            false,
        )
        .await
        .unwrap();
    assert!(r.changed);
    assert_eq!(r.status, Some(AccountStatus::Deprovisioned));
    assert!(
        r.warnings.iter().any(|w| w.contains("SSO")),
        "{:?}",
        r.warnings
    );
    assert_eq!(
        writes(&sim),
        vec![format!("POST /v4/Instances/{GO}/Users/Deprovision")]
    );
    let post = sim
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&post.body).unwrap(),
        json!({"flex_user_sid": "FU0000000000000000000000000000f002"})
    );
    sim.with_fixture(|f| {
        assert!(
            !f.workers[WS]
                .iter()
                .any(|w| w["sid"] == "WK0000000000000000000000000000d002"),
            "worker removed"
        );
        let bob = f.flex_users[GO]
            .iter()
            .find(|u| u["username"] == "bob")
            .unwrap();
        assert_eq!(bob["deactivated"], true);
    });

    // Again: a success that says it was already done, and nothing sent.
    let again = host
        .act(
            &t,
            Action::Deprovision,
            "FU0000000000000000000000000000f002",
            false,
        )
        .await
        .unwrap();
    assert!(
        !again.changed && again.message.contains("already"),
        "{}",
        again.message
    );
    assert_eq!(writes(&sim).len(), 1);
    let listed = host
        .get_account(&t, "FU0000000000000000000000000000f002")
        .await
        .unwrap();
    assert_eq!(listed.status, AccountStatus::Deprovisioned);
}

#[tokio::test]
async fn deprovision_without_an_instance_deletes_the_worker() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let t = flex(&sim, false);
    let r = host
        .act(
            &t,
            Action::Deprovision,
            "WK0000000000000000000000000000d003",
            false,
        )
        .await
        .unwrap();
    assert!(r.changed && r.warnings.iter().any(|w| w.contains("SSO")));
    assert_eq!(
        writes(&sim),
        vec![format!(
            "DELETE /v1/Workspaces/{WS}/Workers/WK0000000000000000000000000000d003"
        )]
    );
    let again = host
        .act(
            &t,
            Action::Deprovision,
            "WK0000000000000000000000000000d003",
            false,
        )
        .await
        .unwrap();
    assert!(
        !again.changed && again.message.contains("already removed"),
        "{}",
        again.message
    );
    assert_eq!(host.list_all(&t, |_| {}).await.unwrap().len(), 3);
    let err = host
        .act(
            &t,
            Action::Suspend,
            "WK0000000000000000000000000000d001",
            false,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Connector { error: ConnectorError::Unsupported(m), .. } if m.contains("deprovision")),
        "{err}"
    );
}

fn request(username: &str) -> ProvisionRequest {
    ProvisionRequest {
        username: username.into(),
        email: format!("{username}@acme.example"),
        full_name: "Hank Hill".into(),
        roles: vec!["agent".into(), "supervisor".into()],
        attributes_json: Some(r#"{"language":"english, spanish"}"#.into()),
    }
}

#[tokio::test]
async fn provisioning_twice_creates_one_user_with_a_worker() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let t = flex(&sim, true);
    let dry = host.provision(&t, &request("hank"), true).await.unwrap();
    assert!(dry.message.starts_with("would create"), "{}", dry.message);
    assert!(writes(&sim).is_empty());
    let first = host.provision(&t, &request("hank"), false).await.unwrap();
    assert!(
        first.changed && first.account_id.starts_with("FU"),
        "{first:?}"
    );
    let second = host.provision(&t, &request("hank"), false).await.unwrap();
    assert_eq!(second.account_id, first.account_id);
    assert!(!second.changed, "{}", second.message);
    let list = host.list_all(&t, |_| {}).await.unwrap();
    let hanks: Vec<_> = list
        .iter()
        .filter(|a| a.username.as_deref() == Some("hank"))
        .collect();
    assert_eq!(hanks.len(), 1, "one user");
    assert!(
        hanks[0].id.starts_with("WK"),
        "provisioning created the worker"
    );
    assert_eq!(roles(hanks[0]), vec!["agent", "supervisor"]);
    let body: serde_json::Value = serde_json::from_str(
        &sim.requests()
            .into_iter()
            .find(|r| r.method == "POST")
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(body["worker"]["attributes"]["language"], "english, spanish");
    assert_eq!(body["full_name"], "Hank Hill");
}

#[tokio::test]
async fn bad_provisioning_input_is_refused_before_anything_is_sent() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let t = flex(&sim, true);
    let mut bad = request("ivy");
    bad.roles = vec!["owner".into()];
    let mut long = request("ivy");
    long.username = "u".repeat(257);
    let mut attrs = request("ivy");
    attrs.attributes_json = Some("[\"not an object\"]".into());
    for (r, expected) in [
        (bad, "unknown role"),
        (long, "username must be 1 to 256"),
        (attrs, "JSON object"),
    ] {
        let err = host.provision(&t, &r, false).await.unwrap_err();
        assert!(
            matches!(&err, CallError::Connector { error: ConnectorError::InvalidInput(m), .. } if m.contains(expected)),
            "{err}"
        );
    }
    let err = host
        .provision(&flex(&sim, false), &request("ivy"), false)
        .await
        .unwrap_err();
    assert!(err.kind() == "invalid-config", "{err}");
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

#[tokio::test]
async fn one_role_is_granted_and_revoked_and_the_user_keeps_the_rest() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let t = flex(&sim, true);
    let alice = "WK0000000000000000000000000000d001";
    let listed = host.list_entitlements(&t, None).await.unwrap();
    let ids: Vec<&str> = listed.entitlements.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["agent", "supervisor", "admin"]);
    let dry = host.grant(&t, alice, "supervisor", true).await.unwrap();
    assert!(dry.dry_run && dry.changed);
    assert!(writes(&sim).is_empty(), "a dry run writes nothing");
    let r = host.grant(&t, alice, "supervisor", false).await.unwrap();
    assert!(r.changed, "{r:?}");
    let mut now = roles(&host.get_account(&t, alice).await.unwrap())
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
    now.sort();
    assert_eq!(now, ["agent", "supervisor"]);
    let r = host.revoke(&t, alice, "agent", false).await.unwrap();
    assert!(r.changed, "{r:?}");
    assert_eq!(
        roles(&host.get_account(&t, alice).await.unwrap()),
        ["supervisor"]
    );
    // The last role is not revoked (that is a deprovision), and nothing is sent for it.
    let before = writes(&sim).len();
    let e = host
        .revoke(&t, alice, "supervisor", false)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CallError::Connector { error: ConnectorError::Refused(m), .. } if m.contains("deprovision")),
        "{e:?}"
    );
    assert_eq!(writes(&sim).len(), before);
    // Without the Flex instance, roles cannot be changed.
    let e = host
        .grant(&flex(&sim, false), alice, "admin", false)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CallError::Connector { error: ConnectorError::Unsupported(m), .. } if m.contains("flex-instance")),
        "{e:?}"
    );
}
