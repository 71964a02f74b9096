//! The permission screen and the approved build, through the real `connector` binary:
//! `connector routes` shows what a plugin asks for (with no credentials, sending nothing), and
//! `CONNECTOR_PLUGIN_SHA256` pins the build every other command may run.

use connector_e2e::{
    cache_dir, connector_wasm, greedy_wasm, scratch_dir, sim, text, vendor_policy,
};
use connector_host::{Host, HostOptions};
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use twilio_sim::{Fixture, Simulator};

/// `connector routes`' exit status when a route is refused (see `connector routes --help`).
const REFUSED_EXIT: i32 = 3;

/// Run the CLI with only PATH, the test cache and `env` in its environment: no credentials.
fn connector(args: &[&str], env: &[(&str, &str)]) -> Output {
    connector_e2e::run_clean(args, env)
}

/// Run the CLI as an operator against `sim`: its main account's credentials and `env`.
fn against(sim: &Simulator, args: &[&str], env: &[(&str, &str)]) -> Output {
    let (sid, token) = sim.main_credentials();
    let addr = sim.addr().to_string();
    let mut all = vec![
        ("TWILIO_ACCOUNT_SID", sid.as_str()),
        ("TWILIO_AUTH_TOKEN", token.as_str()),
    ];
    all.extend_from_slice(env);
    let mut args = args.to_vec();
    args.extend(["--connect-to", addr.as_str()]);
    connector(&args, &all)
}

fn routes_json(plugin: &Path, extra: &[&str]) -> (Output, Value) {
    let mut args = vec!["routes", "--json", "--plugin", plugin.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = connector(&args, &[]);
    let doc = serde_json::from_str(text(&out.stdout).trim())
        .unwrap_or_else(|e| panic!("one JSON document ({e}): {}", text(&out.stdout)));
    (out, doc)
}

fn plugin_arg() -> &'static str {
    connector_wasm().to_str().unwrap()
}

#[test]
fn routes_lists_every_route_of_the_twilio_app_as_granted_without_credentials() {
    let out = connector(
        &["routes", "--plugin", plugin_arg(), "--app", "twilio"],
        &[],
    );
    let screen = text(&out.stdout);
    assert!(out.status.success(), "{screen}{}", text(&out.stderr));
    assert!(screen.contains("app twilio"), "{screen}");
    assert!(
        !screen.contains("app flex"),
        "--app shows one app: {screen}"
    );
    let routes: Vec<&str> = screen
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .collect();
    assert!(routes.len() >= 5, "{screen}");
    for r in &routes {
        assert!(r.starts_with("  granted  "), "{r}");
    }
    for declared in [
        "GET api.twilio.com/2010-04-01/Accounts.json",
        "POST api.twilio.com/2010-04-01/Accounts/{AC}.json (for suspend, reactivate, deprovision)",
    ] {
        assert!(
            routes
                .iter()
                .any(|r| r.trim_start_matches("  granted  ") == declared),
            "{declared} missing: {screen}"
        );
    }
    assert!(
        screen.contains("- suspend: writes the account in {AC}; form body: Status = suspended"),
        "{screen}"
    );
    let sha = screen
        .lines()
        .find_map(|l| l.strip_prefix("sha256    "))
        .unwrap_or_else(|| panic!("no sha256 line: {screen}"));
    assert!(
        sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sha}"
    );
    assert!(
        screen.contains(&format!("CONNECTOR_PLUGIN_SHA256={sha}")),
        "{screen}"
    );
}

#[tokio::test]
async fn routes_json_is_the_hosts_review_and_every_route_is_granted() {
    let (out, doc) = routes_json(connector_wasm(), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(doc["name"], "twilio-governance-connector");
    assert_eq!(doc["contract_version"], "0.4.0");
    assert_eq!(doc["granted"], true);
    assert_eq!(doc["approved"], Value::Null);
    assert_eq!(
        doc["apps"],
        serde_json::json!(["twilio", "flex", "frontline", "organization"])
    );
    let sha = doc["sha256"].as_str().unwrap();
    assert!(
        sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sha}"
    );

    // The routes are the host's own review of the plugin, in full.
    let options = HostOptions {
        cache_dir: Some(cache_dir()),
        vendor_policy: vendor_policy(),
        ..HostOptions::default()
    };
    let review = Host::review(connector_wasm(), options).await.unwrap();
    assert_eq!(doc["contract_version"], review.contract.name());
    let reviews = review.routes;
    let routes = doc["routes"].as_array().unwrap();
    assert_eq!(routes.len(), reviews.len());
    for (shown, r) in routes.iter().zip(&reviews) {
        assert_eq!(shown["app"], r.app.as_str());
        assert_eq!(shown["route"], r.route.as_str());
        assert_eq!(shown["granted"], true, "{shown}");
        assert_eq!(shown["refusal"], Value::Null);
        assert_eq!(shown["constraints"], serde_json::json!(r.constraints));
    }
    let suspend = routes
        .iter()
        .find(|r| r["app"] == "twilio" && r["route"].as_str().unwrap().starts_with("POST"))
        .unwrap();
    assert!(
        suspend["constraints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("Status = suspended")),
        "{suspend}"
    );
}

#[test]
fn routes_for_an_unknown_app_names_the_apps_there_are() {
    let out = connector(&["routes", "--plugin", plugin_arg(), "--app", "nope"], &[]);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert_ne!(
        out.status.code(),
        Some(REFUSED_EXIT),
        "an error, not a refusal"
    );
    assert!(
        err.contains("\"nope\"") && err.contains("twilio, flex, frontline"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_the_policy_refuses_is_shown_with_its_refusals_and_fails_the_review() {
    // The greedy build of the hostile component declares routes outside the vendor policy.
    let greedy = greedy_wasm();
    let (out, doc) = routes_json(greedy, &[]);
    assert_eq!(
        out.status.code(),
        Some(REFUSED_EXIT),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(doc["granted"], false);
    let routes = doc["routes"].as_array().unwrap();
    let refused: Vec<&Value> = routes.iter().filter(|r| r["granted"] == false).collect();
    assert!(!refused.is_empty(), "{doc}");
    for r in &refused {
        assert!(r["refusal"].as_str().is_some_and(|w| !w.is_empty()), "{r}");
        assert_eq!(r["constraints"], serde_json::json!([]), "{r}");
    }

    let out = connector(&["routes", "--plugin", greedy.to_str().unwrap()], &[]);
    let screen = text(&out.stdout);
    assert_eq!(out.status.code(), Some(REFUSED_EXIT));
    assert!(screen.contains("  REFUSED  "), "{screen}");
    assert!(screen.contains("do not approve this build"), "{screen}");

    // What the screen refuses, the host refuses to load: nothing reaches the simulator.
    let sim = sim(Fixture::demo()).await;
    let out = against(
        &sim,
        &["accounts", "--plugin", greedy.to_str().unwrap()],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("connector routes --plugin"),
        "{}",
        text(&out.stderr)
    );
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_approved_build_runs_and_any_other_is_refused_before_anything_is_sent() {
    let (_, doc) = routes_json(connector_wasm(), &[]);
    let sha = doc["sha256"].as_str().unwrap().to_string();
    let sim = sim(Fixture::demo()).await;

    // The digest the screen printed is the one the host accepts (in either case).
    for pin in [sha.clone(), sha.to_ascii_uppercase()] {
        let out = against(
            &sim,
            &["accounts", "--json", "--plugin", plugin_arg()],
            &[("CONNECTOR_PLUGIN_SHA256", &pin)],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout).lines().count(), 6);
    }
    let out = connector(
        &["routes", "--json", "--plugin", plugin_arg()],
        &[("CONNECTOR_PLUGIN_SHA256", &sha)],
    );
    let pinned: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(pinned["approved"], true);

    // Another digest: refused with one line naming the file and both digests, nothing sent,
    // nothing compiled.
    sim.clear_requests();
    let wrong = "0".repeat(64);
    let fresh_cache = scratch_dir("pin-refused-cache");
    let out = against(
        &sim,
        &["accounts", "--plugin", plugin_arg()],
        &[
            ("CONNECTOR_PLUGIN_SHA256", &wrong),
            ("CONNECTOR_CACHE_DIR", fresh_cache.to_str().unwrap()),
        ],
    );
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&sha) && err.contains(&wrong) && err.contains(plugin_arg()),
        "{err}"
    );
    assert!(
        err.contains("CONNECTOR_PLUGIN_SHA256"),
        "a next step: {err}"
    );
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    let compiled = std::fs::read_dir(&fresh_cache)
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(
        compiled,
        0,
        "nothing is compiled into {}",
        fresh_cache.display()
    );
    let _ = std::fs::remove_dir_all(&fresh_cache);
    let _ = std::fs::remove_file(fresh_cache.with_extension("key"));

    // The flag pins as the variable does, for the commands that run a plugin themselves too.
    for command in [
        &["suspend", "AC0000000000000000000000000000b001"][..],
        &["conformance"],
    ] {
        let mut args = command.to_vec();
        args.extend(["--plugin-sha256", &wrong, "--plugin", plugin_arg()]);
        let out = against(&sim, &args, &[]);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{command:?}");
        assert!(
            err.contains(&sha) && err.contains(&wrong),
            "{command:?}: {err}"
        );
    }
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());

    // A pin that is not a digest never means "no pin".
    let out = against(
        &sim,
        &["accounts", "--plugin", plugin_arg()],
        &[("CONNECTOR_PLUGIN_SHA256", "")],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("64 hex digits"),
        "{}",
        text(&out.stderr)
    );
    assert!(sim.requests().is_empty());
}
