//! Suspend, reactivate, deprovision and their dry-runs, end to end.

use connector_e2e::{host, sim, tenant};
use connector_host::Action;
use connector_host::CallError;
use connector_host::types::{AccountStatus, ConnectorError};
use twilio_sim::{Fixture, Simulator};

const SUB: &str = "AC0000000000000000000000000000b001";
const MAIN: &str = "AC0000000000000000000000000000a001";

fn status_in_sim(sim: &Simulator, sid: &str) -> String {
    sim.with_fixture(|f| {
        f.accounts.iter().find(|a| a["sid"] == sid).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    })
}

fn mutations(sim: &Simulator) -> usize {
    sim.requests().iter().filter(|r| r.method != "GET").count()
}

#[tokio::test]
async fn suspend_reactivate_deprovision_change_twilio_state() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let t = tenant(&sim, "twilio");

    let r = host.act(&t, Action::Suspend, SUB, false).await.unwrap();
    assert!(r.changed && !r.dry_run);
    assert_eq!(r.status, Some(AccountStatus::Suspended));
    assert_eq!(status_in_sim(&sim, SUB), "suspended");
    let post = sim
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(post.path, format!("/2010-04-01/Accounts/{SUB}.json"));
    assert_eq!(post.body, "Status=suspended");

    // Idempotent: suspending again sends no update.
    let before = mutations(&sim);
    let again = host.act(&t, Action::Suspend, SUB, false).await.unwrap();
    assert!(!again.changed, "{}", again.message);
    assert_eq!(mutations(&sim), before);

    let r = host.act(&t, Action::Reactivate, SUB, false).await.unwrap();
    assert_eq!(r.status, Some(AccountStatus::Active));
    assert_eq!(status_in_sim(&sim, SUB), "active");

    let r = host.act(&t, Action::Deprovision, SUB, false).await.unwrap();
    assert_eq!(r.status, Some(AccountStatus::Deprovisioned));
    assert_eq!(status_in_sim(&sim, SUB), "closed");
    assert!(r.warnings.iter().any(|w| w.contains("30 days")));
    let listed = host.get_account(&t, SUB).await.unwrap();
    assert_eq!(listed.status, AccountStatus::Deprovisioned);

    // A closed account cannot come back.
    let err = host
        .act(&t, Action::Reactivate, SUB, false)
        .await
        .unwrap_err();
    assert!(err.kind() == "refused", "{err}");
}

#[tokio::test]
async fn dry_runs_send_no_mutation() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let t = tenant(&sim, "twilio");
    for action in [Action::Suspend, Action::Deprovision] {
        let r = host.act(&t, action, SUB, true).await.unwrap();
        assert!(r.dry_run && r.changed, "{}", r.message);
        assert!(r.message.starts_with("would set Status="), "{}", r.message);
    }
    let r = host
        .act(
            &t,
            Action::Reactivate,
            "AC0000000000000000000000000000b003",
            true,
        )
        .await
        .unwrap();
    assert!(r.message.contains("Status=active"));
    assert_eq!(mutations(&sim), 0);
    assert_eq!(status_in_sim(&sim, SUB), "active");
}

#[tokio::test]
async fn connecting_account_is_refused_without_any_request() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let t = tenant(&sim, "twilio");
    for action in [Action::Suspend, Action::Deprovision] {
        for dry_run in [false, true] {
            sim.clear_requests();
            let err = host.act(&t, action, MAIN, dry_run).await.unwrap_err();
            assert!(
                matches!(&err, CallError::Connector { error: ConnectorError::Refused(m), .. } if m.contains("connecting account")),
                "{err}"
            );
            assert!(
                sim.requests().is_empty(),
                "nothing may be sent for a refused action"
            );
        }
    }
    assert_eq!(status_in_sim(&sim, MAIN), "active");
}
