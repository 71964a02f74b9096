//! Twilio governance connector. Everything except `component` is plain Rust that compiles
//! natively (unit tests, benchmarks) and into the wasm32-wasip2 component.

pub mod app;
pub mod apps;
pub mod errors;
pub mod fake;
pub mod flex;
pub mod frontline;
pub mod http;
pub mod model;
pub mod options;
pub mod organization;
pub mod paging;
pub mod retry;
pub mod sid;
pub mod state;
pub mod time;
pub mod twilio;

#[cfg(target_arch = "wasm32")]
mod component;
