//! Syncing many tenants at once: each tenant in its own stores with only its own credentials,
//! a bounded number at a time, one tenant's failure never stopping the others.

use crate::bindings::types::Account;
use crate::errors::CallError;
use crate::host::Host;
use crate::tenant::Tenant;
use std::sync::Arc;

/// One tenant's outcome in a multi-tenant sync.
#[derive(Debug)]
pub struct TenantSync {
    /// The tenant's name.
    pub tenant: String,
    /// The tenant's app.
    pub app: String,
    /// Its accounts, or why its sync failed.
    pub result: Result<Vec<Account>, CallError>,
}

impl Host {
    /// Sync many tenants concurrently (at most `concurrency` at once). Results come back in the
    /// order of `tenants`.
    pub async fn sync_tenants(
        self: &Arc<Self>,
        tenants: Vec<Tenant>,
        concurrency: usize,
    ) -> Vec<TenantSync> {
        let gate = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, tenant) in tenants.into_iter().enumerate() {
            let (host, gate) = (self.clone(), gate.clone());
            tasks.spawn(async move {
                let _permit = gate.acquire_owned().await;
                let result = host.list_all(&tenant, |_| {}).await;
                (
                    i,
                    TenantSync {
                        tenant: tenant.name.clone(),
                        app: tenant.app.clone(),
                        result,
                    },
                )
            });
        }
        let mut out: Vec<(usize, TenantSync)> = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(r) => out.push(r),
                Err(e) => tracing::error!("a tenant sync task failed: {e}"),
            }
        }
        out.sort_by_key(|(i, _)| *i);
        out.into_iter().map(|(_, r)| r).collect()
    }
}
