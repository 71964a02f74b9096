//! The README's promises, each with a test that fails when the promise is broken: Retry-After
//! is honoured, retried faults change no value, no dry-run of any app writes, odd Frontline
//! identities round-trip, every action is audited, the connecting account is protected in any
//! case, and customers synced together never see each other's accounts.

use connector_e2e::{host, options, sim, tenant, writes};
use connector_host::audit::AuditLog;
use connector_host::types::ProvisionRequest;
use connector_host::{Action, Credentials, Host, Tenant};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use twilio_policy::FLEX_INSTANCE;
use twilio_sim::{Fault, FaultRule, Fixture};

const MAIN: &str = "AC0000000000000000000000000000a001";
const GO: &str = "GO0000000000000000000000000000e001";

#[tokio::test]
async fn retry_after_is_waited_out_before_the_retry() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    sim.inject(FaultRule::on(
        "/Accounts.json",
        Fault::RateLimit {
            retry_after_secs: Some(2),
        },
        1,
    ));
    host.list_page(&tenant(&sim, "twilio"), None).await.unwrap();
    let pages: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path == "/2010-04-01/Accounts.json")
        .collect();
    assert_eq!(pages.len(), 2, "one 429, one retry");
    assert_eq!(pages[0].status, 429);
    // A lower bound, not a speed figure: the retry cannot come before the wait asked for.
    let waited = pages[1].received.duration_since(pages[0].received);
    assert!(
        waited >= Duration::from_millis(1900),
        "retried after {waited:?}"
    );
}

#[tokio::test]
async fn retried_faults_give_the_same_accounts_and_values_as_a_clean_run() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let t = tenant(&sim, "twilio");
    let clean = host.list_all(&t, |_| {}).await.unwrap();
    sim.clear_requests();
    // A full sync again (the kept state would make it a re-sync reading only recent days).
    host.clear_state(&t).await.unwrap();
    for rule in [
        FaultRule::on("/Accounts.json", Fault::Status(503), 2),
        FaultRule::on("/Monthly.json", Fault::Reset, 3),
        FaultRule::on("/Daily.json", Fault::Status(502), 2),
    ] {
        sim.inject(rule);
    }
    let faulty = host.list_all(&t, |_| {}).await.unwrap();
    assert_eq!(faulty, clean, "same accounts, same values");
    let statuses: Vec<u16> = sim.requests().iter().map(|r| r.status).collect();
    assert!(
        statuses.contains(&503) && statuses.contains(&502),
        "{statuses:?}"
    );
    assert!(
        sim.faults().rules.is_empty(),
        "every injected fault fired: {:?}",
        sim.faults().rules
    );
}

#[tokio::test]
async fn no_dry_run_of_any_app_writes() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let twilio = tenant(&sim, "twilio");
    let flex = tenant(&sim, "flex");
    let flex_go = tenant(&sim, "flex").with_option(FLEX_INSTANCE, GO);
    let frontline = tenant(&sim, "frontline");
    let sub = "AC0000000000000000000000000000b001";
    let suspended = "AC0000000000000000000000000000b003";
    let cases: Vec<(&Tenant, Action, &str)> = vec![
        (&twilio, Action::Suspend, sub),
        (&twilio, Action::Reactivate, suspended),
        (&twilio, Action::Deprovision, sub),
        (
            &flex,
            Action::Deprovision,
            "WK0000000000000000000000000000d001",
        ),
        (
            &flex_go,
            Action::Deprovision,
            "WK0000000000000000000000000000d002",
        ),
        (
            &flex_go,
            Action::Deprovision,
            "WK0000000000000000000000000000d003",
        ),
        (&frontline, Action::Suspend, "erin@acme.example"),
        (&frontline, Action::Reactivate, "frank@acme.example"),
        (&frontline, Action::Deprovision, "erin@acme.example"),
    ];
    for (t, action, id) in cases {
        let r = host.act(t, action, id, true).await.unwrap();
        assert!(r.dry_run && r.changed, "{} {id}: {r:?}", action.name());
        assert!(
            writes(&sim).is_empty(),
            "{} {id}: {:?}",
            action.name(),
            writes(&sim)
        );
    }
    for username in ["alice", "newcomer"] {
        let request = ProvisionRequest {
            username: username.into(),
            email: format!("{username}@acme.example"),
            full_name: "Some One".into(),
            roles: vec!["agent".into()],
            attributes_json: None,
        };
        let r = host.provision(&flex_go, &request, true).await.unwrap();
        assert!(r.dry_run, "{username}");
        assert!(writes(&sim).is_empty(), "{username}: {:?}", writes(&sim));
    }
}

#[tokio::test]
async fn frontline_identities_with_url_characters_round_trip() {
    let odd = [
        "a+b@x.example",
        "team/lead@x.example",
        "who?@x.example",
        "hash#tag@x.example",
        "first last@x.example",
    ];
    let mut v: Value = serde_json::from_str(twilio_sim::fixture::DEMO_JSON).unwrap();
    for (i, identity) in odd.iter().enumerate() {
        v["frontline_users"].as_array_mut().unwrap().push(json!({
            "sid": format!("US00000000000000000000000000000{:03}", i),
            "identity": identity,
            "friendly_name": format!("Odd {i}"),
            "state": "active",
            "is_available": true
        }));
    }
    let sim = sim(Fixture::from_json(&v.to_string()).unwrap()).await;
    let host = host(&sim).await;
    let t = tenant(&sim, "frontline");
    for identity in odd {
        let a = host.get_account(&t, identity).await.unwrap();
        assert_eq!(a.username.as_deref(), Some(identity));
        let r = host
            .act(&t, Action::Suspend, identity, false)
            .await
            .unwrap();
        assert!(r.changed, "{identity}");
        let state = sim.with_fixture(|f| {
            f.frontline_users
                .iter()
                .find(|u| u["identity"] == identity)
                .unwrap()["state"]
                .clone()
        });
        assert_eq!(state, "deactivated", "{identity}");
    }
}

#[tokio::test]
async fn every_action_is_audited_with_its_outcome() {
    let sim = sim(Fixture::demo()).await;
    let path =
        connector_e2e::target_dir().join(format!("audit-promises-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let host = Host::load(
        connector_e2e::connector_wasm(),
        connector_host::HostOptions {
            audit: Some(AuditLog::open(&path).unwrap()),
            ..options(&sim)
        },
    )
    .await
    .unwrap();
    let t = tenant(&sim, "twilio");
    let sub = "AC0000000000000000000000000000b001";
    host.act(&t, Action::Suspend, sub, true).await.unwrap();
    host.act(&t, Action::Suspend, MAIN, false)
        .await
        .unwrap_err();
    host.act(
        &t,
        Action::Deprovision,
        "AC00000000000000000000000000000bad",
        false,
    )
    .await
    .unwrap_err();
    let actions: Vec<Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v["event"] == "action")
        .collect();
    std::fs::remove_file(&path).ok();
    assert_eq!(actions.len(), 3, "{actions:#?}");
    assert_eq!(actions[0]["account"], sub);
    assert_eq!(actions[0]["dry_run"], true);
    assert!(actions[0]["result"].as_str().unwrap().contains("would set"));
    assert!(!actions[0]["warnings"].as_array().unwrap().is_empty());
    assert_eq!(actions[1]["account"], MAIN);
    assert!(
        actions[1]["result"].as_str().unwrap().contains("refused"),
        "{}",
        actions[1]
    );
    assert_eq!(actions[2]["action"], "deprovision");
    assert!(
        actions[2]["result"].as_str().unwrap().starts_with("error"),
        "{}",
        actions[2]
    );
}

#[tokio::test]
async fn the_connecting_account_in_upper_case_is_still_refused() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let t = tenant(&sim, "twilio");
    let shouting = MAIN.to_ascii_uppercase();
    for action in [Action::Suspend, Action::Deprovision] {
        let e = host.act(&t, action, &shouting, false).await.unwrap_err();
        assert_eq!(e.kind(), "refused", "{e}");
    }
    assert!(sim.requests().is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_synced_together_never_see_each_other() {
    let sim = sim(Fixture::demo()).await;
    let host = Arc::new(host(&sim).await);
    let customers = [
        "AC0000000000000000000000000000b001",
        "AC0000000000000000000000000000b002",
    ];
    let tokens: Vec<String> = customers
        .iter()
        .map(|sid| {
            sim.with_fixture(|f| {
                f.accounts.iter().find(|a| a["sid"] == *sid).unwrap()["auth_token"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
        })
        .collect();
    let tenants: Vec<Tenant> = customers
        .iter()
        .zip(&tokens)
        .map(|(sid, token)| {
            Tenant::new(
                *sid,
                "twilio",
                Credentials::AuthToken {
                    account_sid: sid.to_string(),
                    auth_token: token.clone(),
                },
            )
        })
        .collect();
    let results = host.sync_tenants(tenants, 2).await;
    for (r, sid) in results.iter().zip(customers) {
        let list = r.result.as_ref().unwrap();
        let ids: Vec<&str> = list.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, vec![sid], "{} sees only itself", r.tenant);
        let text = format!("{list:?}");
        for other in customers.iter().filter(|o| **o != sid) {
            assert!(!text.contains(other), "{sid} saw {other}");
        }
        for token in &tokens {
            assert!(!text.contains(token.as_str()));
        }
    }
    for r in sim.requests() {
        let user = r.user.clone().unwrap_or_default();
        assert!(
            r.path == "/2010-04-01/Accounts.json" || r.path.contains(&user),
            "{user} reached {}",
            r.path
        );
    }
}
