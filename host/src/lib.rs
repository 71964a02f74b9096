//! Wasmtime host for governance connector components: loads the component once, runs each
//! tenant call in its own sandboxed `Store`, attaches the tenant's credentials to outbound
//! requests itself, enforces the egress allowlist and resource limits, and keeps an audit.
//!
//! Start with [`Host::load`] and the call methods on [`Host`]; see `examples/`.

pub mod action_targets;
pub mod actions;
pub mod answer_hygiene;
pub mod answer_projection;
pub mod audit;
pub mod audit_events;
pub mod bindings;
pub mod compile_cache;
pub mod connect_to;
pub mod cpu_budget;
pub mod credentials;
pub mod egress;
pub mod engine;
pub mod errors;
pub mod gate_memory;
pub mod host;
pub mod limits;
pub mod network;
pub mod oauth;
pub mod ocsf;
pub mod options;
mod private_files;
pub mod request_observer;
pub mod request_policy;
pub mod state;
pub mod store;
mod sync;
pub mod tenant;
pub mod tenant_sync;
pub mod tenants_file;
pub mod upstream_connections;
pub mod upstream_gate;
pub mod vendor_policy;
pub mod write_fence;
pub mod write_rules;

pub use actions::Action;
pub use bindings::types;
pub use connect_to::ConnectTo;
pub use credentials::Credentials;
pub use engine::{EngineCache, HostOptions};
pub use errors::{CallError, LimitExceeded};
pub use host::Host;
pub use limits::Limits;
pub use request_observer::RequestObserver;
pub use tenant::Tenant;
pub use tenant_sync::TenantSync;
pub use vendor_policy::VendorPolicy;
pub use write_fence::WriteFence;
