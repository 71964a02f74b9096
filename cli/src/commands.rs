//! The subcommands.

use crate::args::{ActionArgs, Cli, Command, Global, ProvisionArgs, SimArgs};
use crate::env_credentials;
use crate::output;
use crate::vendor;
use anyhow::{Context, anyhow, bail};
use connector_host::audit::AuditLog;
use connector_host::options::FLEX_INSTANCE;
use connector_host::{Action, Credentials, Host, HostOptions, Tenant};
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use twilio_sim::{Fixture, Simulator};

/// File name of the component `make build` produces.
const PLUGIN_FILE: &str = "twilio_connector.wasm";

/// Run one command.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    match &cli.command {
        Command::Sim(a) => sim(a).await,
        Command::Demo => demo(g).await,
        Command::Conformance => conformance(g).await,
        Command::Apps => {
            let host = load(g, None).await?;
            let cached = host.cache() == connector_host::EngineCache::Cached;
            if g.json {
                let mut v = output::apps_json(host.info());
                v["compiled"] = serde_json::json!(if cached { "cache" } else { "now" });
                println!("{v}");
            } else {
                print!("{}", output::apps_text(host.info()));
                println!(
                    "plugin: {}",
                    if cached {
                        "precompiled, loaded from the cache"
                    } else {
                        "compiled now and cached"
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check => {
            let (host, tenant) = setup(g).await?;
            let summary = host.check(&tenant).await?;
            if g.json {
                println!(
                    "{}",
                    serde_json::json!({"app": tenant.app, "ok": true, "message": summary})
                );
            } else {
                println!("{summary}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Accounts {
            tenants: Some(file),
            concurrency,
            ..
        } => multi_tenant(g, file, *concurrency).await,
        Command::Accounts { identities, .. } => {
            let (host, tenant) = setup(g).await?;
            match identities {
                Some(file) => accounts_by_identity(&host, &tenant, file, g.json).await,
                None => accounts(&host, &tenant, g.json).await,
            }
        }
        Command::Account { id } => {
            let (host, tenant) = setup(g).await?;
            let a = host.get_account(&tenant, id).await?;
            if g.json {
                println!("{}", output::account_json(&tenant.app, None, &a));
            } else {
                print!("{}", output::account_detail(&a));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Suspend(a) => act(g, Action::Suspend, a).await,
        Command::Reactivate(a) => act(g, Action::Reactivate, a).await,
        Command::Deprovision(a) => act(g, Action::Deprovision, a).await,
        Command::Provision(a) => provision(g, a).await,
    }
}

async fn conformance(g: &Global) -> anyhow::Result<ExitCode> {
    let path = plugin_path(g)?;
    let report = connector_conformance::run(&path, g.cache_dir.clone()).await?;
    for c in &report.checks {
        if g.json {
            println!(
                "{}",
                serde_json::json!({"check": c.name, "passed": c.passed, "expected": c.expected, "seen": c.seen})
            );
        } else if c.passed {
            println!("PASS  {}", c.name);
        } else {
            println!(
                "FAIL  {}\n        expected: {}\n        seen:     {}",
                c.name, c.expected, c.seen
            );
        }
    }
    let failed = report.failures().len();
    println!(
        "conformance of {}: {} passed, {failed} failed",
        path.display(),
        report.checks.len() - failed
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn act(g: &Global, action: Action, a: &ActionArgs) -> anyhow::Result<ExitCode> {
    let (host, mut tenant) = setup(g).await?;
    if let Some(available) = a.available {
        if tenant.app != "frontline" {
            bail!("--available applies to the frontline app only");
        }
        tenant = tenant.with_option("available", if available { "true" } else { "false" });
    }
    let r = host.act(&tenant, action, &a.id, a.dry_run).await?;
    if g.json {
        println!("{}", output::action_json(&tenant.app, &r));
    } else {
        print!("{}", output::action_text(&r));
    }
    Ok(ExitCode::SUCCESS)
}

async fn provision(g: &Global, a: &ProvisionArgs) -> anyhow::Result<ExitCode> {
    let (host, tenant) = setup(g).await?;
    let request = connector_host::types::ProvisionRequest {
        username: a.username.clone(),
        email: a.email.clone(),
        full_name: a.full_name.clone(),
        roles: a.roles.clone(),
        attributes_json: a.worker_attributes.clone(),
    };
    let r = host.provision(&tenant, &request, a.dry_run).await?;
    if g.json {
        println!("{}", output::action_json(&tenant.app, &r));
    } else {
        print!("{}", output::action_text(&r));
    }
    Ok(ExitCode::SUCCESS)
}

/// Sync every tenant of a tenants file; one tenant's failure is reported, the rest go on.
async fn multi_tenant(
    g: &Global,
    file: &std::path::Path,
    concurrency: usize,
) -> anyhow::Result<ExitCode> {
    let tenants = connector_host::tenants_file::load(file, &g.app)?;
    let host = std::sync::Arc::new(load(g, connect_to(g)?).await?);
    for t in &tenants {
        host.policy_for(&t.app)
            .map_err(|e| anyhow!("tenant {:?}: {e}", t.name))?;
    }
    let results = host.sync_tenants(tenants, concurrency).await;
    let mut failed = 0;
    let mut out = std::io::stdout().lock();
    for r in &results {
        match &r.result {
            Ok(list) if g.json => {
                for a in list {
                    writeln!(out, "{}", output::account_json(&r.app, Some(&r.tenant), a))?;
                }
            }
            Ok(list) => write!(
                out,
                "== tenant {} ({}) ==\n{}\n",
                r.tenant,
                r.app,
                output::accounts_table(list)
            )?,
            Err(e) => {
                failed += 1;
                eprintln!("error: tenant {}: {e}", r.tenant);
            }
        }
    }
    if failed > 0 {
        eprintln!(
            "{failed} of {} tenant(s) failed; the others are complete above",
            results.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Frontline has no list API: fetch each identity; report the missing ones, keep the rest.
async fn accounts_by_identity(
    host: &Host,
    tenant: &Tenant,
    file: &std::path::Path,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read identities from stdin")?
    } else {
        std::fs::read_to_string(file)
            .with_context(|| format!("cannot read identities file {}", file.display()))?
    };
    let ids: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for id in &ids {
        match host.get_account(tenant, id).await {
            Ok(a) => found.push(a),
            Err(connector_host::CallError::Connector {
                error: connector_host::types::ConnectorError::NotFound(_),
                ..
            }) => missing.push(*id),
            Err(e) => return Err(anyhow!("{id}: {e}")),
        }
    }
    let mut out = std::io::stdout().lock();
    if json {
        for a in &found {
            writeln!(out, "{}", output::account_json(&tenant.app, None, a))?;
        }
    } else {
        write!(out, "{}", output::accounts_table(&found))?;
    }
    if !missing.is_empty() {
        eprintln!(
            "not found ({} of {}): {}",
            missing.len(),
            ids.len(),
            missing.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn accounts(host: &Host, tenant: &Tenant, json: bool) -> anyhow::Result<ExitCode> {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message("syncing accounts");
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let result = host
        .list_all(tenant, |n| bar.set_message(format!("{n} accounts read")))
        .await;
    bar.finish_and_clear();
    let list = result?;
    let mut out = std::io::stdout().lock();
    if json {
        for a in &list {
            writeln!(out, "{}", output::account_json(&tenant.app, None, a))?;
        }
    } else {
        write!(out, "{}", output::accounts_table(&list))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The component to load: `--plugin`, else next to the binary, else the build tree.
fn plugin_path(g: &Global) -> anyhow::Result<PathBuf> {
    if let Some(p) = &g.plugin {
        if !p.exists() {
            bail!("plugin {} does not exist", p.display());
        }
        return Ok(p.clone());
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        candidates.push(dir.join(PLUGIN_FILE));
        candidates.push(dir.join("../wasm32-wasip2/component").join(PLUGIN_FILE));
    }
    candidates.push(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/wasm32-wasip2/component/twilio_connector.wasm"
    )));
    candidates.into_iter().find(|p| p.exists()).ok_or_else(|| {
        anyhow!("the connector component was not found; run `make build` or pass --plugin PATH")
    })
}

fn connect_to(g: &Global) -> anyhow::Result<Option<SocketAddr>> {
    let Some(spec) = &g.connect_to else {
        return Ok(None);
    };
    let addr = spec
        .to_socket_addrs()
        .with_context(|| format!("--connect-to {spec:?} is not HOST:PORT"))?
        .next()
        .ok_or_else(|| anyhow!("--connect-to {spec:?} resolves to no address"))?;
    Ok(Some(addr))
}

fn options(g: &Global, connect: Option<SocketAddr>) -> anyhow::Result<HostOptions> {
    let now = g
        .now
        .as_deref()
        .map(|s| chrono::DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&chrono::Utc)))
        .transpose()
        .with_context(|| "--now must be an RFC 3339 timestamp such as 2025-11-23T12:00:00Z")?;
    let audit = g
        .audit
        .as_deref()
        .map(|p| {
            AuditLog::open(p).with_context(|| format!("cannot open audit file {}", p.display()))
        })
        .transpose()?;
    Ok(HostOptions {
        connect_to: connect,
        cache_dir: g.cache_dir.clone(),
        now,
        audit,
        trusted_host_suffixes: vendor::trusted_host_suffixes(),
        ..HostOptions::default()
    })
}

async fn load(g: &Global, connect: Option<SocketAddr>) -> anyhow::Result<Host> {
    let path = plugin_path(g)?;
    Ok(Host::load(&path, options(g, connect)?).await?)
}

/// Load the plugin and build the tenant from the environment.
async fn setup(g: &Global) -> anyhow::Result<(Host, Tenant)> {
    let credentials = env_credentials::from_env()?;
    let host = load(g, connect_to(g)?).await?;
    host.policy_for(&g.app)?;
    let mut tenant = Tenant::new("default", g.app.clone(), credentials);
    if let Some(go) = &g.flex_instance {
        tenant = tenant.with_option(FLEX_INSTANCE, go);
    }
    Ok((host, tenant))
}

async fn sim(a: &SimArgs) -> anyhow::Result<ExitCode> {
    let fixture = match (&a.fixture, a.generate) {
        (Some(p), _) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read fixture {}", p.display()))?;
            Fixture::from_json(&text).with_context(|| format!("fixture {}", p.display()))?
        }
        (None, Some(n)) => Fixture::generate(n, 1),
        (None, None) => Fixture::demo(),
    };
    let main = fixture.main_account_sid.clone();
    let sim = Simulator::start(fixture, &a.listen).await?;
    {
        let mut f = sim.faults();
        f.latency = std::time::Duration::from_millis(a.latency_ms);
        f.rate_limit_every = a.rate_limit_every;
        f.error_every = a.error_every;
        f.malformed_every = a.malformed_every;
    }
    eprintln!(
        "Twilio simulator listening on {} (main account {main}; its auth token is the fixture's auth_token). \
         Use --connect-to {}. Ctrl-C stops it.",
        sim.addr(),
        sim.addr()
    );
    tokio::signal::ctrl_c().await.ok();
    sim.stop().await;
    Ok(ExitCode::SUCCESS)
}

async fn demo(g: &Global) -> anyhow::Result<ExitCode> {
    let sim = Simulator::start(Fixture::demo(), "127.0.0.1:0").await?;
    let (sid, token) = sim.main_credentials();
    let host = load(g, Some(sim.addr())).await?;
    println!(
        "Twilio simulator on {} (demo fixture); syncing every app through the sandboxed component.\n",
        sim.addr()
    );
    let credentials = Credentials::AuthToken {
        account_sid: sid,
        auth_token: token,
    };
    let (instance, identities) = sim.with_fixture(|f| {
        let go = f.flex_users.keys().next().cloned();
        let ids: Vec<String> = f
            .frontline_users
            .iter()
            .filter_map(|u| u["identity"].as_str().map(str::to_string))
            .collect();
        (go, ids)
    });
    let mut failed = false;
    let apps: Vec<String> = host.info().apps.iter().map(|a| a.name.clone()).collect();
    for app in apps {
        let mut tenant = Tenant::new("demo", app.clone(), credentials.clone());
        let result = match app.as_str() {
            "frontline" => {
                println!("== app: frontline (users {}) ==", identities.join(", "));
                let file =
                    std::env::temp_dir().join(format!("connector-demo-ids-{}", std::process::id()));
                std::fs::write(&file, identities.join("\n"))?;
                let r = accounts_by_identity(&host, &tenant, &file, g.json).await;
                let _ = std::fs::remove_file(&file);
                r
            }
            "flex" => {
                if let Some(go) = &instance {
                    tenant = tenant.with_option(FLEX_INSTANCE, go);
                }
                println!(
                    "== app: flex (instance {}) ==",
                    instance.as_deref().unwrap_or("none")
                );
                accounts(&host, &tenant, g.json).await
            }
            _ => {
                println!("== app: {app} ==");
                accounts(&host, &tenant, g.json).await
            }
        };
        if let Err(e) = result {
            eprintln!("error: {e:#}");
            failed = true;
        }
        println!();
    }
    sim.stop().await;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
