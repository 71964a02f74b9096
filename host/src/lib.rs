//! Wasmtime host for governance connector components: loads the component once, runs each
//! tenant call in its own sandboxed `Store`, attaches the tenant's credentials to outbound
//! requests itself, enforces the egress allowlist and resource limits, and keeps an audit.
//!
//! Start with [`Host::load`] and the call methods on [`Host`]; see `examples/`.

pub mod audit;
mod bindings;
pub mod conformance;
pub mod credentials;
pub mod egress;
pub mod engine;
pub mod limits;
pub mod runtime;
pub mod tenant;
pub mod tenants_file;

pub use bindings::types;
pub use credentials::Credentials;
pub use engine::{EngineCache, HostOptions};
pub use limits::Limits;
pub use runtime::{CallError, Host};
pub use tenant::Tenant;
