//! Many tenants on one host and one simulator: each call carries only its own tenant's
//! credentials, one tenant's failure leaves the others complete.

use connector_e2e::{cache_dir, connector_bin, host, sim};
use connector_host::types::ConnectorError;
use connector_host::{CallError, Credentials, Tenant};
use serde_json::{Value, json};
use std::sync::Arc;
use twilio_sim::{Fixture, Simulator};

const SUB: &str = "AC0000000000000000000000000000b001";

fn fixture() -> Fixture {
    let mut v: Value = serde_json::from_str(twilio_sim::fixture::DEMO_JSON).unwrap();
    v["api_keys"] =
        json!([{"sid": "SK00000000000000000000000000000001", "secret": "key-secret-one"}]);
    Fixture::from_json(&v.to_string()).unwrap()
}

fn token_of(sim: &Simulator, sid: &str) -> String {
    sim.with_fixture(|f| {
        f.accounts.iter().find(|a| a["sid"] == sid).unwrap()["auth_token"]
            .as_str()
            .unwrap()
            .to_string()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tenants_use_only_their_own_credentials() {
    let sim = sim(fixture()).await;
    let (main, main_token) = sim.main_credentials();
    let host = Arc::new(host(&sim).await);
    let tenants = vec![
        Tenant::new(
            "by-token",
            "twilio",
            Credentials::AuthToken {
                account_sid: main.clone(),
                auth_token: main_token,
            },
        ),
        Tenant::new(
            "by-key",
            "twilio",
            Credentials::ApiKey {
                account_sid: main.clone(),
                key_sid: "SK00000000000000000000000000000001".into(),
                secret: "key-secret-one".into(),
            },
        ),
        Tenant::new(
            "sub",
            "twilio",
            Credentials::AuthToken {
                account_sid: SUB.into(),
                auth_token: token_of(&sim, SUB),
            },
        ),
        Tenant::new(
            "broken",
            "twilio",
            Credentials::AuthToken {
                account_sid: main.clone(),
                auth_token: "wrong".into(),
            },
        ),
    ];
    let results = host.sync_tenants(tenants, 4).await;
    let by = |n: &str| results.iter().find(|r| r.tenant == n).unwrap();
    let token_list = by("by-token").result.as_ref().unwrap();
    assert_eq!(token_list.len(), 6);
    assert_eq!(
        by("by-key").result.as_ref().unwrap(),
        token_list,
        "an API key sees the same"
    );
    let sub = by("sub").result.as_ref().unwrap();
    assert_eq!(sub.len(), 1, "a subaccount's credentials reach only itself");
    assert_eq!(sub[0].id, SUB);
    assert_eq!(
        sub[0].last_activity.as_deref(),
        Some("2025-10-20T00:00:00Z")
    );
    assert!(matches!(
        &by("broken").result,
        Err(CallError::Connector {
            error: ConnectorError::Unauthorized(_),
            ..
        })
    ));

    // Every request the subaccount tenant made stayed within its own account.
    let reqs = sim.requests();
    let sub_reqs: Vec<_> = reqs
        .iter()
        .filter(|r| r.user.as_deref() == Some(SUB))
        .collect();
    assert!(!sub_reqs.is_empty());
    assert!(
        sub_reqs
            .iter()
            .all(|r| r.path == "/2010-04-01/Accounts.json" || r.path.contains(SUB)),
        "{sub_reqs:?}"
    );
    assert!(sub_reqs.iter().all(|r| r.authenticated));
    // The only unauthenticated request is the broken tenant's single attempt.
    let rejected: Vec<_> = reqs.iter().filter(|r| !r.authenticated).collect();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    let key_reqs = reqs
        .iter()
        .filter(|r| r.user.as_deref() == Some("SK00000000000000000000000000000001"))
        .count();
    let token_reqs = reqs
        .iter()
        .filter(|r| r.user.as_deref() == Some(main.as_str()) && r.authenticated)
        .count();
    assert_eq!(
        key_reqs, token_reqs,
        "both main-account tenants made the same full sync"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_file_through_the_cli_with_tenant_fields_and_audit() {
    let sim = sim(fixture()).await;
    let (main, main_token) = sim.main_credentials();
    let dir = cache_dir().join(format!("tenants-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("sub-token");
    connector_e2e::owner_only_file(&token_file, &token_of(&sim, SUB));
    let file = dir.join("tenants.toml");
    std::fs::write(
        &file,
        format!(
            "[[tenant]]\nname = \"acme\"\naccount_sid = \"{main}\"\nauth_token_env = \"ACME_TOKEN\"\n\n\
             [[tenant]]\nname = \"acme-flex\"\napp = \"flex\"\naccount_sid = \"{main}\"\nauth_token_env = \"ACME_TOKEN\"\n\
             flex_instance_sid = \"GO0000000000000000000000000000e001\"\n\n\
             [[tenant]]\nname = \"sub\"\naccount_sid = \"{SUB}\"\nauth_token_file = \"sub-token\"\n\n\
             [[tenant]]\nname = \"broken\"\naccount_sid = \"{main}\"\nauth_token_env = \"BROKEN_TOKEN\"\n"
        ),
    )
    .unwrap();
    let audit = dir.join("audit.jsonl");
    let out = std::process::Command::new(connector_bin())
        .args([
            "accounts",
            "--tenants",
            file.to_str().unwrap(),
            "--json",
            "--audit",
            audit.to_str().unwrap(),
        ])
        .args([
            "--connect-to",
            &sim.addr().to_string(),
            "--now",
            "2025-11-23T12:00:00Z",
        ])
        .env("CONNECTOR_CACHE_DIR", cache_dir())
        .env("ACME_TOKEN", &main_token)
        .env("BROKEN_TOKEN", "definitely-wrong")
        .env_remove("TWILIO_AUTH_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success(), "a failed tenant makes the run fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tenant broken: authentication failed"),
        "{stderr}"
    );
    assert!(!stderr.contains("definitely-wrong"));
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let count = |t: &str| rows.iter().filter(|r| r["tenant"] == t).count();
    assert_eq!(
        (
            count("acme"),
            count("acme-flex"),
            count("sub"),
            count("broken")
        ),
        (6, 5, 1, 0)
    );
    assert!(
        rows.iter()
            .filter(|r| r["tenant"] == "acme-flex")
            .all(|r| r["app"] == "flex")
    );
    let log = std::fs::read_to_string(&audit).unwrap();
    let events: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let tenants: std::collections::BTreeSet<_> = events
        .iter()
        .filter(|e| e["event"] == "request")
        .map(|e| e["tenant"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        tenants.into_iter().collect::<Vec<_>>(),
        vec!["acme", "acme-flex", "broken", "sub"]
    );
    assert!(
        events
            .iter()
            .all(|e| e.get("duration_ms").is_some() || e["event"] != "request")
    );
    assert!(!log.contains(&main_token) && !log.contains("definitely-wrong"));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn inline_secrets_in_a_tenants_file_are_refused() {
    let dir = cache_dir().join(format!("tenants-inline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("t.toml");
    std::fs::write(
        &file,
        "[[tenant]]\nname = \"x\"\naccount_sid = \"AC1\"\nauth_token = \"shh-inline\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(connector_bin())
        .args(["accounts", "--tenants", file.to_str().unwrap()])
        .env("CONNECTOR_CACHE_DIR", cache_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("inline secrets are refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("shh-inline"));
    std::fs::remove_dir_all(&dir).ok();
}
