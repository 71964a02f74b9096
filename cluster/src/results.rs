//! Snapshots: each tenant's and app's latest complete sync, one object (JSON lines, one
//! account per line, as `accounts --json` prints them). An object is replaced whole, so a
//! reader sees the previous snapshot or the new one, never a mix.

use crate::names;
use async_nats::jetstream::object_store::ObjectStore;
use futures::StreamExt;
use tokio::io::AsyncReadExt;

/// Store `lines` as the latest snapshot of `tenant` and `app`.
pub async fn publish(
    store: &ObjectStore,
    tenant: &str,
    app: &str,
    lines: &[u8],
) -> anyhow::Result<()> {
    let mut reader = lines;
    store
        .put(names::tenant_key(tenant, app).as_str(), &mut reader)
        .await
        .map_err(|e| anyhow::anyhow!("storing the snapshot of {tenant}: {e}"))?;
    Ok(())
}

/// Every snapshot (or those whose tenant is `only`): (object name, JSON lines).
pub async fn read_all(
    store: &ObjectStore,
    only: Option<&str>,
) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut names = Vec::new();
    let mut list = store
        .list()
        .await
        .map_err(|e| anyhow::anyhow!("listing snapshots: {e}"))?;
    while let Some(info) = list.next().await {
        let info = info.map_err(|e| anyhow::anyhow!("listing snapshots: {e}"))?;
        if info.deleted {
            continue;
        }
        let wanted = only.is_none_or(|t| info.name.starts_with(&format!("{}.", names::token(t))));
        if wanted {
            names.push(info.name);
        }
    }
    // The listing can name an object twice (its consumer may start over when the server
    // connection is re-established mid-list): each snapshot is read once.
    names.sort();
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        let mut object = store
            .get(name.as_str())
            .await
            .map_err(|e| anyhow::anyhow!("reading snapshot {name}: {e}"))?;
        let mut bytes = Vec::new();
        object.read_to_end(&mut bytes).await?;
        out.push((name, bytes));
    }
    Ok(out)
}
