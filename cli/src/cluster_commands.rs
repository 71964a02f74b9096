//! The cluster commands: `worker`, `enqueue`, `results`, `cluster status` (NATS JetStream;
//! the logic is in the `connector-cluster` crate).

use crate::args::{
    ClusterWhat, EnqueueArgs, EnqueueWhat, Global, NatsArgs, ResultsArgs, WorkerArgs,
};
use crate::listing::Listing;
use crate::output;
use crate::setup::connect_to;
use anyhow::{anyhow, bail};
use connector_cluster::{Job, enqueue, results, setup, status, worker};
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

/// `--nats` / `CONNECTOR_NATS` is not a NATS server URL (why, without repeating it).
#[derive(Debug, thiserror::Error)]
#[error("--nats (or CONNECTOR_NATS) {0}")]
pub struct BadNatsUrl(pub String);

/// Connect to the cluster's server, the URL checked first (and named by its flag).
async fn connect(n: &NatsArgs, patience: setup::Patience) -> anyhow::Result<setup::Cluster> {
    if let Err(setup::ConnectError::BadUrl(why)) = setup::server_url(&n.nats) {
        return Err(BadNatsUrl(why).into());
    }
    setup::connect(&n.nats, patience).await
}

/// `connector worker`: load the component once, then take jobs until stopped.
pub async fn worker(g: &Global, a: &WorkerArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&a.tenants)
        .map_err(|e| anyhow!("cannot read tenants file {}: {e}", a.tenants.display()))?;
    let (tenants, skipped) = connector_host::tenants_file::parse_available(
        &a.tenants,
        &text,
        &twilio_policy::tenants_schema(),
        &|k| std::env::var(k).ok(),
        &g.app,
    )?;
    for why in &skipped {
        eprintln!(
            "worker: {}; its jobs are left to workers that hold its secret",
            output::safe(&why.to_string())
        );
    }
    let metrics = Arc::new(connector_cluster::metrics::Metrics::new());
    // Listening first: a bad or taken address fails before anything is loaded.
    if let Some(addr) = a.metrics {
        let bound = connector_cluster::metrics::serve(metrics.clone(), addr).await?;
        eprintln!("worker: metrics at http://{bound}/metrics");
    }
    let cluster = connect(&a.nats, setup::Patience::Worker).await?;
    // Tenants' kept state lives in the cluster, so any worker can re-sync any tenant.
    let observer: Arc<dyn connector_host::RequestObserver> = metrics.clone();
    let options = connector_host::HostOptions {
        state_backend: Some(Arc::new(connector_cluster::tenant_state::ClusterState {
            store: cluster.state.clone(),
        })),
        request_observer: a.metrics.is_some().then_some(observer),
        ..crate::setup::options(g, connect_to(g)?)?
    };
    let host = Arc::new(connector_host::Host::load(&crate::setup::plugin_path(g)?, options).await?);
    for t in &tenants {
        host.policy_for(&t.app)
            .map_err(|e| anyhow!("tenant {:?}: {e}", t.name))?;
    }
    let id = a.id.clone().unwrap_or_else(|| {
        let name = std::fs::read_to_string("/etc/hostname").unwrap_or_else(|_| "worker".into());
        format!("{}-{}", name.trim(), std::process::id())
    });
    eprintln!(
        "worker {id}: {} tenant(s) of {} held here; taking up to {} job(s) at once from {}",
        tenants.len(),
        tenants.len() + skipped.len(),
        a.jobs,
        setup::server_url(&a.nats.nats).unwrap_or_default()
    );
    let w = Arc::new(worker::Worker {
        id,
        host,
        tenants: tenants
            .into_iter()
            .map(|t| ((t.name.clone(), t.app.clone()), t))
            .collect::<HashMap<_, _>>(),
        render: Arc::new(|t, a| output::account_json(&t.app, Some(&t.name), a)),
        metrics,
        running: Default::default(),
    });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let grace = std::time::Duration::from_secs(a.grace);
    let who = w.id.clone();
    tokio::spawn(async move {
        stopped_by_signal().await;
        eprintln!(
            "worker {}: stopping: no new job; running ones finish or are handed back within {} s",
            output::safe(&who),
            grace.as_secs()
        );
        let _ = stop_tx.send(true);
    });
    let id = w.id.clone();
    w.run(Arc::new(cluster), a.jobs, worker::Stop::new(stop_rx, grace))
        .await?;
    eprintln!("worker {}: stopped", output::safe(&id));
    Ok(ExitCode::SUCCESS)
}

/// Until SIGTERM (a service manager's stop) or SIGINT (Ctrl-C).
pub(crate) async fn stopped_by_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        // No handler could be installed: the default (exit at once) stays.
        _ => std::future::pending::<()>().await,
    }
}

/// `connector enqueue`: one sync per tenant and app, or one action; no secret is read.
pub async fn enqueue(g: &Global, a: &EnqueueArgs) -> anyhow::Result<ExitCode> {
    let mut names =
        connector_host::tenants_file::names(&a.tenants, &twilio_policy::tenants_schema(), &g.app)?;
    if let Some(only) = &a.tenant {
        names.retain(|(n, _)| n == only);
        if names.is_empty() {
            bail!("no tenant {only:?} in {}", a.tenants.display());
        }
    }
    let jobs: Vec<Job> = match &a.what {
        None | Some(EnqueueWhat::Sync) => names
            .iter()
            .map(|(n, app)| Job::sync(n, app, chrono::Utc::now()))
            .collect(),
        Some(
            EnqueueWhat::Suspend(x) | EnqueueWhat::Reactivate(x) | EnqueueWhat::Deprovision(x),
        ) => {
            let action = match &a.what {
                Some(EnqueueWhat::Suspend(_)) => "suspend",
                Some(EnqueueWhat::Reactivate(_)) => "reactivate",
                _ => "deprovision",
            };
            let [(n, app)] = names.as_slice() else {
                bail!("an action is for one tenant: add --tenant NAME");
            };
            vec![Job::action(
                n,
                app,
                action,
                &x.id,
                x.dry_run,
                x.key.as_deref(),
            )]
        }
        Some(EnqueueWhat::Grant(x) | EnqueueWhat::Revoke(x)) => {
            let action = if matches!(&a.what, Some(EnqueueWhat::Grant(_))) {
                "grant"
            } else {
                "revoke"
            };
            let [(n, app)] = names.as_slice() else {
                bail!("an action is for one tenant: add --tenant NAME");
            };
            vec![Job::entitlement_action(
                n,
                app,
                action,
                &x.action.id,
                Some(&x.entitlement),
                x.action.dry_run,
                x.action.key.as_deref(),
            )]
        }
    };
    let cluster = connect(&a.nats, setup::Patience::Command).await?;
    let (mut new, mut duplicate) = (0, 0);
    for job in &jobs {
        if enqueue::enqueue(&cluster, job).await? {
            new += 1;
        } else {
            duplicate += 1;
        }
    }
    println!(
        "enqueued {new} job(s){}",
        if duplicate > 0 {
            format!("; {duplicate} already enqueued (same idempotency key) and not added again")
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// `connector results`: the latest complete snapshot of each tenant, in any listing format
/// (JSON lines by default), with the inactivity filter of `accounts`.
pub async fn results(g: &Global, a: &ResultsArgs) -> anyhow::Result<ExitCode> {
    let format = a
        .format
        .or((!g.json).then_some(crate::formats::Format::Json));
    let listing = Listing::new(g, format, a.inactive_for.as_deref(), a.by)?;
    let cluster = connect(&a.nats, setup::Patience::Command).await?;
    let snapshots =
        results::read_all(&cluster.snapshots, &cluster.results, a.tenant.as_deref()).await?;
    let mut rows = Vec::new();
    for (name, lines) in &snapshots {
        for line in String::from_utf8_lossy(lines).lines() {
            let (tenant, app, account) = serde_json::from_str(line)
                .map_err(|e| e.to_string())
                .and_then(|v| output::account_from_json(&v))
                .map_err(|e| anyhow!("snapshot {name} has a line that is not an account ({e})"))?;
            rows.push(crate::formats::Row {
                tenant,
                app,
                account,
            });
        }
    }
    if snapshots.is_empty() {
        eprintln!(
            "no snapshot yet{}; enqueue a sync with `connector enqueue`",
            a.tenant
                .as_ref()
                .map(|t| format!(" for tenant {t:?}"))
                .unwrap_or_default()
        );
    }
    listing.emit(rows)?;
    Ok(ExitCode::SUCCESS)
}

/// `connector cluster status`.
pub async fn cluster(g: &Global, what: ClusterWhat, n: &NatsArgs) -> anyhow::Result<ExitCode> {
    let ClusterWhat::Status = what;
    let mut cluster = connect(n, setup::Patience::Command).await?;
    let s = status::status(&mut cluster).await?;
    if g.json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        println!(
            "queued {}  in flight {}  redelivered {}  workers {}  failures {}  snapshots {}",
            s.queued,
            s.in_flight,
            s.redelivered,
            s.workers.len(),
            s.failures.len(),
            s.snapshots
        );
        for f in &s.failures {
            println!("  failed: {}", output::safe(&f.to_string()));
        }
        for l in &s.last_syncs {
            let who = match (&l.tenant, &l.app) {
                (Some(t), Some(a)) => format!("tenant {} ({})", output::safe(t), output::safe(a)),
                _ => format!("snapshot {}", output::safe(&l.name)),
            };
            let age = l
                .age_seconds
                .map(|s| format!(" ({} ago)", age_text(s)))
                .unwrap_or_default();
            println!(
                "  last sync: {who} complete at {}{age}",
                output::safe(&l.completed_at)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A sync's age in words: seconds, minutes, hours or days.
fn age_text(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86400, s % 86400 / 3600),
    }
}
