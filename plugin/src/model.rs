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

/// Something an app can grant (one answer of `list-entitlements`): `id` is what
/// [`crate::app::App::grant`] and [`crate::app::App::revoke`] take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementInfo {
    pub kind: EntitlementKind,
    pub id: String,
    pub name: String,
    pub description: Option<String>,
}

/// A page of grantable entitlements plus the opaque cursor of the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementPage {
    pub entitlements: Vec<EntitlementInfo>,
    pub next_cursor: Option<String>,
}

/// What a write is for, and what an action result reports (the WIT `action-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Suspend,
    Reactivate,
    Deprovision,
    Provision,
    Grant,
    Revoke,
}

impl ActionKind {
    /// Every action of the contract.
    pub const ALL: [Self; 6] = [
        Self::Suspend,
        Self::Reactivate,
        Self::Deprovision,
        Self::Provision,
        Self::Grant,
        Self::Revoke,
    ];

    /// The action's name in the contract, as a route declares it (`RouteSpec::actions`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Suspend => "suspend",
            Self::Reactivate => "reactivate",
            Self::Deprovision => "deprovision",
            Self::Provision => "provision",
            Self::Grant => "grant",
            Self::Revoke => "revoke",
        }
    }

    /// The action named `name`, if the contract has one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The capability an app declares to take this action.
    pub fn capability(self) -> Capability {
        match self {
            Self::Suspend => Capability::Suspend,
            Self::Reactivate => Capability::Reactivate,
            Self::Deprovision => Capability::Deprovision,
            Self::Provision => Capability::Provision,
            Self::Grant => Capability::Grant,
            Self::Revoke => Capability::Revoke,
        }
    }
}

/// The typed actions of a declared route (whose actions are text, as `connector_routes`
/// keeps them), or the first name that is no [`ActionKind`]. The metadata declares a route
/// through this; a test in `crate::apps` holds every registered route to it.
pub fn route_actions(spec: &RouteSpec<'_>) -> std::result::Result<Vec<ActionKind>, String> {
    spec.actions
        .iter()
        .map(|a| ActionKind::parse(a).ok_or_else(|| a.to_string()))
        .collect()
}

/// Outcome of an action or its dry-run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionResult {
    pub account_id: String,
    pub action: ActionKind,
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
    ListEntitlements,
    Grant,
    Revoke,
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
            Self::ListEntitlements => "list-entitlements",
            Self::Grant => "grant",
            Self::Revoke => "revoke",
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
    /// The action as reported.
    pub fn action(self) -> ActionKind {
        match self {
            Self::Suspend => ActionKind::Suspend,
            Self::Reactivate => ActionKind::Reactivate,
            Self::Deprovision => ActionKind::Deprovision,
        }
    }

    /// Action name as reported.
    pub fn name(self) -> &'static str {
        self.action().name()
    }

    /// The capability an app declares to make this change.
    pub fn capability(self) -> Capability {
        self.action().capability()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_named_as_its_capability_and_parses_back() {
        for action in ActionKind::ALL {
            assert_eq!(ActionKind::parse(action.name()), Some(action));
            assert_eq!(action.capability().action(), action.name());
        }
        assert_eq!(ActionKind::parse("list-accounts"), None);
        assert_eq!(ActionKind::parse("Suspend"), None);
        for change in [
            StatusChange::Suspend,
            StatusChange::Reactivate,
            StatusChange::Deprovision,
        ] {
            assert_eq!(change.action().capability(), change.capability());
        }
    }

    #[test]
    fn a_route_naming_an_action_the_contract_lacks_does_not_convert() {
        let spec = RouteSpec::write(
            connector_routes::Method::Post,
            "h.example",
            "/v1/Things",
            &["suspend", "archive"],
        );
        assert_eq!(route_actions(&spec), Err("archive".into()));
        let spec = RouteSpec::write(
            connector_routes::Method::Post,
            "h.example",
            "/v1/Things",
            &["grant", "revoke"],
        );
        assert_eq!(
            route_actions(&spec),
            Ok(vec![ActionKind::Grant, ActionKind::Revoke])
        );
        assert_eq!(
            route_actions(&RouteSpec::get("h.example", "/v1/Things")),
            Ok(vec![])
        );
    }
}
