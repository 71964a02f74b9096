//! The `connector` CLI as an operator runs it, against the simulator over loopback.

use connector_e2e::{cache_dir, connector_bin, run_clean, run_cli as cli, sim, text};
use serde_json::Value;
use std::process::{Command, Output};
use twilio_sim::Fixture;

fn lines(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_json_has_every_field_and_global_options_go_anywhere() {
    let sim = sim(Fixture::demo()).await;
    let addr = sim.addr().to_string();
    let out = cli(
        &sim,
        None,
        &[
            "accounts",
            "--app",
            "twilio",
            "--json",
            "--connect-to",
            &addr,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows = lines(&out);
    assert_eq!(rows.len(), 6);
    let b002 = rows
        .iter()
        .find(|r| r["id"] == "AC0000000000000000000000000000b002")
        .unwrap();
    assert_eq!(b002["app"], "twilio");
    assert_eq!(b002["username"], "Marketing SMS");
    assert_eq!(b002["display_name"], "Marketing SMS");
    assert_eq!(b002["email"], Value::Null);
    assert_eq!(b002["status"], "active");
    assert_eq!(b002["last_activity"], "2025-11-09T00:00:00Z");
    assert_eq!(
        b002["entitlements"],
        serde_json::json!([
            {"kind": "account_type", "id": "Full", "name": "Full", "last_activity": null},
            {"kind": "service", "id": "Messaging", "name": "Messaging", "last_activity": "2025-11-09T00:00:00Z"}
        ])
    );
    let statuses: Vec<_> = rows.iter().map(|r| r["status"].as_str().unwrap()).collect();
    for s in ["active", "suspended", "deprovisioned"] {
        assert!(statuses.contains(&s));
    }
    // Same result with the global options before the subcommand.
    let before = cli(
        &sim,
        None,
        &[
            "--json",
            "--connect-to",
            &addr,
            "--app",
            "twilio",
            "accounts",
        ],
    );
    assert_eq!(lines(&before), rows);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_account_and_actions_with_dry_run() {
    let sim = sim(Fixture::demo()).await;
    let addr = sim.addr().to_string();
    let out = cli(&sim, None, &["--connect-to", &addr, "accounts"]);
    let table = text(&out.stdout);
    assert!(
        table.contains("STATUS")
            && table.contains("Support line")
            && table.contains("6 account(s)"),
        "{table}"
    );

    let sub = "AC0000000000000000000000000000b001";
    let out = cli(
        &sim,
        None,
        &["account", sub, "--json", "--connect-to", &addr],
    );
    assert_eq!(lines(&out)[0]["id"], sub);

    let out = cli(
        &sim,
        None,
        &["suspend", sub, "--dry-run", "--json", "--connect-to", &addr],
    );
    let r = &lines(&out)[0];
    assert_eq!(
        (
            r["dry_run"].as_bool(),
            r["changed"].as_bool(),
            r["status"].as_str()
        ),
        (Some(true), Some(true), Some("active"))
    );
    assert!(sim.requests().iter().all(|r| r.method == "GET"));

    for (action, status) in [
        ("suspend", "suspended"),
        ("reactivate", "active"),
        ("deprovision", "deprovisioned"),
    ] {
        let out = cli(&sim, None, &[action, sub, "--json", "--connect-to", &addr]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(lines(&out)[0]["status"], status, "{action}");
    }

    let out = cli(
        &sim,
        None,
        &[
            "suspend",
            "AC0000000000000000000000000000a001",
            "--connect-to",
            &addr,
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr)
            .contains("refused: AC0000000000000000000000000000a001 is the connecting account"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_one_clear_line_without_secrets() {
    let sim = sim(Fixture::demo()).await;
    let addr = sim.addr().to_string();
    let out = cli(
        &sim,
        Some("not-the-right-token"),
        &["accounts", "--connect-to", &addr],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: authentication failed"), "{err}");
    assert!(!err.contains("not-the-right-token"));

    let out = cli(
        &sim,
        None,
        &["accounts", "--app", "salesforce", "--connect-to", &addr],
    );
    assert!(
        text(&out.stderr).contains("unknown app \"salesforce\""),
        "{}",
        text(&out.stderr)
    );

    let out = cli(
        &sim,
        None,
        &["accounts", "--now", "yesterday", "--connect-to", &addr],
    );
    assert!(text(&out.stderr).contains("--now must be an RFC 3339 timestamp"));

    let mut c = Command::new(connector_bin());
    let out = c
        .args(["accounts", "--connect-to", &addr])
        .env_clear()
        .env("CONNECTOR_CACHE_DIR", cache_dir())
        .output()
        .unwrap();
    assert!(
        text(&out.stderr).contains("TWILIO_ACCOUNT_SID is not set"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_output_or_audit() {
    let sim = sim(Fixture::demo()).await;
    let addr = sim.addr().to_string();
    let audit = cache_dir().join(format!("audit-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&audit);
    let audit_arg = audit.to_string_lossy().to_string();
    let mut all = String::new();
    for args in [
        vec!["accounts", "--json"],
        vec!["accounts"],
        vec!["account", "AC0000000000000000000000000000a001", "--json"],
        vec!["check"],
        vec!["deprovision", "AC0000000000000000000000000000b005"],
    ] {
        let mut a = args.clone();
        a.extend(["--connect-to", &addr, "--audit", &audit_arg]);
        let out = cli(&sim, None, &a);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        all.push_str(&text(&out.stdout));
        all.push_str(&text(&out.stderr));
    }
    let log = std::fs::read_to_string(&audit).unwrap();
    let events: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        events.iter().any(|e| e["event"] == "request"
            && e["host"] == "api.twilio.com"
            && e["status"] == 200)
    );
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "action" && e["action"] == "deprovision")
    );
    all.push_str(&log);
    for s in sim.secrets() {
        assert!(!all.contains(&s), "a secret appeared in output or audit");
    }
}

#[test]
fn a_second_cli_run_does_no_compilation() {
    let dir = cache_dir().join(format!("cli-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = || {
        let out = Command::new(connector_bin())
            .args(["apps", "--json"])
            .env("CONNECTOR_CACHE_DIR", &dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let first = run();
    assert_eq!(first["compiled"], "now");
    assert_eq!(first["apps"].as_array().unwrap().len(), 4);
    assert_eq!(run()["compiled"], "cache");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_is_kept_shown_and_cleared_and_full_reads_everything_again() {
    let sim = sim(Fixture::demo()).await;
    // An account that allows 3 requests at once: the host learns it, and remembers it.
    sim.faults().concurrency_limit = Some(3);
    sim.faults().latency = std::time::Duration::from_millis(20);
    let addr = sim.addr().to_string();
    let dir = connector_e2e::target_dir().join(format!("test-cli-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let dir_s = dir.display().to_string();
    let run = |args: &[&str]| {
        let mut all = vec!["--state-dir", &dir_s, "--connect-to", &addr];
        all.extend_from_slice(args);
        cli(&sim, None, &all)
    };
    let monthly = |sim: &twilio_sim::Simulator| {
        sim.requests()
            .iter()
            .filter(|r| r.path.ends_with("/Monthly.json"))
            .count()
    };
    let first = run(&["accounts", "--json"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(monthly(&sim) > 0);

    let shown = run(&["state", "show"]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let shown = text(&shown.stdout);
    assert!(
        shown.starts_with("tenant default (twilio app, account AC"),
        "{shown}"
    );
    assert!(
        shown.contains("usage/AC0000000000000000000000000000b001"),
        "{shown}"
    );
    assert!(
        shown.contains("  concurrency limit remembered for the account: 3 in flight (the upstream's ceiling at its last throttle), learned "),
        "{shown}"
    );
    assert!(shown.ends_with("; a new run starts there\n"), "{shown}");
    let (_, secret) = sim.main_credentials();
    assert!(!shown.contains(&secret));

    // A second run re-syncs from the kept state; --full reads everything again.
    sim.clear_requests();
    let again = run(&["accounts", "--json"]);
    assert!(again.status.success());
    assert_eq!(monthly(&sim), 0, "a re-sync reads no Monthly usage");
    assert_eq!(again.stdout, first.stdout, "and reports the same");
    sim.clear_requests();
    let full = run(&["accounts", "--json", "--full"]);
    assert!(full.status.success());
    assert!(monthly(&sim) > 0, "--full reads everything");
    assert_eq!(full.stdout, first.stdout);

    let cleared = text(&run(&["state", "clear"]).stdout);
    assert!(cleared.contains("): state cleared\n"), "{cleared}");
    assert!(
        cleared.ends_with(": its remembered concurrency limit forgotten\n"),
        "{cleared}"
    );
    let empty = text(&run(&["state", "show"]).stdout);
    assert!(empty.contains(": 0 key(s), 0 bytes"), "{empty}");
    assert!(!empty.contains("concurrency limit"), "{empty}");
    let _ = std::fs::remove_dir_all(dir);
}

/// `make demo`'s job: every app the plugin declares synced from the built-in simulator, each
/// configured as an operator would (the Flex instance, the Frontline identities, the
/// Organization and its OAuth client), with nothing failing.
#[test]
fn the_demo_syncs_every_app_and_fails_none() {
    let out = run_clean(&["demo"], &[]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stderr.contains("error:"), "{stderr}");
    for app in ["twilio", "flex", "frontline", "organization"] {
        let header = format!("== app: {app}");
        let section = stdout
            .split(&header)
            .nth(1)
            .unwrap_or_else(|| panic!("no {app} section: {stdout}"));
        let count = section
            .lines()
            .find_map(|l| l.strip_suffix(" account(s)"))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("{app} lists no accounts: {section}"));
        assert!(count > 0, "{app}: {section}");
    }
    assert_eq!(stdout.matches("== app: ").count(), 4, "{stdout}");
}
