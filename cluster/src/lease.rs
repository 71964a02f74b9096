//! One job at a time per tenant, so several workers (or one worker's parallel jobs) never
//! multiply the load on one Twilio account: a lease in a key-value bucket whose entries lapse
//! unless refreshed. The holder is a job on a worker (`worker/job`), so a job redelivered to
//! the worker that held it takes it back, and no other job of the tenant can.
//!
//! The lease is also the job's **fence**: every write of the lease is a compare-and-set on the
//! revision this holder last wrote, so a worker that was paused past the lease's life (its job
//! redelivered, the lease taken by another worker) finds its next proof refused and stops
//! before it writes anything more: to the upstream (through the host's
//! [`connector_host::WriteFence`]), the checkpoints, the snapshot or the action's record.

use async_nats::jetstream::kv;
use connector_host::write_fence::{FenceCheck, WriteFence};
use std::sync::Arc;
use tokio::sync::Mutex;

/// A lease this job holds, and the revision of its last write.
pub struct Lease {
    leases: kv::Store,
    key: String,
    holder: String,
    /// Proofs one at a time: two compare-and-sets on one revision would refuse each other.
    revision: Mutex<Option<u64>>,
}

/// Take the lease of `key` for `holder`: ours when nobody holds it, or when this very job
/// holds it already (redelivered to the worker that had it).
pub async fn take(leases: &kv::Store, key: &str, holder: &str) -> Option<Arc<Lease>> {
    let revision = match leases.create(key, holder.to_string().into()).await {
        Ok(r) => r,
        Err(_) => match leases.entry(key).await {
            Ok(Some(e)) if e.operation == kv::Operation::Put && e.value == holder.as_bytes() => {
                e.revision
            }
            _ => return None,
        },
    };
    Some(Arc::new(Lease {
        leases: leases.clone(),
        key: key.to_string(),
        holder: holder.to_string(),
        revision: Mutex::new(Some(revision)),
    }))
}

impl Lease {
    /// Prove the lease is still this job's and renew it: a compare-and-set on the revision of
    /// its last write. Refused once, refused for good (the job has lost it).
    pub async fn prove(&self) -> Result<(), String> {
        let mut revision = self.revision.lock().await;
        let Some(r) = *revision else {
            return Err(self.lost());
        };
        match self
            .leases
            .update(&self.key, self.holder.clone().into(), r)
            .await
        {
            Ok(next) => {
                *revision = Some(next);
                Ok(())
            }
            // The revision moved (another holder, or the entry lapsed): lost. Any other
            // failure (the server unreachable) cannot prove the lease either; it is not
            // taken as lost, so a later proof may still succeed.
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                *revision = None;
                Err(self.lost())
            }
            Err(e) => Err(format!(
                "the lease of {} could not be proved ({e}); nothing written",
                self.key
            )),
        }
    }

    /// Whether a proof was refused (the job no longer holds the lease).
    pub async fn is_lost(&self) -> bool {
        self.revision.lock().await.is_none()
    }

    fn lost(&self) -> String {
        format!(
            "this job ({}) no longer holds the lease of {}: its job was taken over",
            self.holder, self.key
        )
    }

    /// Give the lease back, if it is still this job's.
    pub async fn release(&self) {
        let revision = self.revision.lock().await;
        if let Some(r) = *revision {
            let _ = self.leases.purge_expect_revision(&self.key, Some(r)).await;
        }
    }
}

impl WriteFence for Lease {
    fn check(&self) -> FenceCheck<'_> {
        Box::pin(self.prove())
    }
}
