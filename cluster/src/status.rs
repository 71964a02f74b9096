//! `connector cluster status`: queue depth, jobs in flight, live workers, failures, snapshots.

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
    let mut snapshots = 0;
    if let Ok(mut list) = cluster.results.list().await {
        while let Some(Ok(o)) = list.next().await {
            if !o.deleted {
                snapshots += 1;
            }
        }
    }
    Ok(Status {
        queued: info.num_pending,
        in_flight: info.num_ack_pending as u64,
        redelivered: info.num_redelivered as u64,
        workers: values(cluster.workers.clone()).await,
        failures: values(cluster.failures.clone()).await,
        snapshots,
    })
}
