//! The configuration options the plugin reads, each key spelled once. The host passes them in
//! `config.options`; none of them is a secret.

/// Flex: the Flex instance SID (`GO…`) that enables the Flex Users API.
pub const FLEX_INSTANCE: &str = "flex_instance_sid";
/// Frontline: the availability (`true`/`false`) a state change also sets.
pub const AVAILABLE: &str = "available";
/// Requests the plugin keeps in flight at most (before the host's cap).
pub const CONCURRENCY: &str = "concurrency";
/// The host's own in-flight cap, written by the host; the plugin never exceeds it.
pub const HOST_MAX_IN_FLIGHT: &str = "host_max_in_flight";
/// Twilio: accounts per `list-accounts` page (1 to 1,000; smaller pages mean shorter calls).
pub const PAGE_SIZE: &str = "page_size";
