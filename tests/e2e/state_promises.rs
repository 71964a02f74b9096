//! Host-kept state holds the host's promises whatever the plugin does (the hostile component
//! attacks it): no credential is ever stored, buckets are bounded, a failed call keeps
//! nothing, and no tenant reaches another's state or a bucket the host did not give it.

use connector_e2e::{hostile_wasm, options, run_clean, sim, tenant, text};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_is_shown_and_cleared_from_names_and_accounts_without_any_secret() {
    let sim = sim(Fixture::demo()).await;
    let addr = sim.addr().to_string();
    let (main, token) = sim.main_credentials();
    let dir = state_dir("secretless");
    let kept = dir.join("state");
    std::fs::create_dir_all(&dir).unwrap();
    let kept_s = kept.display().to_string();
    let file = |name: &str, body: String| {
        let f = dir.join(name);
        std::fs::write(&f, body).unwrap();
        f.display().to_string()
    };
    // A sync keeps state for acme, and for the tenant named as the environment's is.
    let sync = file(
        "sync.toml",
        format!(
            "[[tenant]]\nname = \"acme\"\naccount_sid = \"{main}\"\nauth_token_env = \"ACME_TOKEN\"\n\n\
             [[tenant]]\nname = \"default\"\naccount_sid = \"{main}\"\nauth_token_env = \"ACME_TOKEN\"\n"
        ),
    );
    let out = run_clean(
        &[
            "accounts",
            "--tenants",
            &sync,
            "--state-dir",
            &kept_s,
            "--connect-to",
            &addr,
        ],
        &[("ACME_TOKEN", &token)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    // The same tenants, their secrets nowhere: a file that does not exist (so it was never
    // opened) and a variable that is not set. No variable at all is in the environment.
    assert!(!dir.join("no-such-token").exists());
    let secretless = file(
        "secretless.toml",
        format!(
            "[[tenant]]\nname = \"acme\"\naccount_sid = \"{main}\"\nauth_token_file = \"no-such-token\"\n\n\
             [[tenant]]\nname = \"other\"\naccount_sid = \"{main}\"\n\
             api_key_sid = \"SK00000000000000000000000000000001\"\napi_secret_env = \"UNSET_SECRET\"\n"
        ),
    );
    let state = |action: &str, tenants: Option<&str>, env: &[(&str, &str)]| {
        let mut args = vec!["state", action, "--state-dir", &kept_s];
        if let Some(f) = tenants {
            args.extend(["--tenants", f]);
        }
        run_clean(&args, env)
    };
    let shown = state("show", Some(&secretless), &[]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let shown = text(&shown.stdout);
    assert!(
        shown.starts_with(&format!("tenant acme (twilio app, account {main}): ")),
        "{shown}"
    );
    assert!(
        shown.contains("usage/AC0000000000000000000000000000b001"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "tenant other (twilio app, account {main}): 0 key(s), 0 bytes"
        )),
        "{shown}"
    );
    assert!(!shown.contains(&token));

    // The environment's tenant needs only TWILIO_ACCOUNT_SID, and says so when it is missing.
    let env_shown = state("show", None, &[("TWILIO_ACCOUNT_SID", &main)]);
    assert!(env_shown.status.success(), "{}", text(&env_shown.stderr));
    let env_shown = text(&env_shown.stdout);
    assert!(
        env_shown.starts_with(&format!("tenant default (twilio app, account {main}): "))
            && env_shown.contains("usage/AC0000000000000000000000000000b001"),
        "{env_shown}"
    );
    let no_sid = state("show", None, &[]);
    assert!(!no_sid.status.success());
    assert!(
        text(&no_sid.stderr).contains("TWILIO_ACCOUNT_SID is not set"),
        "{}",
        text(&no_sid.stderr)
    );

    // Clearing works the same way, and only for the tenants named.
    let cleared = state("clear", Some(&secretless), &[]);
    assert!(cleared.status.success(), "{}", text(&cleared.stderr));
    assert_eq!(
        text(&cleared.stdout),
        format!(
            "tenant acme (twilio app, account {main}): state cleared\n\
             tenant other (twilio app, account {main}): no state kept\n"
        )
    );
    let again = text(&state("show", Some(&secretless), &[]).stdout);
    assert!(
        again.starts_with(&format!(
            "tenant acme (twilio app, account {main}): 0 key(s), 0 bytes"
        )),
        "{again}"
    );
    let env_cleared = state("clear", None, &[("TWILIO_ACCOUNT_SID", &main)]);
    assert!(
        env_cleared.status.success(),
        "{}",
        text(&env_cleared.stderr)
    );
    assert!(
        text(&env_cleared.stdout).ends_with(": state cleared\n"),
        "{}",
        text(&env_cleared.stdout)
    );
    assert!(!dir.join("no-such-token").exists());
    let _ = std::fs::remove_dir_all(dir);
}
