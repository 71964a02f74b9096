//! One end-to-end test binary (as wasmtime's `tests/all`): the real component and the hostile
//! one, built once by this crate's build script, in the real host against the simulator on
//! loopback. One module per area.

mod answer_fields;
mod cli;
mod cluster;
mod cluster_metrics;
mod cluster_snapshots;
mod conformance;
mod documented;
mod faults;
mod fencing;
mod first_contact;
mod flex_app;
mod formats;
mod frontline_app;
mod host_promises;
mod large_tenants;
mod network_errors;
mod organization_app;
mod performance;
mod permission_screen;
mod promises;
mod rate_limits;
mod resync;
mod route_policy;
mod sandbox;
mod scim;
mod scim_compliance;
mod simulator_contract;
mod state_promises;
mod tenants;
mod twilio_accounts;
mod twilio_actions;
