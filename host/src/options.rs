//! Option keys the host itself writes into a call's configuration, and the ones its tenants
//! file fills in; each key is spelled here once.

/// The host's in-flight request cap, passed to the plugin so it never queues past it.
pub const HOST_MAX_IN_FLIGHT: &str = "host_max_in_flight";

/// The key a tenants file's `flex_instance_sid` field (and the CLI's `--flex-instance`) sets.
pub const FLEX_INSTANCE: &str = "flex_instance_sid";

/// The key a tenants file's `page_size` field sets: accounts per `list-accounts` page (the
/// plugin keeps it within its own bound).
pub const PAGE_SIZE: &str = "page_size";
