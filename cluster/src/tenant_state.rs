//! Tenants' kept state in the cluster, so a re-sync on any worker reads only what can have
//! changed: one object per tenant, account and app in an object store. A tenant's state is
//! only written by the job holding its lease, so read-modify-write needs no other lock.

use crate::names;
use async_nats::jetstream::object_store::ObjectStore;
use connector_host::Tenant;
use connector_host::state::backend::{StateFuture, decode, encode, merged};
use connector_host::state::{Bucket, StateBackend};
use std::collections::BTreeSet;
use tokio::io::AsyncReadExt;

/// The cluster's store of tenants' state.
pub struct ClusterState {
    pub store: ObjectStore,
}

fn object(tenant: &Tenant) -> String {
    format!(
        "{}.{}",
        names::tenant_key(&tenant.name, &tenant.app),
        names::token(tenant.credentials.account_sid())
    )
}

impl ClusterState {
    async fn read(&self, tenant: &Tenant) -> Result<Bucket, String> {
        let name = object(tenant);
        let mut o = match self.store.get(name.as_str()).await {
            Ok(o) => o,
            Err(e) if e.kind() == async_nats::jetstream::object_store::GetErrorKind::NotFound => {
                return Ok(Bucket::default());
            }
            Err(e) => return Err(format!("reading the kept state {name}: {e}")),
        };
        let mut bytes = Vec::new();
        o.read_to_end(&mut bytes)
            .await
            .map_err(|e| format!("reading the kept state {name}: {e}"))?;
        decode(&bytes, &format!("the kept state {name}"))
    }
}

impl StateBackend for ClusterState {
    fn load<'a>(&'a self, tenant: &'a Tenant) -> StateFuture<'a, Bucket> {
        Box::pin(self.read(tenant))
    }

    fn commit<'a>(
        &'a self,
        tenant: &'a Tenant,
        after: &'a Bucket,
        touched: &'a BTreeSet<String>,
    ) -> StateFuture<'a, ()> {
        Box::pin(async move {
            let current = self.read(tenant).await?;
            let bytes = encode(tenant, &merged(&current, after, touched));
            let mut reader = bytes.as_slice();
            self.store
                .put(object(tenant).as_str(), &mut reader)
                .await
                .map(|_| ())
                .map_err(|e| format!("storing the kept state: {e}"))
        })
    }

    fn clear<'a>(&'a self, tenant: &'a Tenant) -> StateFuture<'a, bool> {
        Box::pin(async move {
            let had = !self.read(tenant).await?.is_empty();
            let _ = self.store.delete(object(tenant).as_str()).await;
            Ok(had)
        })
    }
}
