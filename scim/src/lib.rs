//! A SCIM 2.0 service provider (RFC 7643, RFC 7644) in front of a loaded connector host.
//!
//! The crate is vendor-neutral: it is handed a [`connector_host::Host`] and the tenants it may
//! serve, and maps the contract's accounts and actions to SCIM resources and operations.

pub mod clients;
pub mod discovery;
pub mod errors;
pub mod filter;
pub mod groups;
pub mod listener;
pub mod listing;
pub mod projection;
pub mod rate;
pub mod resources;
pub mod service;
pub mod snapshots;
pub mod users;

pub use clients::Clients;
pub use service::{ServeOptions, Service};
