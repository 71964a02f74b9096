//! The subcommands that read and act on accounts; `setup` turns global options into a host,
//! `simulate` and `conformance_report` hold the simulator and conformance commands.

use crate::args::{ActionArgs, Cli, Command, EntitlementArgs, Global, ProvisionArgs};
use crate::listing::{Listing, accounts, accounts_by_identity, rows};
use crate::output;
use crate::setup::{connect_to, load, setup};
use crate::{cluster_commands, conformance_report, kept_state, routes, serve, simulate};
use anyhow::{anyhow, bail};
use connector_host::Action;
use std::process::ExitCode;

/// Run one command.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    match &cli.command {
        Command::Worker(a) => cluster_commands::worker(g, a).await,
        Command::Enqueue(a) => cluster_commands::enqueue(g, a).await,
        Command::Results(a) => cluster_commands::results(g, a).await,
        Command::Cluster { what, nats } => cluster_commands::cluster(g, *what, nats).await,
        Command::Sim(a) => simulate::sim(a).await,
        Command::Serve(a) => serve::run(g, a).await,
        Command::Demo => simulate::demo(g).await,
        Command::Conformance => conformance_report::run(g).await,
        Command::Routes => routes::run(g).await,
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
                println!("{}", output::safe(&summary));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Accounts {
            tenants,
            concurrency,
            identities,
            format,
            inactive_for,
            by,
            full,
        } => {
            let listing = || Listing::new(g, *format, inactive_for.as_deref(), *by);
            if let Some(file) = tenants {
                return multi_tenant(g, file, *concurrency, listing, *full).await;
            }
            // The app and the credentials are told before the listing's own options.
            let (host, tenant) = setup(g).await?;
            let listing = listing()?;
            if *full {
                host.clear_state(&tenant).await?;
            }
            match identities {
                Some(file) => accounts_by_identity(&host, &tenant, file, &listing).await,
                None => accounts(&host, &tenant, &listing).await,
            }
        }
        Command::State { action, tenants } => kept_state::run(g, *action, tenants.as_deref()),
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
        Command::Entitlements => entitlements(g).await,
        Command::Grant(a) => entitlement_change(g, true, a).await,
        Command::Revoke(a) => entitlement_change(g, false, a).await,
    }
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

/// Every grantable entitlement of the app, page after page (a cursor seen twice stops).
async fn entitlements(g: &Global) -> anyhow::Result<ExitCode> {
    let (host, tenant) = setup(g).await?;
    let mut seen = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = host.list_entitlements(&tenant, cursor.as_deref()).await?;
        for e in &page.entitlements {
            if g.json {
                println!("{}", output::entitlement_json(&tenant.app, e));
            } else {
                println!("{}", output::entitlement_text(e));
            }
        }
        match page.next_cursor {
            Some(next) if !seen.insert(next.clone()) => {
                bail!("the plugin returned entitlement cursor {next:?} twice; stopping")
            }
            Some(next) => cursor = Some(next),
            None => return Ok(ExitCode::SUCCESS),
        }
    }
}

async fn entitlement_change(
    g: &Global,
    grant: bool,
    a: &EntitlementArgs,
) -> anyhow::Result<ExitCode> {
    let (host, tenant) = setup(g).await?;
    let r = if grant {
        host.grant(&tenant, &a.id, &a.entitlement, a.dry_run)
            .await?
    } else {
        host.revoke(&tenant, &a.id, &a.entitlement, a.dry_run)
            .await?
    };
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
/// Checked first, before anything is sent: the file (its keys and SIDs), each tenant's app,
/// then the tenants' secrets, then the listing's options.
async fn multi_tenant(
    g: &Global,
    file: &std::path::Path,
    concurrency: usize,
    listing: impl FnOnce() -> anyhow::Result<Listing>,
    full: bool,
) -> anyhow::Result<ExitCode> {
    let schema = twilio_policy::tenants_schema();
    let names = connector_host::tenants_file::names(file, &schema, &g.app)?;
    let host = std::sync::Arc::new(load(g, connect_to(g)?).await?);
    for (name, app) in &names {
        host.policy_for(app)
            .map_err(|e| anyhow!("tenant {name:?}: {e}"))?;
    }
    let tenants = connector_host::tenants_file::load(file, &schema, &g.app)?;
    let listing = listing()?;
    for t in &tenants {
        if full {
            host.clear_state(t)
                .await
                .map_err(|e| anyhow!("tenant {:?}: {e}", t.name))?;
        }
    }
    let results = host.sync_tenants(tenants, concurrency).await;
    let count = results.len();
    let mut failed = 0;
    let mut all = Vec::new();
    for r in results {
        match r.result {
            Ok(list) => all.extend(rows(Some(&r.tenant), &r.app, list)),
            Err(e) => {
                failed += 1;
                eprintln!(
                    "error: tenant {}: {}",
                    output::safe(&r.tenant),
                    output::safe(&e.to_string())
                );
            }
        }
    }
    listing.emit(all)?;
    if failed > 0 {
        eprintln!("{failed} of {count} tenant(s) failed; the others are complete above");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
