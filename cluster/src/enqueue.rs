//! Putting jobs on the queue. An action's idempotency key is its message id, so the server
//! takes the same action once however often it is enqueued (within the dedup window).

use crate::jobs::Job;
use crate::names;
use crate::setup::Cluster;
use anyhow::Context;

/// Enqueue `job`; whether the server took it as new (false: a duplicate of an earlier one).
pub async fn enqueue(cluster: &Cluster, job: &Job) -> anyhow::Result<bool> {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(async_nats::header::NATS_MESSAGE_ID, job.id.as_str());
    let ack = cluster
        .js
        .publish_with_headers(
            names::job_subject(&job.app),
            headers,
            serde_json::to_vec(job)?.into(),
        )
        .await
        .context("enqueueing a job")?
        .await
        .context("the server did not confirm a job")?;
    Ok(!ack.duplicate)
}
