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
/// Twilio's OAuth 2.0 token URL (`twilio_oauth_v2.json`, `servers` and `/v2/token`).
pub const OAUTH: &str = "oauth.twilio.com";
/// The organization-level APIs (`twilio_iam_organizations.json`, `servers`): SCIM Users,
/// Accounts, RoleAssignments, and that file's own token URL `/v1/token`.
pub const PREVIEW_IAM: &str = "preview-iam.twilio.com";
/// Monitor (`twilio_monitor_v1.json`, `servers`): Events.
pub const MONITOR: &str = "monitor.twilio.com";

/// Every host served.
pub const ALL: &[&str] = &[
    API,
    TASKROUTER,
    FLEX_API,
    FRONTLINE_API,
    OAUTH,
    PREVIEW_IAM,
    MONITOR,
];

/// The hosts whose requests authenticate with OAuth 2.0 (client credentials at a token URL, a
/// bearer token elsewhere) instead of Basic: `twilio_iam_organizations.json` has the top-level
/// `security` `oAuth2ClientCredentials` only, and both token operations have `security: []`.
pub const OAUTH_AUTHENTICATED: &[&str] = &[OAUTH, PREVIEW_IAM];

/// The suffix every served host shares: what a host that trusts Twilio allows.
pub const TRUSTED_SUFFIX: &str = ".twilio.com";
