//! A stateful Twilio simulator on loopback: Twilio's JSON shapes and paging, Basic-auth
//! checking, fault injection and a request log, for tests, the demo and conformance runs.
//! One file per Twilio host; requests are routed on the `Host` header, so every Twilio host
//! can share one listening address (the host's `--connect-to`).

mod api2010;
mod auth;
pub mod faults;
pub mod fixture;
mod flex_api;
mod form;
mod frontline;
pub mod hosts;
mod monitor;
mod oauth;
mod org_scim;
mod organization;
mod paging;
mod precise_timer;
mod server;
mod state;
mod taskrouter;
#[cfg(test)]
mod test_http;
mod usage_history;

pub use faults::{Fault, FaultRule};
pub use fixture::{Fixture, History, OAuthClient, Organization, UsageEntry};
pub use server::{ConcurrencyStats, RecordedRequest, Simulator};
