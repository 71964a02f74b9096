//! `connector conformance`: runs any component implementing the connector world against the
//! built-in simulator and checks what a governance platform relies on. Each check reports
//! what was expected and what was seen.

mod expectations;

pub use expectations::{Expectations, Field, Rule};

use connector_host::types::{ActionResult, Capability};
use connector_host::{Action, CallError, Credentials, Host, HostOptions, Tenant};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use twilio_sim::{Fault, FaultRule, Fixture, Simulator};

/// One check's outcome.
#[derive(Debug, Clone)]
pub struct Check {
    /// What is checked, prefixed with the app.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// What a conforming plugin shows.
    pub expected: String,
    /// What this plugin showed.
    pub seen: String,
}

/// All checks of a run.
#[derive(Debug, Default)]
pub struct Report {
    /// Every check, in the order run.
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

/// The conformance fixture: the demo data plus the expectations' API key.
fn fixture(x: &Expectations) -> anyhow::Result<Fixture> {
    let mut v: serde_json::Value = serde_json::from_str(twilio_sim::fixture::DEMO_JSON)?;
    v["api_keys"] = serde_json::json!([{ "sid": x.api_key.sid, "secret": x.api_key.secret }]);
    Fixture::from_json(&v.to_string())
}

/// Run every check on `plugin`.
pub async fn run(plugin: &Path, cache_dir: Option<PathBuf>) -> anyhow::Result<Report> {
    let x = Expectations::builtin()?;
    // The vendor policy a host serving these simulated hosts runs with.
    let trusted = vec![twilio_sim::hosts::TRUSTED_SUFFIX.to_string()];
    let sim = Simulator::start(fixture(&x)?, "127.0.0.1:0").await?;
    let mut report = Report::default();
    let options = HostOptions {
        connect_to: Some(sim.addr()),
        cache_dir,
        now: Some(x.now.parse()?),
        trusted_host_suffixes: trusted.clone(),
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
    let secrets = sim.secrets();
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
            .filter(|h| !connector_host::egress::is_trusted(h, &trusted))
            .collect();
        report.check(
            format!("{}: declares its hosts", app.name),
            !app.hosts.is_empty() && foreign.is_empty(),
            format!("one or more hosts, all under {}", trusted.join(" or ")),
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
        let name = app.name.as_str();
        let Some(want) = x.apps.get(name) else {
            report.check(
                format!("{name}: an app the simulator knows"),
                false,
                format!("one of {:?}", x.apps.keys().collect::<Vec<_>>()),
                name,
            );
            continue;
        };
        let mut tenant = Tenant::new("conformance", name, creds.clone());
        for (k, v) in &want.options {
            tenant = tenant.with_option(k, v);
        }
        let can = |c: Capability| app.capabilities.contains(&c);

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
                if let Some(expected) = want.expected_count {
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
                rules(&mut report, name, &want.rules, list);
            }
        }
        if can(Capability::GetAccount) {
            let missing = host.get_account(&tenant, &want.missing_id).await;
            report.check(
                format!("{name}: unknown account is not-found"),
                kind_of(&missing) == "not-found",
                "not-found",
                kind_of(&missing),
            );
        }

        // Actions.
        if let Some(target) = want.action_target.as_deref() {
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
        if want.connecting_account_protected && can(Capability::Suspend) {
            sim.clear_requests();
            let r = host.act(&tenant, Action::Suspend, &main, false).await;
            let sent = sim.requests().len();
            report.check(
                format!("{name}: the connecting account is protected"),
                kind_of(&r) == "refused" && sent == 0,
                "refused with no request sent",
                format!("{}; {sent} request(s)", kind_of(&r)),
            );
        }
        for u in &want.unsupported {
            let r = match u.action.as_str() {
                "suspend" => host.act(&tenant, Action::Suspend, &u.id, false).await,
                "reactivate" => host.act(&tenant, Action::Reactivate, &u.id, false).await,
                _ => host.act(&tenant, Action::Deprovision, &u.id, false).await,
            };
            report.check(
                format!("{name}: {} is typed unsupported", u.action),
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
                        host.get_account(&t, &want.probe_id).await.map(|_| ())
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
                    key_sid: x.api_key.sid.clone(),
                    secret: x.api_key.secret.clone(),
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

/// Each rule of the app's expectations, on the listing.
fn rules(report: &mut Report, app: &str, rules: &[Rule], list: &[connector_host::types::Account]) {
    for r in rules {
        let seen = list
            .iter()
            .find(|a| a.id == r.account)
            .map(|a| format!("{:?}", r.field.read(a)))
            .unwrap_or_else(|| "missing".into());
        let expected = format!("{:?}", r.expected);
        report.check(
            format!("{app}: {} ({})", r.what, r.label),
            seen == expected,
            expected,
            seen,
        );
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
