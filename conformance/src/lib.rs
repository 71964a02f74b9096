//! `connector conformance`: runs any component implementing the connector world against the
//! built-in simulator and checks what a governance platform relies on. Each check reports
//! what was expected and what was seen.

mod app_checks;
mod expectations;
mod report;

pub use expectations::{Expectations, Field, Rule};
pub use report::{Check, Report};

use app_checks::AppRun;
use connector_host::{Credentials, Host, HostOptions, Tenant};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use twilio_sim::{Fixture, Simulator};

/// Each call's time budget during a conformance run.
const CALL_BUDGET_SECS: u64 = 8;

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
    // Every request the plugin attempts, allowed or denied, is audited: the host blocks an
    // undeclared host before the network, so only the audit can show the attempt.
    let audit_path = std::env::temp_dir().join(format!(
        "connector-conformance-{}-{:?}.jsonl",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    ));
    let options = HostOptions {
        connect_to: Some(sim.addr().into()),
        cache_dir,
        now: Some(x.now.parse()?),
        vendor_policy: std::sync::Arc::new(twilio_policy::policy()?),
        audit: Some(connector_host::audit::AuditLog::open(&audit_path)?),
        // A 429 is retried for as long as the call's time budget allows: the persistent-429
        // check ends when this budget does (the demo fixture's calls take well under a second).
        limits: connector_host::Limits {
            call_timeout: std::time::Duration::from_secs(CALL_BUDGET_SECS),
            ..connector_host::Limits::default()
        },
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
        if host.contract_version() != connector_host::bindings::ContractVersion::V0_1_0 {
            let stray: Vec<String> = app
                .routes
                .iter()
                .filter(|r| {
                    !app.hosts.contains(&r.host)
                        || !connector_host::egress::is_trusted(&r.host, &trusted)
                })
                .map(|r| format!("{} {}", r.host, r.path))
                .collect();
            report.check(
                format!("{}: declares its routes", app.name),
                !app.routes.is_empty() && stray.is_empty(),
                "one or more routes, each on a declared host",
                format!(
                    "{} route(s); on undeclared hosts: {stray:?}",
                    app.routes.len()
                ),
            );
        }
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
        if let Some(o) = &want.oauth_client {
            let hosts: Vec<&str> = o.hosts.iter().map(String::as_str).collect();
            tenant = tenant.with_credential(
                &hosts,
                std::sync::Arc::new(connector_host::oauth::ClientCredentials::new(
                    &o.client_id,
                    &o.secret,
                    &o.token_url,
                )),
            );
        }

        let mut run = AppRun {
            host: &host,
            sim: &sim,
            report: &mut report,
            seen_text: &mut seen_text,
            main: &main,
            x: &x,
            name,
            tenant,
            want,
            capabilities: &app.capabilities,
        };
        run.listing().await;
        run.actions().await;
        run.typed_errors().await;
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
    // The host's own requests for tokens (to the token URLs of the tenants' OAuth clients) are
    // not the plugin's.
    let token_hosts: HashSet<String> = x
        .apps
        .values()
        .filter_map(|w| w.oauth_client.as_ref())
        .filter_map(|o| {
            o.token_url
                .strip_prefix("https://")
                .and_then(|r| r.split('/').next())
                .map(str::to_string)
        })
        .collect();
    let mut outside: Vec<String> = sim_hosts(&sim)
        .into_iter()
        .filter(|h| !declared.contains(h) && !token_hosts.contains(h))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    outside.extend(denied(&audit_path, "host-not-allowed"));
    let mut writes = denied(&audit_path, "read-only-call");
    writes.extend(denied(&audit_path, "connecting-account-write"));
    writes.extend(denied(&audit_path, "forbidden-route"));
    let _ = std::fs::remove_file(&audit_path);
    report.check(
        "no write is attempted during reads or dry-runs, nor on the connecting account or credential routes",
        writes.is_empty(),
        "no such attempt in the audit",
        format!("{writes:?}"),
    );
    report.check(
        "no request leaves the declared hosts",
        outside.is_empty(),
        format!("only {declared:?}, not even attempted elsewhere"),
        format!("outside: {outside:?}"),
    );
    sim.stop().await;
    Ok(report)
}

fn sim_hosts(sim: &Simulator) -> Vec<String> {
    sim.requests().into_iter().map(|r| r.host).collect()
}

/// Requests the host denied under `rule`, from the run's audit of attempts.
fn denied(audit: &Path, rule: &str) -> Vec<String> {
    let text = std::fs::read_to_string(audit).unwrap_or_default();
    let needle = format!("rule {rule}:");
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "request")
        .filter_map(|v| v["error"].as_str().map(str::to_string))
        .filter(|e| e.contains(&needle))
        .collect()
}
