//! Snapshots, streamed: a sync stores each page of its snapshot as it comes (an object
//! `<tenant>.<app>.<job>.<run>.<n>` of JSON lines, one account per line, as `accounts --json`
//! prints them; named by the run that stored it, so a store a run sent before it lost the job
//! cannot replace another run's page), and when its last page is in, switches the tenant's
//! pointer (a key-value entry) to its pages by compare-and-set, then removes the pages the
//! pointer named before. No worker
//! holds a whole tenant; a reader follows the pointer, so it sees the previous snapshot or the
//! new one, never a mix; and a snapshot never replaces one whose sync started later.

use crate::names;
use async_nats::jetstream::kv;
use async_nats::jetstream::object_store::ObjectStore;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

/// What a tenant's pointer says: whose pages make its latest complete snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub job: String,
    /// Its pages' object names, in order.
    pub pages: Vec<String>,
    /// When its sync started (Unix milliseconds).
    pub started_ms: i64,
    /// When it was complete (RFC 3339).
    pub completed_at: String,
}

/// The object name of page `n` of `job`'s snapshot as stored by `run`.
fn page_name(tenant_key: &str, job: &str, run: &str, n: usize) -> String {
    format!(
        "{tenant_key}.{}.{}.{n}",
        names::token(job),
        names::token(run)
    )
}

/// Store page `n` of `job`'s snapshot for `run`; the page's name.
pub async fn store_page(
    store: &ObjectStore,
    tenant: &str,
    app: &str,
    job: &str,
    run: &str,
    n: usize,
    lines: &[u8],
) -> anyhow::Result<String> {
    let mut reader = lines;
    let name = page_name(&names::tenant_key(tenant, app), job, run, n);
    store
        .put(name.as_str(), &mut reader)
        .await
        .map_err(|e| anyhow::anyhow!("storing page {n} of the snapshot of {tenant}: {e}"))?;
    Ok(name)
}

/// Remove these pages (of a replaced or abandoned snapshot).
pub async fn discard_pages(store: &ObjectStore, pages: &[String]) {
    for name in pages {
        let _ = store.delete(name.as_str()).await;
    }
}

/// What a switch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switched {
    /// The pointer names this snapshot now (or already did).
    Now,
    /// The pointer names a snapshot whose sync started later: this one was discarded.
    Stale,
}

/// Point `tenant`'s and `app`'s snapshot at `manifest`'s pages, unless it names a snapshot
/// whose sync started later; the pages it named before are removed.
pub async fn switch(
    pointers: &kv::Store,
    store: &ObjectStore,
    tenant: &str,
    app: &str,
    manifest: &Manifest,
) -> anyhow::Result<Switched> {
    let key = names::tenant_key(tenant, app);
    let value: bytes::Bytes = serde_json::to_vec(manifest)?.into();
    loop {
        let current = pointers
            .entry(&key)
            .await?
            .filter(|e| e.operation == kv::Operation::Put);
        let written = match &current {
            Some(e) => {
                let before = serde_json::from_slice::<Manifest>(&e.value).ok();
                if let Some(b) = &before {
                    if b.job == manifest.job {
                        return Ok(Switched::Now);
                    }
                    if b.started_ms > manifest.started_ms {
                        discard_pages(store, &manifest.pages).await;
                        return Ok(Switched::Stale);
                    }
                }
                match pointers.update(&key, value.clone(), e.revision).await {
                    Ok(_) => {
                        if let Some(b) = before {
                            discard_pages(store, &b.pages).await;
                        }
                        true
                    }
                    Err(err) if err.kind() == kv::UpdateErrorKind::WrongLastRevision => false,
                    Err(err) => {
                        return Err(anyhow::anyhow!("switching the snapshot of {tenant}: {err}"));
                    }
                }
            }
            None => match pointers.create(&key, value.clone()).await {
                Ok(_) => true,
                Err(err) if err.kind() == kv::CreateErrorKind::AlreadyExists => false,
                Err(err) => {
                    return Err(anyhow::anyhow!("switching the snapshot of {tenant}: {err}"));
                }
            },
        };
        if written {
            return Ok(Switched::Now);
        }
        // Another switch came in between: look again.
    }
}

/// Every tenant's pointer (or those whose tenant is `only`): (pointer key, manifest).
pub async fn manifests(
    pointers: &kv::Store,
    only: Option<&str>,
) -> anyhow::Result<Vec<(String, Manifest)>> {
    let mut keys: Vec<String> = Vec::new();
    let mut list = pointers
        .keys()
        .await
        .map_err(|e| anyhow::anyhow!("listing snapshots: {e}"))?;
    while let Some(k) = list.next().await {
        let k = k.map_err(|e| anyhow::anyhow!("listing snapshots: {e}"))?;
        if only.is_none_or(|t| k.starts_with(&format!("{}.", names::token(t)))) {
            keys.push(k);
        }
    }
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for k in keys {
        if let Some(v) = pointers.get(&k).await? {
            let m: Manifest = serde_json::from_slice(&v)
                .map_err(|e| anyhow::anyhow!("the snapshot pointer {k} is unreadable ({e})"))?;
            out.push((k, m));
        }
    }
    Ok(out)
}

/// Every snapshot (or those whose tenant is `only`): (pointer key, JSON lines), each read page
/// by page through its pointer. A snapshot switched while it is read (its pages removed) is
/// read again through its new pointer.
pub async fn read_all(
    pointers: &kv::Store,
    store: &ObjectStore,
    only: Option<&str>,
) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for (key, mut m) in manifests(pointers, only).await? {
        let mut attempts = 0;
        let bytes = loop {
            match read_pages(store, &key, &m).await {
                Ok(b) => break b,
                Err(e) => {
                    attempts += 1;
                    let again = pointers
                        .get(&key)
                        .await?
                        .and_then(|v| serde_json::from_slice::<Manifest>(&v).ok());
                    match again {
                        Some(newer) if newer != m && attempts < 5 => m = newer,
                        _ => return Err(e),
                    }
                }
            }
        };
        out.push((key, bytes));
    }
    Ok(out)
}

async fn read_pages(store: &ObjectStore, key: &str, m: &Manifest) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    for (n, name) in m.pages.iter().enumerate() {
        let mut object = store
            .get(name.as_str())
            .await
            .map_err(|e| anyhow::anyhow!("reading page {n} of snapshot {key}: {e}"))?;
        object.read_to_end(&mut bytes).await?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_names_keep_tenants_jobs_and_runs_apart() {
        let a = page_name(&names::tenant_key("a.b", "twilio"), "sync.x", "w0-1", 0);
        let b = page_name(&names::tenant_key("a", "b.twilio"), "sync.x", "w0-1", 0);
        let c = page_name(&names::tenant_key("a.b", "twilio"), "sync.x", "w1-2", 0);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert!(a.starts_with(&format!("{}.", names::token("a.b"))));
        assert!(a.ends_with(".0"));
    }
}
