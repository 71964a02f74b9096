//! A sync's progress: the head (`<job>` in the checkpoints bucket: the next cursor, the pages
//! stored so far and when the sync started). Each page itself is stored as it comes, as a page
//! of the job's snapshot (`results.rs`), so a redelivered job resumes at the head and nothing
//! is assembled at the end.

use async_nats::jetstream::kv;
use serde::{Deserialize, Serialize};

/// Where a sync stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The cursor of the next page (none before the first page).
    pub cursor: Option<String>,
    /// Pages stored so far.
    pub pages: u64,
    /// When the sync's first page was asked for (Unix milliseconds; 0 before).
    #[serde(default)]
    pub started_ms: i64,
}

fn head_key(job: &str) -> String {
    crate::names::token(job)
}

/// The head of `job`, if it has one.
pub async fn head(kv: &kv::Store, job: &str) -> anyhow::Result<Option<Head>> {
    Ok(match kv.get(head_key(job)).await? {
        Some(b) => serde_json::from_slice(&b).ok(),
        None => None,
    })
}

/// Move the head of `job` past a page already stored (a page is never counted unstored).
pub async fn advance(kv: &kv::Store, job: &str, next: &Head) -> anyhow::Result<()> {
    kv.put(head_key(job), serde_json::to_vec(next)?.into())
        .await?;
    Ok(())
}

/// Forget `job`'s head.
pub async fn forget(kv: &kv::Store, job: &str) {
    let _ = kv.purge(head_key(job)).await;
}
