//! A sync's progress: the head (`<job>` in the checkpoints bucket: the next cursor, the pages
//! stored so far and when the sync started). Each page itself is stored as it comes, as a page
//! of the job's snapshot (`results.rs`, named by the run that stored it), so a redelivered job
//! resumes at the head and nothing is assembled at the end. The head moves by compare-and-set
//! on the revision the run read or last wrote: a write of a run that lost the job (sent before
//! a partition, delivered after it healed) cannot move it.

use async_nats::jetstream::kv;
use serde::{Deserialize, Serialize};

/// Where a sync stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The cursor of the next page (none before the first page).
    pub cursor: Option<String>,
    /// The pages stored so far, in order (their object names).
    pub pages: Vec<String>,
    /// When the sync's first page was asked for (Unix milliseconds; 0 before).
    #[serde(default)]
    pub started_ms: i64,
}

fn head_key(job: &str) -> String {
    crate::names::token(job)
}

/// The head of `job` and its revision, if it has one (an unreadable head counts as none).
pub async fn head(kv: &kv::Store, job: &str) -> anyhow::Result<Option<(Head, u64)>> {
    Ok(match kv.entry(head_key(job)).await? {
        Some(e) if e.operation == kv::Operation::Put => serde_json::from_slice(&e.value)
            .ok()
            .map(|h| (h, e.revision)),
        _ => None,
    })
}

/// Move the head of `job` past a page already stored (a page is never counted unstored), if
/// it is still at `revision` (none: it has no head yet); its new revision.
pub async fn advance(
    kv: &kv::Store,
    job: &str,
    next: &Head,
    revision: Option<u64>,
) -> anyhow::Result<u64> {
    let value = serde_json::to_vec(next)?.into();
    let moved = match revision {
        None => kv
            .create(head_key(job), value)
            .await
            .map_err(|e| e.to_string()),
        Some(r) => kv
            .update(head_key(job), value, r)
            .await
            .map_err(|e| e.to_string()),
    };
    moved.map_err(|e| anyhow::anyhow!("the checkpoint of {job} moved under this run ({e})"))
}

/// Forget `job`'s head.
pub async fn forget(kv: &kv::Store, job: &str) {
    let _ = kv.purge(head_key(job)).await;
}
