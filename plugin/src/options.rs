//! The configuration options the plugin reads, each key spelled once. The host passes them in
//! `config.options`; none of them is a secret.

/// Flex: the Flex instance SID (`GO…`) that enables the Flex Users API.
pub const FLEX_INSTANCE: &str = "flex_instance_sid";
/// Frontline: the availability (`true`/`false`) a state change also sets.
pub const AVAILABLE: &str = "available";
/// Requests the plugin keeps in flight at most (it only lowers the host's cap).
pub const CONCURRENCY: &str = "concurrency";
/// The host's own in-flight cap, written by the host; the plugin never exceeds it, and goes up
/// to it by default.
pub const HOST_MAX_IN_FLIGHT: &str = "host_max_in_flight";
/// What the host lets the connecting account have in flight as the call starts (learned from
/// the upstream by earlier calls), written by the host: the plugin's limit starts there.
pub const HOST_ACCOUNT_IN_FLIGHT: &str = "host_account_in_flight";
/// The call's wall-clock budget in milliseconds, written by the host: a throttled request is
/// retried while its wait still fits in it.
pub const HOST_CALL_BUDGET_MS: &str = "host_call_budget_ms";
/// Twilio: accounts per `list-accounts` page (1 to 1,000; smaller pages mean shorter calls).
pub const PAGE_SIZE: &str = "page_size";
