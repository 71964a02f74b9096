//! One job at a time per tenant, so several workers (or one worker's parallel jobs) never
//! multiply the load on one Twilio account: a lease in a key-value bucket whose entries lapse
//! unless refreshed. The holder is a job on a worker (`worker/job`), so a job redelivered to
//! the worker that held it takes it back, and no other job of the tenant can.

use async_nats::jetstream::kv;

/// Take the lease of `key` for `holder`; whether it is ours now.
pub async fn take(leases: &kv::Store, key: &str, holder: &str) -> bool {
    match leases.create(key, holder.to_string().into()).await {
        Ok(_) => true,
        // Ours already (this job redelivered here), or another job's.
        Err(_) => matches!(leases.get(key).await, Ok(Some(v)) if v == holder.as_bytes()),
    }
}

/// Keep the lease alive while working.
pub async fn refresh(leases: &kv::Store, key: &str, holder: &str) {
    let _ = leases.put(key, holder.to_string().into()).await;
}

/// Give the lease back, if it is still ours.
pub async fn release(leases: &kv::Store, key: &str, holder: &str) {
    if matches!(leases.get(key).await, Ok(Some(v)) if v == holder.as_bytes()) {
        let _ = leases.purge(key).await;
    }
}
