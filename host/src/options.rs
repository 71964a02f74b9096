//! Option keys the host itself writes into a call's configuration, each spelled here once. A
//! vendor's own option keys (the ones its tenants file fills in) belong to the front that
//! knows the vendor, in the [`TenantsSchema`](crate::tenants_file::TenantsSchema) it hands the
//! host.

/// The host's in-flight request cap, passed to the plugin so it never queues past it.
pub const HOST_MAX_IN_FLIGHT: &str = "host_max_in_flight";
/// Requests the connecting account's gate lets in flight as the call starts (what earlier calls
/// learned of the upstream's limit), passed to the plugin so its own limit need not start from
/// scratch every call.
pub const HOST_ACCOUNT_IN_FLIGHT: &str = "host_account_in_flight";
/// The call's wall-clock budget in milliseconds, passed to the plugin so it retries a throttled
/// request only while the wait still fits in it.
pub const HOST_CALL_BUDGET_MS: &str = "host_call_budget_ms";

/// Every key the host writes; a tenant's options never set them.
pub const HOST_WRITTEN: &[&str] = &[
    HOST_MAX_IN_FLIGHT,
    HOST_ACCOUNT_IN_FLIGHT,
    HOST_CALL_BUDGET_MS,
];
