//! A worker: loads the component once, then takes jobs one at a time. Secrets come from its
//! own tenants; a job for a tenant it does not know goes back to the queue for another worker
//! (and fails with that reason once it has been delivered too often). A job is acknowledged
//! only when its result is stored; while it runs, the worker tells the server it is alive and
//! keeps its tenant's lease.

use crate::checkpoint::{self, Head};
use crate::jobs::{Job, JobKind};
use crate::setup::{Cluster, MAX_DELIVER};
use crate::{actions, lease, names, results};
use async_nats::jetstream::{AckKind, Message, kv};
use connector_host::types::{Account, ConnectorError};
use connector_host::{CallError, Host, Tenant};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How a worker renders one account of a snapshot (one JSON line).
pub type Render = Arc<dyn Fn(&Tenant, &Account) -> serde_json::Value + Send + Sync>;

/// A worker's identity and what it can do.
pub struct Worker {
    /// Unique among workers (host name and process id by default).
    pub id: String,
    pub host: Arc<Host>,
    /// The tenants this worker holds secrets for, by (name, app).
    pub tenants: HashMap<(String, String), Tenant>,
    pub render: Render,
    /// What it counts (served with `connector worker --metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Jobs running here now, by id: a second delivery of one of them (the server
    /// redelivering it, or honouring a hand-back this worker sent before a partition) waits
    /// instead of running it twice under the same lease holder.
    pub running: std::sync::Mutex<std::collections::HashSet<String>>,
}

/// A job's place in [`Worker::running`], given back when the job ends.
struct Running<'w>(&'w Worker, String);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.1);
    }
}

/// Why a job did not finish.
enum Outcome {
    /// Stored; acknowledge.
    Done,
    /// Give it back for later (or another worker).
    Retry(String, Duration),
    /// Give up for good.
    Fail(String),
    /// The worker is stopping: give the job back at once for another worker, its lease
    /// released (a sync resumes from its last checkpoint; an action from its intent).
    HandBack(String),
    /// The tenant's lease was lost (this worker was paused past it and the job taken over):
    /// stop without writing, acknowledging or handing back anything; the job is another
    /// worker's now.
    Lost(String),
}

impl Outcome {
    /// How it is counted: a retry past the last delivery is given up.
    fn counted(&self, delivered: i64) -> crate::metrics::JobOutcome {
        use crate::metrics::JobOutcome as J;
        match self {
            Outcome::Done => J::Done,
            Outcome::Retry(..) if delivered >= MAX_DELIVER => J::Failed,
            Outcome::Retry(..) => J::Retried,
            Outcome::Fail(_) => J::Failed,
            Outcome::HandBack(_) => J::HandedBack,
            Outcome::Lost(_) => J::Lost,
        }
    }
}

/// How a worker is told to stop, and how long its jobs then have.
#[derive(Clone)]
pub struct Stop {
    requested: tokio::sync::watch::Receiver<bool>,
    /// After the request, how long a running job may go on before it is handed back.
    pub grace: Duration,
}

impl Stop {
    /// A stop that `requested` turns on (`true`), with `grace` for running jobs.
    pub fn new(requested: tokio::sync::watch::Receiver<bool>, grace: Duration) -> Self {
        Self { requested, grace }
    }

    pub fn is_requested(&self) -> bool {
        *self.requested.borrow()
    }

    /// Until the stop is asked for.
    async fn asked(&self) {
        let mut rx = self.requested.clone();
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Until the grace after the stop has run out.
    async fn grace_over(&self) {
        self.asked().await;
        match tokio::time::Instant::now().checked_add(self.grace) {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending::<()>().await,
        }
    }
}

impl Worker {
    /// Take jobs, up to `jobs` at once (each for another tenant: a tenant's lease lets one job
    /// run for it at a time), until `stop` is asked for: then take no new job, let running
    /// ones finish within the grace (a sync hands itself back at its next checkpoint), hand
    /// back what is still running when it is over, and return. Connection losses are waited
    /// out.
    pub async fn run(
        self: Arc<Self>,
        cluster: Arc<Cluster>,
        jobs: usize,
        stop: Stop,
    ) -> anyhow::Result<()> {
        let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let heartbeat = AbortOnDrop(self.heartbeat(&cluster, done.clone()));
        let jobs = jobs.max(1);
        let slots = Arc::new(tokio::sync::Semaphore::new(jobs));
        loop {
            let permit = tokio::select! {
                p = slots.clone().acquire_owned() => p?,
                () = stop.asked() => break,
            };
            if stop.is_requested() {
                break;
            }
            let batch = cluster
                .consumer
                .fetch()
                .max_messages(1)
                .expires(Duration::from_secs(2))
                .messages()
                .await;
            let mut messages = match batch {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!("worker {}: cannot fetch jobs ({e}); retrying", self.id);
                    drop(permit);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            match messages.next().await {
                // Taken just as the stop came: handed straight back.
                Some(Ok(message)) if stop.is_requested() => {
                    let _ = message.ack_with(AckKind::Nak(None)).await;
                    break;
                }
                Some(Ok(message)) => {
                    let (me, cluster, done) = (self.clone(), cluster.clone(), done.clone());
                    let stop = stop.clone();
                    tokio::spawn(async move {
                        me.handle(&cluster, message, &stop).await;
                        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        drop(permit);
                    });
                }
                Some(Err(_)) => tokio::time::sleep(Duration::from_millis(200)).await,
                None => {}
            }
        }
        // Every slot back: each running job has finished or handed itself back.
        let _all = slots.acquire_many(jobs as u32).await?;
        // Gone from `cluster status` at once, not when its heartbeat lapses.
        drop(heartbeat);
        let _ = cluster.workers.purge(names::token(&self.id)).await;
        Ok(())
    }

    /// Announce this worker every few seconds (its entry lapses when it dies).
    fn heartbeat(
        &self,
        cluster: &Cluster,
        done: Arc<std::sync::atomic::AtomicU64>,
    ) -> tokio::task::JoinHandle<()> {
        let (kv, id) = (cluster.workers.clone(), self.id.clone());
        tokio::spawn(async move {
            loop {
                let beat = serde_json::json!({
                    "worker": id,
                    "jobs_handled": done.load(std::sync::atomic::Ordering::Relaxed),
                    "at": chrono::Utc::now().to_rfc3339(),
                });
                let _ = kv.put(names::token(&id), beat.to_string().into()).await;
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
        })
    }

    async fn handle(&self, cluster: &Cluster, message: Message, stop: &Stop) {
        let started = std::time::Instant::now();
        let delivered = message.info().map(|i| i.delivered).unwrap_or(1);
        if delivered > 1 {
            self.metrics.redelivered();
        }
        let job: Job = match serde_json::from_slice(&message.payload) {
            Ok(j) => j,
            Err(e) => {
                self.give_up(cluster, &message, "?", &format!("not a job: {e}"))
                    .await;
                return;
            }
        };
        let first_here = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(job.id.clone());
        if !first_here {
            // Already running here: this delivery waits (the running one acknowledges it).
            let _ = message
                .ack_with(AckKind::Nak(Some(cluster.lease_ttl / 4)))
                .await;
            return;
        }
        let _running = Running(self, job.id.clone());
        let outcome = match self.tenants.get(&(job.tenant.clone(), job.app.clone())) {
            None => Outcome::Retry(
                format!(
                    "no worker that took it holds the credentials of tenant {:?} ({} app)",
                    job.tenant, job.app
                ),
                Duration::from_millis(500),
            ),
            Some(tenant) => {
                let key = names::tenant_key(&job.tenant, &job.app);
                let holder = format!("{}/{}", self.id, job.id);
                match lease::take(&cluster.leases, &key, &holder).await {
                    None => Outcome::Retry(
                        "another worker is working for this tenant".into(),
                        cluster.lease_ttl / 4,
                    ),
                    Some(lease) => {
                        // Stopped however the job ends, a panic in a library it calls
                        // included: a keep-alive that outlived its job would hold the job and
                        // the lease forever.
                        let keepalive = AbortOnDrop(self.keep_alive(cluster, &message, &lease));
                        let work = async {
                            match &job.kind {
                                JobKind::Sync => {
                                    self.sync(cluster, &job, tenant, &lease, stop).await
                                }
                                JobKind::Action {
                                    action,
                                    account,
                                    dry_run,
                                    entitlement,
                                } => {
                                    let what = ActionJob {
                                        action,
                                        account,
                                        entitlement: entitlement.as_deref(),
                                        dry_run: *dry_run,
                                    };
                                    self.act(cluster, &job, tenant, what, &lease).await
                                }
                            }
                        };
                        // Past the grace, the job is dropped where it stands (its calls
                        // cancelled) and handed back: a sync resumes from its checkpoint, an
                        // action from its intent.
                        let outcome = tokio::select! {
                            o = work => o,
                            () = stop.grace_over() => Outcome::HandBack(
                                "the worker stopped before the job finished".into(),
                            ),
                        };
                        drop(keepalive);
                        // Found lost by the job or its keep-alive: counted once.
                        if matches!(outcome, Outcome::Lost(_)) || lease.is_lost().await {
                            self.metrics.lease_lost();
                        }
                        lease.release().await;
                        outcome
                    }
                }
            }
        };
        let kind = match job.kind {
            JobKind::Sync => crate::metrics::Kind::Sync,
            JobKind::Action { .. } => crate::metrics::Kind::Action,
        };
        let counted = outcome.counted(delivered);
        self.metrics.job_finished(kind, counted, started.elapsed());
        match outcome {
            Outcome::Done => {
                if let Err(e) = message.double_ack().await {
                    tracing::warn!(
                        "job {}: acknowledgement not confirmed ({e}); it may run again and find its result",
                        job.id
                    );
                }
            }
            Outcome::Retry(why, _) if delivered >= MAX_DELIVER => {
                self.give_up(cluster, &message, &job.id, &why).await
            }
            Outcome::Retry(_, after) => {
                let _ = message.ack_with(AckKind::Nak(Some(after))).await;
            }
            Outcome::Fail(why) => self.give_up(cluster, &message, &job.id, &why).await,
            Outcome::HandBack(why) => {
                tracing::warn!("job {}: handed back: {why}", job.id);
                let _ = message.ack_with(AckKind::Nak(None)).await;
            }
            Outcome::Lost(why) => {
                tracing::warn!("job {}: stopped, nothing more written: {why}", job.id);
            }
        }
    }

    /// Tell the server the job is alive, and keep the tenant's lease, until aborted; once the
    /// lease is lost, the job is no longer this worker's to show alive.
    fn keep_alive(
        &self,
        cluster: &Cluster,
        message: &Message,
        lease: &Arc<lease::Lease>,
    ) -> tokio::task::JoinHandle<()> {
        let (ack, lease) = (message.clone(), lease.clone());
        let every = cluster.ack_wait / 4;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if lease.prove().await.is_err() && lease.is_lost().await {
                    return;
                }
                let _ = ack.ack_with(AckKind::Progress).await;
            }
        })
    }

    async fn give_up(&self, cluster: &Cluster, message: &Message, job: &str, why: &str) {
        let record = serde_json::json!({
            "job": job, "worker": self.id, "error": why, "at": chrono::Utc::now().to_rfc3339(),
        });
        let _ = cluster
            .failures
            .put(names::token(job), record.to_string().into())
            .await;
        let _ = message.ack_with(AckKind::Term).await;
    }

    /// A sync from its checkpoint: each page stored as a page of the job's snapshot before
    /// the next is asked for (the head then moved past it); when the last is in, the tenant's
    /// snapshot pointer is switched to these pages and the head forgotten. Nothing is held
    /// but the page at hand.
    async fn sync(
        &self,
        cluster: &Cluster,
        job: &Job,
        tenant: &Tenant,
        lease: &lease::Lease,
        stop: &Stop,
    ) -> Outcome {
        let kv = &cluster.checkpoints;
        let (mut head, mut revision) = match checkpoint::head(kv, &job.id).await {
            Ok(Some((h, r))) => (h, Some(r)),
            Ok(None) => (Head::default(), None),
            Err(e) => {
                return Outcome::Retry(
                    format!("checkpoint unreadable: {e}"),
                    Duration::from_secs(1),
                );
            }
        };
        if head.started_ms == 0 {
            head.started_ms = chrono::Utc::now().timestamp_millis();
        }
        // This run's pages have names of their own: a store another run sent before it lost
        // the job, delivered late, lands beside them, never over them.
        let run = format!(
            "{}-{}",
            self.id,
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
        let mut restarted = false;
        // A head with pages and no next cursor is a listing already complete (a run that
        // stored its last page and lost the job before switching): it is published as it is,
        // not listed again from the start onto the same pages.
        let complete = head.cursor.is_none() && !head.pages.is_empty();
        loop {
            if complete {
                break;
            }
            let page = match self.host.list_page(tenant, head.cursor.as_deref()).await {
                Ok(p) => p,
                // A cursor from a worker that died names a listing this host never held: a
                // plugin that needs its listing state refuses the cursor as invalid input;
                // start that listing again (once; other errors are retried as they are).
                Err(CallError::Connector {
                    error: ConnectorError::InvalidInput(_),
                    ..
                }) if head.cursor.is_some() && !restarted => {
                    if let Err(why) = self.still_ours(lease).await {
                        return why;
                    }
                    results::discard_pages(&cluster.results, &head.pages).await;
                    checkpoint::forget(kv, &job.id).await;
                    head = Head {
                        started_ms: chrono::Utc::now().timestamp_millis(),
                        ..Head::default()
                    };
                    revision = None;
                    restarted = true;
                    continue;
                }
                Err(e) => return Outcome::Retry(e.to_string(), Duration::from_secs(1)),
            };
            let mut lines = Vec::new();
            for a in &page.accounts {
                lines.extend_from_slice((self.render)(tenant, a).to_string().as_bytes());
                lines.push(b'\n');
            }
            if let Err(why) = self.still_ours(lease).await {
                return why;
            }
            let stored = async {
                let name = results::store_page(
                    &cluster.results,
                    &job.tenant,
                    &job.app,
                    &job.id,
                    &run,
                    head.pages.len(),
                    &lines,
                )
                .await?;
                let mut pages = head.pages.clone();
                pages.push(name);
                let next = Head {
                    cursor: page.next_cursor.clone(),
                    pages,
                    started_ms: head.started_ms,
                };
                let r = checkpoint::advance(kv, &job.id, &next, revision).await?;
                anyhow::Ok((next, r))
            };
            match stored.await {
                Ok((next, r)) => {
                    head = next;
                    revision = Some(r);
                }
                Err(e) => {
                    return Outcome::Retry(
                        format!("checkpoint not stored: {e}"),
                        Duration::from_secs(1),
                    );
                }
            }
            if head.cursor.is_none() {
                break;
            }
            // Stopping: this page is stored, the next is another worker's to read.
            if stop.is_requested() {
                return Outcome::HandBack("the worker is stopping".into());
            }
        }
        if let Err(why) = self.still_ours(lease).await {
            return why;
        }
        let manifest = results::Manifest {
            job: job.id.clone(),
            pages: head.pages.clone(),
            started_ms: head.started_ms,
            completed_at: chrono::Utc::now().to_rfc3339(),
        };
        match results::switch(
            &cluster.snapshots,
            &cluster.results,
            &job.tenant,
            &job.app,
            &manifest,
        )
        .await
        {
            Ok(results::Switched::Now) => self.metrics.snapshot_published(&job.tenant, &job.app),
            Ok(results::Switched::Stale) => tracing::warn!(
                "job {}: a sync of {} that started later has completed; this older snapshot was discarded",
                job.id,
                job.tenant
            ),
            Err(e) => return Outcome::Retry(e.to_string(), Duration::from_secs(1)),
        }
        checkpoint::forget(kv, &job.id).await;
        Outcome::Done
    }

    /// Whether the job still holds its lease (proved with the server): a lost lease stops the
    /// job; a proof the server could not answer is retried later.
    async fn still_ours(&self, lease: &lease::Lease) -> Result<(), Outcome> {
        match lease.prove().await {
            Ok(()) => Ok(()),
            Err(why) if lease.is_lost().await => Err(Outcome::Lost(why)),
            Err(why) => Err(Outcome::Retry(why, Duration::from_secs(1))),
        }
    }

    /// An action, once, with one audit line: a finished one (by idempotency key) is not run
    /// again; its intent is recorded before it may write and its outcome after, each while the
    /// job provably holds the tenant's lease, and every write it sends upstream is fenced by
    /// that lease. A redelivered action that finds only an intent (the worker before stopped
    /// between the two) reads the account: if it is already as the action leaves it, the
    /// record is completed without a second write or audit line; else the action runs.
    async fn act(
        &self,
        cluster: &Cluster,
        job: &Job,
        tenant: &Tenant,
        what: ActionJob<'_>,
        lease: &Arc<lease::Lease>,
    ) -> Outcome {
        let key = names::token(&job.id);
        let earlier = match cluster.done.entry(&key).await {
            Ok(e) => e.filter(|e| e.operation == kv::Operation::Put),
            Err(e) => {
                return Outcome::Retry(
                    format!("action record unreadable: {e}"),
                    Duration::from_secs(1),
                );
            }
        };
        let interrupted = match &earlier {
            Some(e) if !actions::is_intent(&e.value) => return Outcome::Done,
            Some(_) => true,
            None => false,
        };
        let planned = match actions::plan(what.action, what.entitlement) {
            Ok(p) => p,
            Err(why) => return Outcome::Fail(why),
        };
        if interrupted
            && !what.dry_run
            && let Some(record) =
                actions::completed_elsewhere(&self.host, tenant, &planned, what.account, &job.id)
                    .await
        {
            return self
                .record(cluster, &key, earlier.map(|e| e.revision), record, lease)
                .await;
        }
        // The intent, before anything may be written.
        let mut revision = earlier.map(|e| e.revision);
        if !what.dry_run {
            if let Err(why) = self.still_ours(lease).await {
                return why;
            }
            let intent = actions::intent(&job.id, what.account, what.action, &self.id);
            let stored = match revision {
                None => cluster
                    .done
                    .create(&key, intent)
                    .await
                    .map_err(|e| e.to_string()),
                Some(r) => cluster
                    .done
                    .update(&key, intent, r)
                    .await
                    .map_err(|e| e.to_string()),
            };
            match stored {
                Ok(r) => revision = Some(r),
                Err(e) => {
                    return Outcome::Retry(
                        format!("action intent not stored: {e}"),
                        Duration::from_secs(1),
                    );
                }
            }
        }
        let fence: Arc<dyn connector_host::WriteFence> = lease.clone();
        let done = match &planned {
            actions::Planned::Status(action) => {
                self.host
                    .act_fenced(tenant, *action, what.account, what.dry_run, Some(fence))
                    .await
            }
            actions::Planned::Entitlement { grant, entitlement } => {
                self.host
                    .entitlement_fenced(
                        tenant,
                        *grant,
                        what.account,
                        entitlement,
                        what.dry_run,
                        Some(fence),
                    )
                    .await
            }
        };
        let record = match done {
            Ok(r) => serde_json::json!({
                "job": job.id, "ok": true, "changed": r.changed, "message": r.message,
            }),
            Err(CallError::Fenced { reason, .. }) => return Outcome::Lost(reason),
            Err(e) if matches!(e.kind(), "transport" | "network" | "rate-limited") => {
                return Outcome::Retry(e.to_string(), Duration::from_secs(1));
            }
            Err(e) => serde_json::json!({"job": job.id, "ok": false, "error": e.to_string()}),
        };
        self.record(cluster, &key, revision, record, lease).await
    }

    /// Store an action's outcome over its intent (compare-and-set on the intent's revision),
    /// while the job holds the lease.
    async fn record(
        &self,
        cluster: &Cluster,
        key: &str,
        revision: Option<u64>,
        record: serde_json::Value,
        lease: &lease::Lease,
    ) -> Outcome {
        if let Err(why) = self.still_ours(lease).await {
            return why;
        }
        let value = record.to_string().into();
        let stored = match revision {
            None => cluster
                .done
                .create(key, value)
                .await
                .map_err(|e| e.to_string()),
            Some(r) => cluster
                .done
                .update(key, value, r)
                .await
                .map_err(|e| e.to_string()),
        };
        match stored {
            Ok(_) => Outcome::Done,
            Err(e) => Outcome::Retry(format!("result not stored: {e}"), Duration::from_secs(1)),
        }
    }
}

/// What an action job asks for.
#[derive(Clone, Copy)]
struct ActionJob<'a> {
    action: &'a str,
    account: &'a str,
    entitlement: Option<&'a str>,
    dry_run: bool,
}

/// A task aborted when this handle is dropped, on any path out of the scope that holds it.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
