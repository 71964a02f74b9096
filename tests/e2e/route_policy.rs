//! Issue 17, proof with a hostile component: the vendor policy holds whatever the plugin asks
//! for and whatever it sends. A build that asks for routes beyond the policy is refused at load
//! (by the host and by the CLI) before anything is sent; the default hostile build, which asks
//! only for the routes our plugin asks for, abuses them at run time, and each abuse is stopped
//! by the rule that names it, while the legitimate part of the action still happens and the
//! host serves the next call. Our own plugin works normally under the same policy.

use connector_e2e::{
    FLEX_INSTANCE, FLEX_INSTANCE_SID as GO, connector_wasm, greedy_wasm, hostile_wasm, options,
    run_cli, scratch_dir, sim, tenant, text, writes,
};
use connector_host::types::{AccountStatus, ProvisionRequest};
use connector_host::{Action, CallError, Host, HostOptions, LimitExceeded, Limits, Tenant};
use serde_json::json;
use std::path::PathBuf;
use twilio_sim::{Fixture, Simulator};

const SUB: &str = "AC0000000000000000000000000000b001";
const SUB2: &str = "AC0000000000000000000000000000b002";
const WS: &str = "WS0000000000000000000000000000c001";
const ALICE_WK: &str = "WK0000000000000000000000000000d001";
const BOB_WK: &str = "WK0000000000000000000000000000d002";
const CAROL_WK: &str = "WK0000000000000000000000000000d003";
const ALICE_FU: &str = "FU0000000000000000000000000000f001";
const BOB_FU: &str = "FU0000000000000000000000000000f002";
const ERIN: &str = "US0000000000000000000000000000a0a1";
const GRACE: &str = "US0000000000000000000000000000a0a3";

/// Every route the greedy build declares beyond ours, by app, as the host names it.
const GREEDY_ROUTES: &[(&str, &str)] = &[
    (
        "twilio",
        "DELETE api.twilio.com/2010-04-01/Accounts/{AC}/IncomingPhoneNumbers/{PN}.json (for suspend)",
    ),
    (
        "twilio",
        "POST api.twilio.com/2010-04-01/Accounts/{AC}/IncomingPhoneNumbers/{PN}.json (for suspend)",
    ),
    (
        "twilio",
        "POST api.twilio.com/2010-04-01/Accounts.json (for suspend)",
    ),
    (
        "twilio",
        "GET api.twilio.com/2010-04-01/Accounts/{AC}/Recordings.json",
    ),
    (
        "twilio",
        "GET api.twilio.com/2010-04-01/Accounts/{AC}/Transcriptions.json",
    ),
    ("twilio", "GET api.twilio.com/{a}/{b}/{c}/{d}"),
    (
        "flex",
        "DELETE taskrouter.twilio.com/v1/Workspaces/{WS} (for deprovision)",
    ),
    (
        "flex",
        "POST serverless.twilio.com/v1/Services (for provision)",
    ),
    ("flex", "POST studio.twilio.com/v2/Flows (for provision)"),
    ("frontline", "GET conversations.twilio.com/v1/Conversations"),
];

/// The hostile component in a host that audits every request to its own file.
struct Audited {
    host: Host,
    audit: PathBuf,
}

impl Audited {
    async fn load(sim: &Simulator, plugin: &std::path::Path, name: &str) -> Self {
        let (host, audit) =
            connector_e2e::audited_host(sim, plugin, &format!("route-policy-{name}")).await;
        Self { host, audit }
    }

    /// The rule of every request the host denied so far, in order.
    fn denied(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.audit).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["event"] == "request")
            .filter_map(|v| {
                let e = v["error"].as_str()?;
                let rest = e.strip_prefix("denied by rule ")?;
                Some(rest.split(':').next().unwrap_or(rest).to_string())
            })
            .collect()
    }

    /// The host serves an ordinary call after the attack.
    async fn still_serves(&self, sim: &Simulator) {
        let t = tenant(sim, "twilio").with_option("mode", "ok");
        let page = self.host.list_page(&t, None).await.expect("the next call");
        assert_eq!(page.accounts[0].display_name.as_deref(), Some("ok"));
    }
}

fn twilio_status(sim: &Simulator, sid: &str) -> String {
    sim.with_fixture(|f| {
        f.accounts.iter().find(|a| a["sid"] == sid).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    })
}

fn has_worker(sim: &Simulator, wk: &str) -> bool {
    sim.with_fixture(|f| f.workers[WS].iter().any(|w| w["sid"] == wk))
}

fn flex_user(sim: &Simulator, fu: &str) -> serde_json::Value {
    sim.with_fixture(|f| {
        f.flex_users[GO]
            .iter()
            .find(|u| u["flex_user_sid"] == fu)
            .unwrap()
            .clone()
    })
}

fn frontline_state(sim: &Simulator, sid: &str) -> String {
    sim.with_fixture(|f| {
        f.frontline_users.iter().find(|u| u["sid"] == sid).unwrap()["state"]
            .as_str()
            .unwrap()
            .to_string()
    })
}

fn hostile_tenant(sim: &Simulator, app: &str, mode: &str) -> Tenant {
    tenant(sim, app).with_option("mode", mode)
}

#[tokio::test]
async fn a_plugin_that_asks_for_routes_beyond_the_policy_is_refused_at_load_with_each_listed() {
    let sim = sim(Fixture::demo()).await;
    let err = match Host::load(greedy_wasm(), options(&sim)).await {
        Ok(_) => panic!("the greedy build loaded"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), "routes-not-granted", "{err}");
    let CallError::RoutesNotGranted(refused) = &err else {
        unreachable!()
    };
    let mut got: Vec<(String, String)> = refused
        .iter()
        .map(|u| (u.app.clone(), u.route.clone()))
        .collect();
    let mut want: Vec<(String, String)> = GREEDY_ROUTES
        .iter()
        .map(|(a, r)| (a.to_string(), r.to_string()))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "exactly the greedy routes are refused");
    let shown = err.to_string();
    for (app, route) in GREEDY_ROUTES {
        assert!(shown.contains(&format!("app {app}: {route}")), "{shown}");
    }
    // The review shows the same: its legitimate routes granted, the greedy ones not.
    let reviews = Host::review(greedy_wasm(), options(&sim))
        .await
        .unwrap()
        .routes;
    let mut not_granted: Vec<(String, String)> = reviews
        .iter()
        .filter(|r| !r.granted)
        .map(|r| (r.app.clone(), r.route.clone()))
        .collect();
    not_granted.sort();
    assert_eq!(not_granted, want);
    assert_eq!(reviews.iter().filter(|r| r.granted).count(), 18);
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_refuses_the_greedy_plugin_before_anything_is_sent() {
    let sim = sim(Fixture::demo()).await;
    let addr = sim.addr().to_string();
    let greedy = greedy_wasm().to_str().unwrap();
    for app in ["twilio", "flex"] {
        let out = run_cli(
            &sim,
            None,
            &[
                "--plugin",
                greedy,
                "accounts",
                "--app",
                app,
                "--connect-to",
                &addr,
            ],
        );
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{app}: {}", text(&out.stdout));
        for (app, route) in GREEDY_ROUTES {
            assert!(err.contains(&format!("app {app}: {route}")), "{err}");
        }
    }
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

#[tokio::test]
async fn a_suspension_cannot_close_the_account() {
    let sim = sim(Fixture::demo()).await;
    let h = Audited::load(&sim, hostile_wasm(), "closes").await;
    let t = hostile_tenant(&sim, "twilio", "status-closed");
    let r = h.host.act(&t, Action::Suspend, SUB, false).await.unwrap();
    assert!(r.message.contains("HttpRequestDenied"), "{r:?}");
    assert_eq!(h.denied(), ["body-value-not-allowed"]);
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
    assert_eq!(twilio_status(&sim, SUB), "active");
    h.still_serves(&sim).await;
}

#[tokio::test]
async fn a_suspension_of_one_subaccount_suspends_no_other() {
    let sim = sim(Fixture::demo()).await;
    let h = Audited::load(&sim, hostile_wasm(), "second-account").await;
    let t = hostile_tenant(&sim, "twilio", "second-account").with_option("second", SUB2);
    let r = h.host.act(&t, Action::Suspend, SUB, false).await.unwrap();
    assert!(
        r.message.starts_with("first=Ok(200)") && r.message.contains("HttpRequestDenied"),
        "{r:?}"
    );
    assert_eq!(h.denied(), ["wrong-target"]);
    assert_eq!(
        writes(&sim),
        [format!("POST /2010-04-01/Accounts/{SUB}.json")]
    );
    assert_eq!(
        twilio_status(&sim, SUB),
        "suspended",
        "the asked-for one is"
    );
    assert_eq!(twilio_status(&sim, SUB2), "active", "the other is not");
    h.still_serves(&sim).await;
}

#[tokio::test]
async fn a_flex_deprovisioning_of_one_worker_removes_no_other() {
    let sim = sim(Fixture::demo()).await;
    let h = Audited::load(&sim, hostile_wasm(), "second-worker").await;
    let t = hostile_tenant(&sim, "flex", "second-worker");
    let r = h
        .host
        .act(&t, Action::Deprovision, CAROL_WK, false)
        .await
        .unwrap();
    // It read the workers first: the second one exists, and is the first one listed.
    assert!(
        r.message.contains("listed 4 workers; first=Ok(204)")
            && r.message.contains(&format!(
                "second({ALICE_WK})=Err(\"ErrorCode::HttpRequestDenied\")"
            )),
        "{r:?}"
    );
    assert_eq!(h.denied(), ["wrong-target"]);
    assert_eq!(
        writes(&sim),
        [format!("DELETE /v1/Workspaces/{WS}/Workers/{CAROL_WK}")]
    );
    assert!(
        !has_worker(&sim, CAROL_WK),
        "the asked-for worker is removed"
    );
    assert!(has_worker(&sim, ALICE_WK), "the other is not");
    h.still_serves(&sim).await;
}

#[tokio::test]
async fn a_flex_deprovisioning_by_email_deprovisions_one_of_the_users_sharing_it() {
    let sim = sim(Fixture::demo()).await;
    // Bob shares Alice's email: the Flex Users list links both users to the id acted on.
    sim.update_fixture(|f| {
        let bob = f.flex_users.get_mut(GO).unwrap().iter_mut();
        for u in bob.filter(|u| u["flex_user_sid"] == BOB_FU) {
            u["email"] = json!("alice@acme.example");
        }
    });
    let h = Audited::load(&sim, hostile_wasm(), "every-flex-user").await;
    let t = hostile_tenant(&sim, "flex", "every-flex-user").with_option(FLEX_INSTANCE, GO);
    let r = h
        .host
        .act(&t, Action::Deprovision, "alice@acme.example", false)
        .await
        .unwrap();
    assert!(
        r.message.contains(&format!("{ALICE_FU}=Ok(204)"))
            && r.message
                .contains(&format!("{BOB_FU}=Err(\"ErrorCode::HttpRequestDenied\")")),
        "{r:?}"
    );
    assert_eq!(h.denied(), ["second-target"]);
    assert_eq!(
        writes(&sim),
        [format!("POST /v4/Instances/{GO}/Users/Deprovision")]
    );
    assert_eq!(flex_user(&sim, ALICE_FU)["deactivated"], true);
    assert_eq!(flex_user(&sim, BOB_FU)["deactivated"], false);
    assert!(has_worker(&sim, BOB_WK));
    h.still_serves(&sim).await;
}

#[tokio::test]
async fn a_frontline_deactivation_of_one_user_deactivates_no_other() {
    let sim = sim(Fixture::demo()).await;
    sim.update_fixture(|f| {
        let mut grace = f.frontline_users[0].clone();
        grace["sid"] = json!(GRACE);
        grace["identity"] = json!("grace@acme.example");
        grace["friendly_name"] = json!("Grace Green");
        f.frontline_users.push(grace);
    });
    let h = Audited::load(&sim, hostile_wasm(), "second-user").await;
    let t = hostile_tenant(&sim, "frontline", "second-user").with_option("second", GRACE);
    for action in [Action::Suspend, Action::Deprovision] {
        let r = h.host.act(&t, action, ERIN, false).await.unwrap();
        assert!(
            r.message.starts_with("first=Ok(200)") && r.message.contains("HttpRequestDenied"),
            "{action:?}: {r:?}"
        );
    }
    assert_eq!(h.denied(), ["wrong-target", "wrong-target"]);
    assert!(
        writes(&sim)
            .iter()
            .all(|w| *w == format!("POST /v1/Users/{ERIN}")),
        "{:?}",
        writes(&sim)
    );
    assert_eq!(frontline_state(&sim, ERIN), "deactivated");
    assert_eq!(frontline_state(&sim, GRACE), "active");
    h.still_serves(&sim).await;
}

#[tokio::test]
async fn a_provisioning_for_an_agent_cannot_grant_admin() {
    let sim = sim(Fixture::demo()).await;
    let h = Audited::load(&sim, hostile_wasm(), "admin-role").await;
    let t = hostile_tenant(&sim, "flex", "admin-role").with_option(FLEX_INSTANCE, GO);
    let request = ProvisionRequest {
        username: "ivan".into(),
        email: "ivan@acme.example".into(),
        full_name: "Ivan Ivanov".into(),
        roles: vec!["agent".into()],
        attributes_json: None,
    };
    let r = h.host.provision(&t, &request, false).await.unwrap();
    assert!(r.message.contains("HttpRequestDenied"), "{r:?}");
    assert_eq!(h.denied(), ["body-value-not-allowed"]);
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
    assert!(sim.with_fixture(|f| !f.flex_users[GO].iter().any(|u| u["username"] == "ivan")));
    h.still_serves(&sim).await;
}

/// A grant or a revoke of one Flex role writes back the user as Twilio holds it, with exactly
/// that role added or removed: a plugin that adds admin on the way, swaps the email, names the
/// user by its email, or revokes a role that is not one of Flex's is refused, nothing sent;
/// the honest body goes out.
#[tokio::test]
async fn a_flex_grant_changes_exactly_one_role_of_the_user_as_twilio_holds_it() {
    let sim = sim(Fixture::demo()).await;
    let alice = "FU0000000000000000000000000000f001";
    let attempt = |mode_opts: &[(&str, &str)]| {
        let mut t = hostile_tenant(&sim, "flex", "roles-as").with_option(FLEX_INSTANCE, GO);
        for (k, v) in [
            ("username", "alice"),
            ("email", "alice@acme.example"),
            ("full_name", "Alice Anders"),
        ] {
            if !mode_opts.iter().any(|(o, _)| *o == k) {
                t = t.with_option(k, v);
            }
        }
        for (k, v) in mode_opts {
            t = t.with_option(k, v);
        }
        t
    };
    let h = Audited::load(&sim, hostile_wasm(), "roles-as").await;
    let refused = [
        // admin added beside the role asked for.
        (
            true,
            "supervisor",
            vec![("roles", r#"["agent","supervisor","admin"]"#)],
        ),
        // Another email: the user's account could be taken over through it.
        (
            true,
            "supervisor",
            vec![
                ("roles", r#"["agent","supervisor"]"#),
                ("email", "attacker@evil.example"),
            ],
        ),
        // The user named by its email (Provision would make a second user).
        (
            true,
            "supervisor",
            vec![
                ("roles", r#"["agent","supervisor"]"#),
                ("username", "alice@acme.example"),
            ],
        ),
        // A revoke of a role that is not one of Flex's lets no role set through.
        (false, "Agent", vec![("roles", r#"["admin"]"#)]),
        // A revoke of agent that hands admin instead.
        (false, "agent", vec![("roles", r#"["admin"]"#)]),
        // The honest body, sent to another Flex instance than the tenant's.
        (
            true,
            "supervisor",
            vec![
                ("roles", r#"["agent","supervisor"]"#),
                ("write_instance", "GO0000000000000000000000000000ffff"),
            ],
        ),
    ];
    for (grant, role, opts) in &refused {
        let t = attempt(opts);
        let r = if *grant {
            h.host.grant(&t, alice, role, false).await
        } else {
            h.host.revoke(&t, alice, role, false).await
        }
        .unwrap();
        assert!(r.message.contains("HttpRequestDenied"), "{opts:?}: {r:?}");
    }
    assert!(writes(&sim).is_empty(), "{:?}", writes(&sim));
    let t = attempt(&[("roles", r#"["agent","supervisor"]"#)]);
    let r = h.host.grant(&t, alice, "supervisor", false).await.unwrap();
    assert!(r.message.contains("supervisor: Ok(200)"), "{r:?}");
    assert_eq!(writes(&sim).len(), 1);
    h.still_serves(&sim).await;
}

#[tokio::test]
async fn a_plugin_that_keeps_asking_for_what_it_may_not_have_is_stopped_with_bounded_notes() {
    let sim = sim(Fixture::demo()).await;
    let h = Audited::load(&sim, hostile_wasm(), "deny-flood").await;
    let t = hostile_tenant(&sim, "twilio", "deny-flood");
    let err = h.host.list_all(&t, |_| {}).await.unwrap_err();
    assert!(
        matches!(
            &err,
            CallError::Limit {
                limit: LimitExceeded::Denials { max: 1000 },
                ..
            }
        ),
        "{err}"
    );
    // What the host keeps of the refusals is bounded, and shows no more than 256 characters
    // of each path.
    assert!(err.host_notes().len() <= 65, "{}", err.host_notes().len());
    assert!(err.host_notes().iter().all(|n| n.len() < 600));
    let audited = std::fs::read_to_string(&h.audit).unwrap_or_default();
    assert!(
        audited.lines().count() <= 1000,
        "{}",
        audited.lines().count()
    );
    assert!(sim.requests().is_empty(), "{:?}", sim.requests().len());
    h.still_serves(&sim).await;
}

#[tokio::test]
async fn a_request_body_past_the_bound_fails_the_call_and_nothing_is_sent() {
    let sim = sim(Fixture::demo()).await;
    let h = Audited::load(&sim, hostile_wasm(), "huge-body").await;
    // 300 MiB, streamed in chunks on a route the suspension may use.
    let t = hostile_tenant(&sim, "twilio", "huge-body");
    let err = h
        .host
        .act(&t, Action::Suspend, SUB, false)
        .await
        .unwrap_err();
    let bound = Limits::default().max_request_bytes;
    assert!(
        matches!(
            &err,
            CallError::Limit {
                limit: LimitExceeded::RequestBody { limit_bytes },
                ..
            } if *limit_bytes == bound
        ),
        "{err}"
    );
    assert!(
        err.host_notes()
            .iter()
            .any(|n| n.contains("nothing was sent")),
        "{:?}",
        err.host_notes()
    );
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    assert_eq!(twilio_status(&sim, SUB), "active");
    h.still_serves(&sim).await;
}

#[tokio::test]
async fn the_tenants_token_never_reaches_the_guest_through_response_headers() {
    use base64::Engine as _;
    let sim = sim(Fixture::demo()).await;
    // Test-only upstream behaviour: every answer repeats the request's Authorization in a
    // header the vendor policy lets through, one it does not, and a cookie.
    sim.faults().echo_authorization_in = vec![
        "twilio-request-id".into(),
        "x-echo-authorization".into(),
        "set-cookie".into(),
    ];
    let h = Audited::load(&sim, hostile_wasm(), "header-echo").await;
    let page = h
        .host
        .list_page(&hostile_tenant(&sim, "twilio", "header-echo"), None)
        .await
        .unwrap();
    let seen = page.accounts[0].display_name.clone().unwrap_or_default();
    let (sid, token) = sim.main_credentials();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"));
    for leaked in [token.as_str(), basic.as_str()] {
        assert!(!seen.contains(leaked), "{leaked} reached the guest: {seen}");
    }
    // The allowed header came through, blanked; the others never did.
    assert!(
        seen.contains("twilio-request-id=Basic [redacted]"),
        "{seen}"
    );
    assert!(
        !seen.contains("x-echo-authorization") && !seen.contains("set-cookie"),
        "{seen}"
    );
    assert_eq!(sim.requests().len(), 1);
    sim.faults().echo_authorization_in.clear();
    h.still_serves(&sim).await;
}

#[tokio::test]
async fn forged_host_credentials_proxy_credentials_and_cookies_never_go_out() {
    let sim = sim(Fixture::demo()).await;
    let h = Audited::load(&sim, hostile_wasm(), "forge-header").await;
    for (header, value) in [
        ("host", "evil.example"),
        ("authorization", "Basic QUM6c3RvbGVu"),
        ("Proxy-Authorization", "Basic QUM6c3RvbGVu"),
        ("proxy-authorization", "Bearer stolen"),
        ("Cookie", "session=stolen"),
        ("cookie", "session=stolen"),
    ] {
        let t = hostile_tenant(&sim, "twilio", "forge-header")
            .with_option("header", header)
            .with_option("value", value);
        let page = h.host.list_page(&t, None).await.unwrap();
        let report = page.accounts[0].display_name.clone().unwrap_or_default();
        assert!(
            report.contains(&format!("header {header} refused")),
            "{header}: {report}"
        );
    }
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
    h.still_serves(&sim).await;
}

#[tokio::test]
async fn an_action_keeps_nothing_in_host_kept_state_dry_run_or_not() {
    let sim = sim(Fixture::demo()).await;
    let dir = scratch_dir("route-policy-action-state");
    let host = Host::load(
        hostile_wasm(),
        HostOptions {
            state_dir: Some(dir.clone()),
            ..options(&sim)
        },
    )
    .await
    .unwrap();
    let t = hostile_tenant(&sim, "twilio", "state-write").with_option("value", "from-an-action");
    for dry_run in [true, false] {
        let r = host.act(&t, Action::Suspend, SUB, dry_run).await.unwrap();
        assert!(r.message.starts_with("open Err("), "{r:?}");
    }
    assert!(host.state(&t).await.unwrap().is_empty());
    assert!(
        !std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()),
        "nothing was written under the state directory"
    );
}

#[tokio::test]
async fn our_plugin_acts_normally_in_every_app_under_the_same_policy() {
    let sim = sim(Fixture::demo()).await;
    let h = Audited::load(&sim, connector_wasm(), "ours").await;
    let host = &h.host;
    let twilio = tenant(&sim, "twilio");
    let r = host
        .act(&twilio, Action::Suspend, SUB, false)
        .await
        .unwrap();
    assert_eq!(r.status, Some(AccountStatus::Suspended));
    assert_eq!(twilio_status(&sim, SUB), "suspended");
    host.act(&twilio, Action::Reactivate, SUB, false)
        .await
        .unwrap();
    assert_eq!(twilio_status(&sim, SUB), "active");
    host.act(&twilio, Action::Deprovision, SUB2, false)
        .await
        .unwrap();
    assert_eq!(twilio_status(&sim, SUB2), "closed");

    let flex = tenant(&sim, "flex").with_option(FLEX_INSTANCE, GO);
    let r = host
        .act(&flex, Action::Deprovision, "bob", false)
        .await
        .unwrap();
    assert!(r.changed, "{r:?}");
    assert_eq!(flex_user(&sim, BOB_FU)["deactivated"], true);
    let hank = ProvisionRequest {
        username: "hank".into(),
        email: "hank@acme.example".into(),
        full_name: "Hank Hill".into(),
        roles: vec!["agent".into(), "supervisor".into()],
        attributes_json: Some(r#"{"language":"en"}"#.into()),
    };
    let r = host.provision(&flex, &hank, false).await.unwrap();
    assert!(r.changed && r.account_id.starts_with("FU"), "{r:?}");
    let without_instance = tenant(&sim, "flex");
    host.act(&without_instance, Action::Deprovision, CAROL_WK, false)
        .await
        .unwrap();
    assert!(!has_worker(&sim, CAROL_WK));

    let frontline = tenant(&sim, "frontline");
    host.act(&frontline, Action::Suspend, ERIN, false)
        .await
        .unwrap();
    assert_eq!(frontline_state(&sim, ERIN), "deactivated");
    host.act(&frontline, Action::Reactivate, ERIN, false)
        .await
        .unwrap();
    assert_eq!(frontline_state(&sim, ERIN), "active");
    host.act(&frontline, Action::Deprovision, ERIN, false)
        .await
        .unwrap();
    assert_eq!(frontline_state(&sim, ERIN), "deactivated");

    assert!(h.denied().is_empty(), "{:?}", h.denied());
    assert_eq!(writes(&sim).len(), 9, "{:?}", writes(&sim));
}
