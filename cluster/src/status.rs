//! `connector cluster status`: queue depth, jobs in flight, live workers, failures, snapshots
//! (each tenant's last complete sync and its age).

use crate::setup::Cluster;
use futures::StreamExt;
use serde::Serialize;

/// The cluster at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Jobs waiting to be taken.
    pub queued: u64,
    /// Jobs a worker holds and has not finished.
    pub in_flight: u64,
    /// Redeliveries so far (a worker died or gave a job back).
    pub redelivered: u64,
    /// Workers that sent a heartbeat recently, with what each reported.
    pub workers: Vec<serde_json::Value>,
    /// Jobs given up for good, with their error.
    pub failures: Vec<serde_json::Value>,
    /// Snapshots stored.
    pub snapshots: u64,
    /// Each tenant's and app's last complete sync (its snapshot), by name.
    pub last_syncs: Vec<LastSync>,
}

/// A tenant's and app's last complete sync.
#[derive(Debug, Clone, Serialize)]
pub struct LastSync {
    /// The snapshot's name as stored (`names::tenant_key`).
    pub name: String,
    /// The tenant and app it names (`None` for a name no worker writes).
    pub tenant: Option<String>,
    pub app: Option<String>,
    /// When it was complete (RFC 3339).
    pub completed_at: String,
    /// Seconds since then, when that time is readable.
    pub age_seconds: Option<f64>,
}

impl LastSync {
    fn new(name: &str, completed_at: &str, now: chrono::DateTime<chrono::Utc>) -> Self {
        let (tenant, app) = crate::names::from_tenant_key(name).unzip();
        let age_seconds = chrono::DateTime::parse_from_rfc3339(completed_at)
            .ok()
            .map(|at| (now - at.with_timezone(&chrono::Utc)).num_milliseconds() as f64 / 1000.0);
        Self {
            name: name.to_string(),
            tenant,
            app,
            completed_at: completed_at.to_string(),
            age_seconds,
        }
    }
}

/// Read the status.
pub async fn status(cluster: &mut Cluster) -> anyhow::Result<Status> {
    let info = cluster.consumer.info().await?.clone();
    let values = |kv: async_nats::jetstream::kv::Store| async move {
        let mut out = Vec::new();
        if let Ok(mut keys) = kv.keys().await {
            while let Some(Ok(k)) = keys.next().await {
                if let Ok(Some(v)) = kv.get(&k).await {
                    out.push(serde_json::from_slice(&v).unwrap_or(serde_json::Value::Null));
                }
            }
        }
        out
    };
    let manifests = crate::results::manifests(&cluster.snapshots, None)
        .await
        .unwrap_or_default();
    let now = chrono::Utc::now();
    let last_syncs = manifests
        .iter()
        .map(|(name, m)| LastSync::new(name, &m.completed_at, now))
        .collect();
    Ok(Status {
        queued: info.num_pending,
        in_flight: info.num_ack_pending as u64,
        redelivered: info.num_redelivered as u64,
        workers: values(cluster.workers.clone()).await,
        failures: values(cluster.failures.clone()).await,
        snapshots: manifests.len() as u64,
        last_syncs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_last_sync_names_its_tenant_and_app_and_its_age() {
        let now = chrono::DateTime::parse_from_rfc3339("2025-01-02T03:04:10Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let name = crate::names::tenant_key("acme eu", "twilio");
        let s = LastSync::new(&name, "2025-01-02T03:04:05.500+00:00", now);
        assert_eq!(s.tenant.as_deref(), Some("acme eu"));
        assert_eq!(s.app.as_deref(), Some("twilio"));
        assert_eq!(s.age_seconds, Some(4.5));
        let odd = LastSync::new("nodot", "not a time", now);
        assert_eq!((odd.tenant, odd.age_seconds), (None, None));
    }
}
