//! Plain data types of the connector contract, independent of wit-bindgen.

use crate::errors::ConnectorError;

/// One request an app needs (method, host, path template, and for writes the actions that
/// use it), as `INFO.routes` declares it. Templates: `{XY}` is a SID with prefix XY (shape
/// [`crate::sid::SID_SHAPE`]), `{name}` any one segment.
pub use connector_routes::RouteSpec;

/// Normalised account status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Suspended,
    Deprovisioned,
}

/// Kinds of entitlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntitlementKind {
    AccountType,
    Role,
    Service,
}

/// Something an account holds, with its own last activity where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub kind: EntitlementKind,
    pub id: String,
    pub name: String,
    pub last_activity: Option<String>,
}

/// One account as the connector reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub status: Status,
    pub last_activity: Option<String>,
    pub entitlements: Vec<Entitlement>,
    pub attributes: Vec<(String, String)>,
    pub warnings: Vec<String>,
}

/// A page of accounts plus the opaque cursor of the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountPage {
    pub accounts: Vec<Account>,
    pub next_cursor: Option<String>,
}

/// Non-secret per-call configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub app: String,
    pub account_id: String,
    pub options: Vec<(String, String)>,
}

impl Config {
    /// Value of an option by key.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Outcome of an action or its dry-run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionResult {
    pub account_id: String,
    pub action: String,
    pub dry_run: bool,
    pub changed: bool,
    pub status: Option<Status>,
    pub message: String,
    pub warnings: Vec<String>,
}

/// Input of a provision action.
#[derive(Debug, Clone, Default)]
pub struct ProvisionRequest {
    pub username: String,
    pub email: String,
    pub full_name: String,
    pub roles: Vec<String>,
    pub attributes_json: Option<String>,
}

/// What an app can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    ListAccounts,
    GetAccount,
    Suspend,
    Reactivate,
    Deprovision,
    Provision,
}

impl Capability {
    /// The capability's name in the contract (the WIT `capability`, and the call it allows).
    pub fn action(self) -> &'static str {
        match self {
            Self::ListAccounts => "list-accounts",
            Self::GetAccount => "get-account",
            Self::Suspend => "suspend",
            Self::Reactivate => "reactivate",
            Self::Deprovision => "deprovision",
            Self::Provision => "provision",
        }
    }
}

/// A status change of the contract: the calls `suspend`, `reactivate` and `deprovision`.
/// (What each sets upstream is the app's: e.g. Twilio's `Status` in `twilio::actions`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    Suspend,
    Reactivate,
    Deprovision,
}

impl StatusChange {
    /// Action name as reported.
    pub fn name(self) -> &'static str {
        match self {
            Self::Suspend => "suspend",
            Self::Reactivate => "reactivate",
            Self::Deprovision => "deprovision",
        }
    }

    /// The capability an app declares to make this change.
    pub fn capability(self) -> Capability {
        match self {
            Self::Suspend => Capability::Suspend,
            Self::Reactivate => Capability::Reactivate,
            Self::Deprovision => Capability::Deprovision,
        }
    }
}

/// Static description of one app.
#[derive(Debug, Clone)]
pub struct AppInfo {
    pub name: &'static str,
    pub description: &'static str,
    pub hosts: &'static [&'static str],
    pub capabilities: &'static [Capability],
    /// Every request the app makes; the host allows no other.
    pub routes: &'static [RouteSpec<'static>],
}

/// Shorthand for connector results.
pub type Result<T> = std::result::Result<T, ConnectorError>;
