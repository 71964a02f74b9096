//! The `frontline` app end to end: fetch by SID or identity, state and availability changes,
//! and identity files with missing users.

use connector_e2e::{cache_dir, connector_bin, host, sim, tenant};
use connector_host::Action;
use connector_host::types::AccountStatus;
use std::io::Write;
use std::process::{Command, Stdio};
use twilio_sim::{Fixture, Simulator};

const ERIN: &str = "US0000000000000000000000000000a0a1";

fn user(sim: &Simulator, sid: &str) -> serde_json::Value {
    sim.with_fixture(|f| {
        f.frontline_users
            .iter()
            .find(|u| u["sid"] == sid)
            .unwrap()
            .clone()
    })
}

#[tokio::test]
async fn fetch_by_sid_or_identity() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let t = tenant(&sim, "frontline");
    let by_sid = host.get_account(&t, ERIN).await.unwrap();
    let by_identity = host.get_account(&t, "erin@acme.example").await.unwrap();
    assert_eq!(by_sid, by_identity);
    assert_eq!(by_sid.status, AccountStatus::Active);
    assert_eq!(by_sid.username.as_deref(), Some("erin@acme.example"));
    assert_eq!(by_sid.display_name.as_deref(), Some("Erin Evans"));
    let frank = host.get_account(&t, "frank@acme.example").await.unwrap();
    assert_eq!(
        frank.status,
        AccountStatus::Suspended,
        "deactivated is suspended"
    );
    let err = host.list_page(&t, None).await.unwrap_err();
    assert!(err.kind() == "unsupported");
}

#[tokio::test]
async fn deactivate_reactivate_and_availability() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    let t = tenant(&sim, "frontline");
    let r = host
        .act(&t, Action::Suspend, "erin@acme.example", false)
        .await
        .unwrap();
    assert!(r.changed && r.status == Some(AccountStatus::Suspended));
    assert!(r.warnings[0].contains("does not block a future SSO login"));
    assert_eq!(user(&sim, ERIN)["state"], "deactivated");
    let post = sim
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(
        (post.path.as_str(), post.body.as_str()),
        (format!("/v1/Users/{ERIN}").as_str(), "State=deactivated")
    );

    let again = host
        .act(&t, Action::Deprovision, ERIN, false)
        .await
        .unwrap();
    assert!(!again.changed && again.warnings[0].contains("SSO"));

    let r = host
        .act(
            &t.clone().with_option("available", "false"),
            Action::Reactivate,
            ERIN,
            false,
        )
        .await
        .unwrap();
    assert_eq!(r.status, Some(AccountStatus::Active));
    assert_eq!(user(&sim, ERIN)["state"], "active");
    assert_eq!(user(&sim, ERIN)["is_available"], false);

    let before = sim.requests().len();
    let dry = host.act(&t, Action::Suspend, ERIN, true).await.unwrap();
    assert!(dry.dry_run && dry.changed);
    assert!(sim.requests()[before..].iter().all(|r| r.method == "GET"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_file_reports_missing_users_and_keeps_the_rest() {
    let sim = sim(Fixture::demo()).await;
    let (sid, token) = sim.main_credentials();
    let mut child = Command::new(connector_bin())
        .args([
            "accounts",
            "--app",
            "frontline",
            "--identities",
            "-",
            "--json",
            "--connect-to",
            &sim.addr().to_string(),
        ])
        .env("CONNECTOR_CACHE_DIR", cache_dir())
        .env("TWILIO_ACCOUNT_SID", sid)
        .env("TWILIO_AUTH_TOKEN", token)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"erin@acme.example\nghost@acme.example\n\nUS0000000000000000000000000000a0a2\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["status"], "active");
    assert_eq!(rows[1]["status"], "suspended");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not found (1 of 3): ghost@acme.example"),
        "{err}"
    );
}

#[tokio::test]
async fn check_proves_credentials_for_every_app() {
    let sim = sim(Fixture::demo()).await;
    let host = host(&sim).await;
    for app in ["twilio", "flex", "frontline"] {
        let summary = host.check(&tenant(&sim, app)).await.unwrap();
        assert!(summary.starts_with("connected"), "{app}: {summary}");
        let (sid, _) = sim.main_credentials();
        let wrong = connector_host::Tenant::new(
            "w",
            app,
            connector_host::Credentials::AuthToken {
                account_sid: sid,
                auth_token: "bad".into(),
            },
        );
        let err = host.check(&wrong).await.unwrap_err();
        assert!(err.kind() == "unauthorized", "{app}: {err}");
    }
}
