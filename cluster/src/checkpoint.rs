//! A sync's progress, per page: the head (`<job>`: the next cursor and pages so far) and each
//! page (`<job>.<n>`: its accounts as JSON lines). A redelivered job resumes at the head.

use async_nats::jetstream::kv;
use serde::{Deserialize, Serialize};

/// Where a sync stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The cursor of the next page (none before the first page).
    pub cursor: Option<String>,
    /// Pages stored so far.
    pub pages: u64,
}

fn head_key(job: &str) -> String {
    crate::names::token(job)
}

fn page_key(job: &str, n: u64) -> String {
    format!("{}.{n}", crate::names::token(job))
}

/// The head of `job`, if it has one.
pub async fn head(kv: &kv::Store, job: &str) -> anyhow::Result<Option<Head>> {
    Ok(match kv.get(head_key(job)).await? {
        Some(b) => serde_json::from_slice(&b).ok(),
        None => None,
    })
}

/// Store page `n` of `job`, then move the head past it (a page is never counted unstored).
pub async fn save_page(
    kv: &kv::Store,
    job: &str,
    n: u64,
    lines: Vec<u8>,
    next: &Head,
) -> anyhow::Result<()> {
    kv.put(page_key(job, n), lines.into()).await?;
    kv.put(head_key(job), serde_json::to_vec(next)?.into())
        .await?;
    Ok(())
}

/// Every stored page of `job`, in order.
pub async fn pages(kv: &kv::Store, job: &str, count: u64) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    for n in 0..count {
        let page = kv
            .get(page_key(job, n))
            .await?
            .ok_or_else(|| anyhow::anyhow!("checkpoint page {n} of {job} is missing"))?;
        out.extend_from_slice(&page);
    }
    Ok(out)
}

/// Forget `job`'s checkpoint.
pub async fn forget(kv: &kv::Store, job: &str, count: u64) {
    for n in 0..count {
        let _ = kv.purge(page_key(job, n)).await;
    }
    let _ = kv.purge(head_key(job)).await;
}
