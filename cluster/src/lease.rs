//! One worker at a time per tenant, so several workers never multiply the load on one
//! Twilio account: a lease in a key-value bucket whose entries lapse unless refreshed.

use async_nats::jetstream::kv;

/// Take the lease of `key` for `worker`; whether it is ours now.
pub async fn take(leases: &kv::Store, key: &str, worker: &str) -> bool {
    match leases.create(key, worker.to_string().into()).await {
        Ok(_) => true,
        // Ours already (a redelivery to the same worker), or someone else's.
        Err(_) => matches!(leases.get(key).await, Ok(Some(v)) if v == worker.as_bytes()),
    }
}

/// Keep the lease alive while working.
pub async fn refresh(leases: &kv::Store, key: &str, worker: &str) {
    let _ = leases.put(key, worker.to_string().into()).await;
}

/// Give the lease back, if it is still ours.
pub async fn release(leases: &kv::Store, key: &str, worker: &str) {
    if matches!(leases.get(key).await, Ok(Some(v)) if v == worker.as_bytes()) {
        let _ = leases.purge(key).await;
    }
}
