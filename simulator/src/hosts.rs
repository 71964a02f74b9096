//! The Twilio host names the simulator serves, each spelled once; requests are routed on the
//! `Host` header, so all of them can share one listening address.

/// The 2010 REST API (Accounts, Usage Records).
pub const API: &str = "api.twilio.com";
/// TaskRouter (Workspaces, Workers).
pub const TASKROUTER: &str = "taskrouter.twilio.com";
/// The Flex API (Flex Users).
pub const FLEX_API: &str = "flex-api.twilio.com";
/// The Frontline API (Users).
pub const FRONTLINE_API: &str = "frontline-api.twilio.com";

/// Every host served.
pub const ALL: &[&str] = &[API, TASKROUTER, FLEX_API, FRONTLINE_API];

/// The suffix every served host shares: what a host that trusts Twilio allows.
pub const TRUSTED_SUFFIX: &str = ".twilio.com";
