//! Where tenants' kept state lives: this machine (`TenantStates`: a private directory or
//! memory), or anything else a host embeds (the cluster keeps it in NATS). The host loads a
//! tenant's bucket before a call and commits what a successful call changed.

use super::bucket::Bucket;
use crate::tenant::Tenant;
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

/// A boxed future, for a trait a host can hold as `dyn`.
pub type StateFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// A store of each tenant's bucket, keyed by tenant name, connecting account and app.
pub trait StateBackend: Send + Sync {
    /// The tenant's bucket as last committed (empty when there is none).
    fn load<'a>(&'a self, tenant: &'a Tenant) -> StateFuture<'a, Bucket>;
    /// Apply a call's writes: each key in `touched` takes its value in `after`, or is removed.
    fn commit<'a>(
        &'a self,
        tenant: &'a Tenant,
        after: &'a Bucket,
        touched: &'a BTreeSet<String>,
    ) -> StateFuture<'a, ()>;
    /// Forget the tenant's state; whether there was any.
    fn clear<'a>(&'a self, tenant: &'a Tenant) -> StateFuture<'a, bool>;
}

/// Apply `touched` keys of `after` to `current` (what every backend's commit does).
pub fn merged(current: &Bucket, after: &Bucket, touched: &BTreeSet<String>) -> Bucket {
    let mut entries = current.entries().clone();
    for k in touched {
        match after.get(k) {
            Some(v) => {
                entries.insert(k.clone(), v.to_vec());
            }
            None => {
                entries.remove(k);
            }
        }
    }
    Bucket::from_entries(entries)
}

/// The state file format (values base64, so any bytes round-trip), for backends that store a
/// bucket as one blob.
#[derive(serde::Serialize, serde::Deserialize)]
struct StateFile {
    format: u32,
    tenant: String,
    account: String,
    app: String,
    entries: std::collections::BTreeMap<String, String>,
}

/// A bucket as bytes.
pub fn encode(tenant: &Tenant, bucket: &Bucket) -> Vec<u8> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let file = StateFile {
        format: 1,
        tenant: tenant.name.clone(),
        account: tenant.credentials.account_sid().to_string(),
        app: tenant.app.clone(),
        entries: bucket
            .entries()
            .iter()
            .map(|(k, v)| (k.clone(), b64.encode(v)))
            .collect(),
    };
    serde_json::to_vec(&file).expect("a state file serialises")
}

/// A bucket from bytes; `what` names its source in errors.
pub fn decode(bytes: &[u8], what: &str) -> Result<Bucket, String> {
    use base64::Engine as _;
    let file: StateFile = serde_json::from_slice(bytes).map_err(|e| {
        format!("{what} is not a state file ({e}); `connector state clear` resets it")
    })?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut entries = std::collections::BTreeMap::new();
    for (k, v) in file.entries {
        let v = b64
            .decode(v)
            .map_err(|e| format!("{what} is damaged ({e})"))?;
        entries.insert(k, v);
    }
    Ok(Bucket::from_entries(entries))
}
