//! What the audit records: one outbound request, one action. `audit.rs` writes them in the
//! connector's own shape, `ocsf.rs` maps them to OCSF events.

use serde::Serialize;

/// One outbound request.
#[derive(Debug, Clone, Serialize)]
pub struct RequestEvent {
    pub tenant: String,
    pub method: String,
    pub host: String,
    pub path: String,
    pub status: Option<u16>,
    pub duration_ms: f64,
    pub bytes: usize,
    pub error: Option<String>,
}

/// One action on an account.
#[derive(Debug, Clone, Serialize)]
pub struct ActionEvent {
    pub tenant: String,
    pub app: String,
    pub account: String,
    pub action: String,
    /// The entitlement a grant or a revoke is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entitlement: Option<String>,
    pub dry_run: bool,
    /// Whether the action (or its dry-run) succeeded.
    pub ok: bool,
    pub result: String,
    pub warnings: Vec<String>,
}

/// One request a front served to one of its clients (e.g. a SCIM client of `connector
/// serve`): who asked (the client's name, never its credential), what, and the answer.
#[derive(Debug, Clone, Serialize)]
pub struct ServedEvent {
    pub client: String,
    pub tenant: String,
    pub app: String,
    pub method: String,
    /// The path, without its query.
    pub path: String,
    pub status: u16,
    pub duration_ms: f64,
    /// The action the request ran, and on which account, when it ran one.
    pub action: Option<String>,
    pub account: Option<String>,
}
