//! Option keys the host itself writes into a call's configuration, each spelled here once. A
//! vendor's own option keys (the ones its tenants file fills in) belong to the front that
//! knows the vendor, in the [`TenantsSchema`](crate::tenants_file::TenantsSchema) it hands the
//! host.

/// The host's in-flight request cap, passed to the plugin so it never queues past it.
pub const HOST_MAX_IN_FLIGHT: &str = "host_max_in_flight";
