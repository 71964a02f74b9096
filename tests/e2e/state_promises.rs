//! Host-kept state holds the host's promises whatever the plugin does (the hostile component
//! attacks it): no credential is ever stored, buckets are bounded, a failed call keeps
//! nothing, and no tenant reaches another's state or a bucket the host did not give it.

use connector_e2e::{hostile_wasm, options, sim, tenant};
use connector_host::{Credentials, Host, HostOptions, Limits, Tenant};
use std::path::{Path, PathBuf};
use twilio_sim::{Fixture, Simulator};

fn state_dir(name: &str) -> PathBuf {
    connector_e2e::scratch_dir(&format!("state-{name}"))
}

async fn hostile(sim: &Simulator, dir: &Path, limits: Limits) -> Host {
    let opts = HostOptions {
        state_dir: Some(dir.to_path_buf()),
        limits,
        ..options(sim)
    };
    Host::load(hostile_wasm(), opts).await.unwrap()
}

/// Run a mode for `t`; the plugin's report, or the error as text.
async fn run(host: &Host, t: &Tenant) -> String {
    match host.list_page(t, None).await {
        Ok(page) => page.accounts[0].display_name.clone().unwrap_or_default(),
        Err(e) => format!("error: {e}"),
    }
}

/// Every file under `dir`, as bytes.
fn files(dir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(std::fs::read(p).unwrap());
            }
        }
    }
    out
}

#[tokio::test]
async fn the_tenants_credential_is_never_stored() {
    let sim = sim(Fixture::demo()).await;
    let dir = state_dir("secret");
    let host = hostile(&sim, &dir, Limits::default()).await;
    let (_, secret) = sim.main_credentials();
    let t = tenant(&sim, "twilio")
        .with_option("mode", "state-secret")
        .with_option("value", &secret);
    let report = run(&host, &t).await;
    assert_eq!(
        report,
        "raw=Err(Error::AccessDenied) hidden=Err(Error::AccessDenied) key=Err(Error::AccessDenied)",
        "every write holding the credential is refused"
    );
    let kept = host.state(&t).await.unwrap();
    assert!(kept.is_empty(), "{:?}", kept.entries().keys());
    for f in files(&dir) {
        assert!(!String::from_utf8_lossy(&f).contains(&secret));
    }
}

#[tokio::test]
async fn buckets_are_bounded() {
    let sim = sim(Fixture::demo()).await;
    let dir = state_dir("flood");
    let limits = Limits {
        state_bytes: 8 << 20,
        ..Limits::default()
    };
    let host = hostile(&sim, &dir, limits).await;
    let t = tenant(&sim, "twilio").with_option("mode", "state-flood");
    let report = run(&host, &t).await;
    assert!(
        report.starts_with("stored 7 MiB; stopped: Error::Other(")
            && report.contains("over its limit"),
        "{report}"
    );
    assert!(host.state(&t).await.unwrap().bytes() <= 8 << 20);
    let on_disk: usize = files(&dir).iter().map(Vec::len).sum();
    // Base64 and the file's frame: bounded by the bucket's limit, not by what was attempted.
    assert!(on_disk < 12 << 20, "{on_disk} bytes on disk");
}

#[tokio::test]
async fn a_failed_call_keeps_nothing_and_a_successful_one_keeps_its_writes() {
    let sim = sim(Fixture::demo()).await;
    let dir = state_dir("failed");
    let host = hostile(&sim, &dir, Limits::default()).await;
    let t = |then: &str| {
        tenant(&sim, "twilio")
            .with_option("mode", "state-write")
            .with_option("value", "v1")
            .with_option("then", then)
    };
    let failed = run(&host, &t("fail")).await;
    assert!(failed.starts_with("error:"), "{failed}");
    assert!(host.state(&t("fail")).await.unwrap().is_empty());
    assert_eq!(run(&host, &t("ok")).await, "Ok(())");
    assert_eq!(
        host.state(&t("ok")).await.unwrap().get("k"),
        Some(&b"v1"[..])
    );
}

#[tokio::test]
async fn no_tenant_reaches_another_tenants_state_or_an_ungiven_bucket() {
    let sim = sim(Fixture::demo()).await;
    let dir = state_dir("tenants");
    let host = hostile(&sim, &dir, Limits::default()).await;
    let (sid, token) = sim.main_credentials();
    let as_tenant = |name: &str, account: &str, mode: &str, value: &str| {
        Tenant::new(
            name,
            "twilio",
            Credentials::AuthToken {
                account_sid: if account == "main" {
                    sid.clone()
                } else {
                    account.to_string()
                },
                auth_token: token.clone(),
            },
        )
        .with_option("mode", mode)
        .with_option("value", value)
    };
    assert_eq!(
        run(
            &host,
            &as_tenant("alice", "main", "state-write", "alice-data")
        )
        .await,
        "Ok(())"
    );
    // Alice reads her own; Bob (same account, another tenant) and a tenant named alice of
    // another account see nothing; no name reaches any other store.
    let alice = run(&host, &as_tenant("alice", "main", "state-read", "")).await;
    assert!(
        alice.starts_with(r#"tenant=Ok(Some("alice-data"))"#),
        "{alice}"
    );
    for other in [
        as_tenant("bob", "main", "state-read", ""),
        as_tenant(
            "alice",
            "AC00000000000000000000000000000bbb",
            "state-read",
            "",
        ),
    ] {
        let seen = run(&host, &other).await;
        assert!(
            seen.starts_with("tenant=Ok(None) listing=Ok(None)"),
            "{seen}"
        );
        assert!(!seen.contains("alice-data"), "{seen}");
    }
    assert!(
        alice.ends_with("=Error::NoSuchStore ../other=Error::NoSuchStore tenant/other=Error::NoSuchStore other=Error::NoSuchStore"),
        "{alice}"
    );
    // The host still serves the tenant normally afterwards.
    let ok = run(&host, &as_tenant("alice", "main", "ok", "")).await;
    assert_eq!(ok, "ok");
}

#[tokio::test]
async fn a_listings_bucket_reaches_its_next_pages_and_no_other_tenant() {
    let sim = sim(Fixture::demo()).await;
    let dir = state_dir("listing");
    let host = hostile(&sim, &dir, Limits::default()).await;
    let (sid, token) = sim.main_credentials();
    let as_tenant = |name: &str, mode: &str| {
        Tenant::new(
            name,
            "twilio",
            Credentials::AuthToken {
                account_sid: sid.clone(),
                auth_token: token.clone(),
            },
        )
        .with_option("mode", mode)
        .with_option("value", "alice-listing")
    };
    let first = host
        .list_page(&as_tenant("alice", "listing-write"), None)
        .await
        .unwrap();
    let cursor = first.next_cursor.expect("a next page");
    assert_ne!(cursor, "next", "the host hands out its own cursor");
    let page = |name: &'static str, cursor: String| {
        let (host, t) = (&host, as_tenant(name, "state-read"));
        async move {
            let p = host.list_page(&t, Some(&cursor)).await.unwrap();
            p.accounts[0].display_name.clone().unwrap_or_default()
        }
    };
    // Another tenant given alice's cursor, or a cursor the host never issued, finds the
    // listing bucket empty; alice's next page finds what her first page kept.
    let bob = page("bob", cursor.clone()).await;
    assert!(bob.contains("listing=Ok(None)"), "{bob}");
    let forged = page("alice", "Lff~next".to_string()).await;
    assert!(forged.contains("listing=Ok(None)"), "{forged}");
    // A page that fails can be asked again with the same cursor and its listing state.
    let failed = host
        .list_page(&as_tenant("alice", "trap"), Some(&cursor))
        .await;
    assert!(failed.is_err());
    let alice = page("alice", cursor).await;
    assert!(
        alice.contains(r#"listing=Ok(Some("alice-listing"))"#),
        "{alice}"
    );
}
