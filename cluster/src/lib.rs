//! Many machines: the connector's jobs (a tenant's sync, or one action) on NATS JetStream.
//! A work-queue stream holds the jobs; key-value buckets hold each sync's checkpoint (cursor
//! and pages so far), per-tenant leases, finished actions, failures and worker heartbeats; an
//! object store holds each tenant's latest complete snapshot, another each tenant's kept
//! state (what a re-sync may skip), so any worker can re-sync any tenant. Jobs name tenants, never
//! secrets: each worker resolves credentials from its own tenants file.

pub mod actions;
pub mod checkpoint;
pub mod enqueue;
pub mod jobs;
pub mod lease;
pub mod metrics;
pub mod names;
pub mod results;
pub mod setup;
pub mod status;
pub mod tenant_state;
pub mod worker;

pub use jobs::{Job, JobKind};
