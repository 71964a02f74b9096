//! `connector conformance`: runs any component implementing the connector world against the
//! built-in simulator and checks what a governance platform relies on. Each check reports
//! what was expected and what was seen.

use crate::bindings::types::{Account, AccountStatus, ActionResult, Capability};
use crate::credentials::Credentials;
use crate::egress::TRUSTED_SUFFIX;
use crate::engine::HostOptions;
use crate::runtime::{Action, CallError, Host};
use crate::tenant::Tenant;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use twilio_sim::{Fault, FaultRule, Fixture, Simulator};

/// One check's outcome.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub expected: String,
    pub seen: String,
}

/// All checks of a run.
#[derive(Debug, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    fn check(
        &mut self,
        name: impl Into<String>,
        passed: bool,
        expected: impl Into<String>,
        seen: impl Into<String>,
    ) {
        self.checks.push(Check {
            name: name.into(),
            passed,
            expected: expected.into(),
            seen: seen.into(),
        });
    }

    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The failed checks.
    pub fn failures(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| !c.passed).collect()
    }
}

/// The fixed clock conformance runs use.
pub const NOW: &str = "2025-11-23T12:00:00Z";
const FLEX_INSTANCE: &str = "GO0000000000000000000000000000e001";
const API_KEY: (&str, &str) = (
    "SK0000000000000000000000000000c0f1",
    "conformance-key-secret",
);

fn short<T: std::fmt::Debug>(r: &Result<T, CallError>) -> String {
    match r {
        Ok(v) => {
            let s = format!("{v:?}");
            if s.len() > 160 {
                format!(
                    "{}…",
                    &s[..s.char_indices().nth(160).map_or(s.len(), |(i, _)| i)]
                )
            } else {
                s
            }
        }
        Err(e) => format!("error: {e}"),
    }
}

fn kind_of<T>(r: &Result<T, CallError>) -> &'static str {
    r.as_ref().err().map(CallError::kind).unwrap_or("ok")
}

/// The conformance fixture: the demo data plus an API key.
fn fixture() -> Fixture {
    let mut v: serde_json::Value =
        serde_json::from_str(twilio_sim::fixture::DEMO_JSON).expect("demo fixture");
    v["api_keys"] = serde_json::json!([{ "sid": API_KEY.0, "secret": API_KEY.1 }]);
    Fixture::from_json(&v.to_string()).expect("conformance fixture")
}

/// Run every check on `plugin`.
pub async fn run(plugin: &Path, cache_dir: Option<PathBuf>) -> anyhow::Result<Report> {
    let sim = Simulator::start(fixture(), "127.0.0.1:0").await?;
    let mut report = Report::default();
    let options = HostOptions {
        connect_to: Some(sim.addr()),
        cache_dir,
        now: Some(NOW.parse()?),
        ..HostOptions::default()
    };
    let host = match Host::load(plugin, options).await {
        Ok(h) => h,
        Err(e) => {
            report.check(
                "plugin loads",
                false,
                "a component of the governance:connector world",
                e.to_string(),
            );
            return Ok(report);
        }
    };
    report.check(
        "plugin loads",
        true,
        "a component of the governance:connector world",
        "loaded",
    );
    let secrets = secrets(&sim);
    let mut seen_text = String::new();

    // Metadata.
    let info = host.info().clone();
    let names: HashSet<_> = info.apps.iter().map(|a| a.name.clone()).collect();
    let meta_ok = !info.name.is_empty()
        && !info.version.is_empty()
        && !info.apps.is_empty()
        && names.len() == info.apps.len();
    report.check(
        "metadata is well formed",
        meta_ok,
        "a name, a version and uniquely named apps",
        format!("{} {} with apps {:?}", info.name, info.version, names),
    );
    for app in &info.apps {
        let foreign: Vec<_> = app
            .hosts
            .iter()
            .filter(|h| !h.ends_with(TRUSTED_SUFFIX))
            .collect();
        report.check(
            format!("{}: declares its hosts", app.name),
            !app.hosts.is_empty() && foreign.is_empty(),
            format!("one or more hosts, all under {TRUSTED_SUFFIX}"),
            format!("{:?}", app.hosts),
        );
        report.check(
            format!("{}: declares capabilities", app.name),
            !app.capabilities.is_empty(),
            "at least one capability",
            format!("{:?}", app.capabilities),
        );
    }

    let (main, token) = sim.main_credentials();
    let creds = Credentials::AuthToken {
        account_sid: main.clone(),
        auth_token: token,
    };
    for app in &info.apps {
        let mut tenant = Tenant::new("conformance", app.name.clone(), creds.clone());
        if app.name == "flex" {
            tenant = tenant.with_option("flex_instance_sid", FLEX_INSTANCE);
        }
        let can = |c: Capability| app.capabilities.contains(&c);
        let name = app.name.as_str();

        // Listing.
        if can(Capability::ListAccounts) {
            sim.clear_requests();
            let listed = host.list_all(&tenant, |_| {}).await;
            seen_text.push_str(&format!("{listed:?}"));
            report.check(
                format!("{name}: listing terminates"),
                listed.is_ok(),
                "every page read",
                short(&listed),
            );
            if let Ok(list) = &listed {
                let ids: HashSet<_> = list.iter().map(|a| a.id.as_str()).collect();
                report.check(
                    format!("{name}: ids are unique"),
                    ids.len() == list.len(),
                    format!("{} distinct ids", list.len()),
                    format!("{} distinct", ids.len()),
                );
                if let Some(expected) = expected_count(name) {
                    report.check(
                        format!("{name}: every page's items are kept"),
                        list.len() == expected,
                        format!("{expected} accounts"),
                        format!("{} accounts", list.len()),
                    );
                }
                if can(Capability::GetAccount) {
                    let mut disagree = Vec::new();
                    for a in list.iter().take(20) {
                        match host.get_account(&tenant, &a.id).await {
                            Ok(one) if &one == a => {}
                            other => disagree.push(format!("{}: {}", a.id, short(&other))),
                        }
                    }
                    report.check(
                        format!("{name}: account ID agrees with the listing"),
                        disagree.is_empty(),
                        "the same account either way",
                        if disagree.is_empty() {
                            "identical".into()
                        } else {
                            disagree.join("; ")
                        },
                    );
                }
                rules(&mut report, name, list);
            }
        }
        if can(Capability::GetAccount) {
            let missing = host.get_account(&tenant, missing_id(name)).await;
            report.check(
                format!("{name}: unknown account is not-found"),
                kind_of(&missing) == "not-found",
                "not-found",
                kind_of(&missing),
            );
        }

        // Actions.
        if let Some(target) = action_target(name) {
            for (cap, action) in [
                (Capability::Suspend, Action::Suspend),
                (Capability::Deprovision, Action::Deprovision),
            ] {
                if !can(cap) {
                    continue;
                }
                sim.clear_requests();
                let dry = host.act(&tenant, action, target, true).await;
                seen_text.push_str(&format!("{dry:?}"));
                let mutations = mutating(&sim);
                report.check(
                    format!(
                        "{name}: {} dry-run sends no mutating request",
                        action.name()
                    ),
                    dry.as_ref().is_ok_and(|r| r.dry_run) && mutations.is_empty(),
                    "a dry-run result and only reads",
                    format!("{}; mutations {mutations:?}", short(&dry)),
                );
            }
            if can(Capability::Suspend) {
                sim.clear_requests();
                let first = host.act(&tenant, Action::Suspend, target, false).await;
                let second = host.act(&tenant, Action::Suspend, target, false).await;
                seen_text.push_str(&format!("{first:?}{second:?}"));
                let mutations = mutating(&sim);
                report.check(
                    format!("{name}: repeated suspend is idempotent"),
                    first.is_ok()
                        && second.as_ref().is_ok_and(|r: &ActionResult| !r.changed)
                        && mutations.len() == 1,
                    "one change, then nothing to do",
                    format!(
                        "{} then {}; {} mutating request(s)",
                        short(&first),
                        short(&second),
                        mutations.len()
                    ),
                );
            }
        }
        if name == "twilio" && can(Capability::Suspend) {
            sim.clear_requests();
            let r = host.act(&tenant, Action::Suspend, &main, false).await;
            let sent = sim.requests().len();
            report.check(
                "twilio: the connecting account is protected",
                kind_of(&r) == "refused" && sent == 0,
                "refused with no request sent",
                format!("{}; {sent} request(s)", kind_of(&r)),
            );
        }
        if name == "flex" {
            let r = host
                .act(
                    &tenant,
                    Action::Suspend,
                    "WK0000000000000000000000000000d001",
                    false,
                )
                .await;
            report.check(
                "flex: suspend is typed unsupported",
                kind_of(&r) == "unsupported",
                "unsupported",
                kind_of(&r),
            );
        }

        // Typed errors from upstream.
        if can(Capability::ListAccounts) || can(Capability::GetAccount) {
            let probe = |t: Tenant| {
                let host = &host;
                async move {
                    if can(Capability::ListAccounts) {
                        host.list_page(&t, None).await.map(|_| ())
                    } else {
                        host.get_account(&t, probe_id(&t.app)).await.map(|_| ())
                    }
                }
            };
            let wrong = Tenant {
                credentials: std::sync::Arc::new(Credentials::AuthToken {
                    account_sid: main.clone(),
                    auth_token: "not-the-token".into(),
                }),
                ..tenant.clone()
            };
            let r = probe(wrong).await;
            seen_text.push_str(&format!("{r:?}"));
            report.check(
                format!("{name}: bad credentials are typed unauthorized"),
                kind_of(&r) == "unauthorized",
                "unauthorized",
                kind_of(&r),
            );
            sim.inject(FaultRule::any(
                Fault::RateLimit {
                    retry_after_secs: None,
                },
                1000,
            ));
            let r = probe(tenant.clone()).await;
            sim.faults().rules.clear();
            report.check(
                format!("{name}: persistent 429 is typed rate-limited"),
                kind_of(&r) == "rate-limited",
                "rate-limited",
                kind_of(&r),
            );
            let keyed = Tenant {
                credentials: std::sync::Arc::new(Credentials::ApiKey {
                    account_sid: main.clone(),
                    key_sid: API_KEY.0.into(),
                    secret: API_KEY.1.into(),
                }),
                ..tenant.clone()
            };
            let r = probe(keyed).await;
            report.check(
                format!("{name}: API key credentials work"),
                r.is_ok(),
                "ok",
                kind_of(&r),
            );
        }
    }

    // Nothing the plugin returned carries a credential; nothing left the declared hosts.
    let leaked: Vec<_> = secrets
        .iter()
        .filter(|s| seen_text.contains(s.as_str()))
        .collect();
    report.check(
        "no returned string contains a credential",
        leaked.is_empty(),
        "no secret in any result or error",
        format!("{} secret(s) found", leaked.len()),
    );
    let declared: HashSet<String> = info
        .apps
        .iter()
        .flat_map(|a| a.hosts.iter().cloned())
        .collect();
    let outside: HashSet<String> = sim_hosts(&sim)
        .into_iter()
        .filter(|h| !declared.contains(h))
        .collect();
    report.check(
        "no request leaves the declared hosts",
        outside.is_empty(),
        format!("only {declared:?}"),
        format!("outside: {outside:?}"),
    );
    sim.stop().await;
    Ok(report)
}

fn expected_count(app: &str) -> Option<usize> {
    match app {
        "twilio" => Some(6),
        "flex" => Some(5),
        _ => None,
    }
}

fn missing_id(app: &str) -> &'static str {
    match app {
        "flex" => "WK00000000000000000000000000000bad",
        "frontline" => "nobody@nowhere.example",
        _ => "AC00000000000000000000000000000bad",
    }
}

fn probe_id(app: &str) -> &'static str {
    match app {
        "frontline" => "erin@acme.example",
        _ => "AC0000000000000000000000000000b001",
    }
}

fn action_target(app: &str) -> Option<&'static str> {
    match app {
        "twilio" => Some("AC0000000000000000000000000000b002"),
        "flex" => Some("WK0000000000000000000000000000d003"),
        "frontline" => Some("erin@acme.example"),
        _ => None,
    }
}

/// Each app's Twilio rules on the conformance fixture.
fn rules(report: &mut Report, app: &str, list: &[Account]) {
    let get = |id: &str| list.iter().find(|a| a.id == id);
    let mut rule = |what: &str, id: &str, expected: String, seen: Option<String>| {
        let seen = seen.unwrap_or_else(|| "missing".into());
        report.check(
            format!("{app}: {what} ({id})"),
            seen == expected,
            expected,
            seen,
        );
    };
    match app {
        "twilio" => {
            let la = |id: &str| get(id).map(|a| format!("{:?}", a.last_activity));
            rule(
                "last activity is the latest priced day",
                "b002",
                format!("{:?}", Some("2025-11-09T00:00:00Z")),
                la("AC0000000000000000000000000000b002"),
            );
            rule(
                "zero prices are no activity",
                "b005",
                format!("{:?}", None::<String>),
                la("AC0000000000000000000000000000b005"),
            );
            rule(
                "the main account's own usage only",
                "a001",
                format!("{:?}", Some("2025-09-01T00:00:00Z")),
                la("AC0000000000000000000000000000a001"),
            );
            let statuses = |id: &str| get(id).map(|a| format!("{:?}", a.status));
            rule(
                "closed is deprovisioned",
                "b004",
                format!("{:?}", AccountStatus::Deprovisioned),
                statuses("AC0000000000000000000000000000b004"),
            );
            let services = get("AC0000000000000000000000000000b001").map(|a| {
                a.entitlements
                    .iter()
                    .filter(|e| e.kind == crate::types::EntitlementKind::Service)
                    .map(|e| format!("{}@{}", e.name, e.last_activity.as_deref().unwrap_or("-")))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            rule(
                "services with their own last activity",
                "b001",
                "Messaging@2025-10-20T00:00:00Z, Voice@2025-10-14T00:00:00Z".into(),
                services,
            );
        }
        "flex" => {
            let la = |id: &str| get(id).map(|a| format!("{:?}", a.last_activity));
            rule(
                "offline worker: status change time",
                "bob",
                format!("{:?}", Some("2025-11-18T17:45:12Z")),
                la("WK0000000000000000000000000000d002"),
            );
            rule(
                "available worker: sync time",
                "alice",
                format!("{:?}", Some(NOW)),
                la("WK0000000000000000000000000000d001"),
            );
            let roles = get("WK0000000000000000000000000000d002").map(|a| {
                a.entitlements
                    .iter()
                    .map(|e| e.name.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            rule(
                "account type and roles",
                "bob",
                "Flex UI User, supervisor, agent".into(),
                roles,
            );
            let st = get("FU0000000000000000000000000000f003").map(|a| format!("{:?}", a.status));
            rule(
                "deactivated Flex user is deprovisioned",
                "gina",
                format!("{:?}", AccountStatus::Deprovisioned),
                st,
            );
        }
        _ => {}
    }
}

fn mutating(sim: &Simulator) -> Vec<String> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn sim_hosts(sim: &Simulator) -> Vec<String> {
    sim.requests().into_iter().map(|r| r.host).collect()
}

fn secrets(sim: &Simulator) -> Vec<String> {
    let mut s: Vec<String> = sim.with_fixture(|f| {
        f.accounts
            .iter()
            .filter_map(|a| a["auth_token"].as_str().map(str::to_string))
            .collect()
    });
    s.push(API_KEY.1.to_string());
    s
}
