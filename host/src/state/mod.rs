//! Host-kept state for plugins through `wasi:keyvalue`: buckets the host scopes and owns,
//! one per listing and one per tenant and app, bounded and never shared between tenants.

pub mod backend;
pub mod bucket;
pub mod keyvalue;
pub mod listings;
pub mod tenant_state;

pub use backend::StateBackend;
pub use bucket::{Bucket, StateRefused};
pub use keyvalue::{CallState, KvHandle};
