//! The `flex` app: TaskRouter workers of every workspace, joined with Flex Users when a Flex
//! instance SID is configured; deprovision and provision; the Flex roles as entitlements,
//! granted and revoked through the Flex Users API (`entitlements.rs`).

pub mod accounts;
pub mod actions;
pub mod entitlements;
pub mod listing;
#[cfg(test)]
mod test_fixtures;
pub mod users_api;
pub mod workers;

use crate::app::App;
use crate::errors::ConnectorError;
use crate::model::{
    Account, AccountPage, ActionResult, AppInfo, Capability, Config, EntitlementPage,
    ProvisionRequest, RouteSpec, StatusChange,
};
use crate::retry::Client;
use crate::sid::is_sid;
use crate::state::State;
use connector_routes::Method;

/// TaskRouter host.
pub const TASKROUTER_HOST: &str = "taskrouter.twilio.com";
/// Flex API host (Flex Users API).
pub const FLEX_API_HOST: &str = "flex-api.twilio.com";

/// Static description of the app.
pub const INFO: AppInfo = AppInfo {
    name: "flex",
    description: "Twilio Flex users: TaskRouter workers and Flex Users API users",
    hosts: &[TASKROUTER_HOST, FLEX_API_HOST],
    capabilities: &[
        Capability::ListAccounts,
        Capability::GetAccount,
        Capability::Deprovision,
        Capability::Provision,
        Capability::ListEntitlements,
        Capability::Grant,
        Capability::Revoke,
    ],
    routes: &[
        RouteSpec::get(TASKROUTER_HOST, "/v1/Workspaces"),
        RouteSpec::get(TASKROUTER_HOST, "/v1/Workspaces/{WS}/Workers"),
        RouteSpec::get(TASKROUTER_HOST, "/v1/Workspaces/{WS}/Workers/{WK}"),
        RouteSpec::write(
            Method::Delete,
            TASKROUTER_HOST,
            "/v1/Workspaces/{WS}/Workers/{WK}",
            &["deprovision"],
        ),
        RouteSpec::get(FLEX_API_HOST, "/v1/Instances/{GO}/Users"),
        RouteSpec::get(FLEX_API_HOST, "/v4/Instances/{GO}/Users"),
        RouteSpec::get(FLEX_API_HOST, "/v4/Instances/{GO}/Users/{FU}"),
        RouteSpec::write(
            Method::Post,
            FLEX_API_HOST,
            "/v4/Instances/{GO}/Users/Deprovision",
            &["deprovision"],
        ),
        RouteSpec::write(
            Method::Post,
            FLEX_API_HOST,
            "/v4/Instances/{GO}/Users/Provision",
            // A grant or a revoke of a role is a Provision with the role set changed.
            &["provision", "grant", "revoke"],
        ),
    ],
};

/// The Flex instance SID, if configured (validated before it goes into a URL).
pub fn instance(cfg: &Config) -> crate::model::Result<Option<&str>> {
    match cfg
        .option(crate::options::FLEX_INSTANCE)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => Ok(None),
        Some(go) if is_sid(go, "GO") => Ok(Some(go)),
        Some(go) => Err(ConnectorError::InvalidConfig(format!(
            "{go:?} is not a Flex instance SID ({})",
            crate::sid::describe("GO")
        ))),
    }
}

/// Absolute TaskRouter URL.
pub fn taskrouter(path: &str) -> String {
    format!("https://{TASKROUTER_HOST}{path}")
}

/// Absolute Flex API URL.
pub fn flex_api(path: &str) -> String {
    format!("https://{FLEX_API_HOST}{path}")
}

/// Name of the account-type entitlement every worker holds.
pub const ACCOUNT_TYPE: &str = "Flex UI User";

/// The `flex` app, as `crate::apps` registers it.
pub struct Flex;

impl App for Flex {
    fn info(&self) -> &'static AppInfo {
        &INFO
    }

    fn check(&self, client: &mut Client<'_>, cfg: &Config) -> crate::model::Result<String> {
        let spaces = workers::workspaces(client)?;
        let instance = instance(cfg)?;
        if let Some(go) = instance {
            users_api::by_username(client, go, "connector-check")?;
        }
        Ok(format!(
            "connected to TaskRouter: {} workspace(s){}",
            spaces.len(),
            instance
                .map(|go| format!("; Flex Users API of instance {go} reachable"))
                .unwrap_or_default()
        ))
    }

    fn list_page(
        &self,
        client: &mut Client<'_>,
        state: &mut dyn State,
        cfg: &Config,
        cursor: Option<&str>,
    ) -> crate::model::Result<AccountPage> {
        listing::list_page(client, state, cfg, cursor)
    }

    fn get(
        &self,
        client: &mut Client<'_>,
        cfg: &Config,
        id: &str,
    ) -> crate::model::Result<Account> {
        accounts::get(client, cfg, id)
    }

    /// Deprovision only: a Flex user has no suspended state.
    fn status_change(
        &self,
        client: &mut Client<'_>,
        cfg: &Config,
        id: &str,
        change: StatusChange,
        dry_run: bool,
    ) -> crate::model::Result<ActionResult> {
        match change {
            StatusChange::Deprovision => actions::deprovision(client, cfg, id, dry_run),
            StatusChange::Suspend | StatusChange::Reactivate => {
                Err(self.unsupported(change.capability()))
            }
        }
    }

    fn provision(
        &self,
        client: &mut Client<'_>,
        cfg: &Config,
        request: &ProvisionRequest,
        dry_run: bool,
    ) -> crate::model::Result<ActionResult> {
        actions::provision(client, cfg, request, dry_run)
    }

    fn list_entitlements(
        &self,
        _client: &mut Client<'_>,
        _cfg: &Config,
        cursor: Option<&str>,
    ) -> crate::model::Result<EntitlementPage> {
        entitlements::list(cursor)
    }

    fn grant(
        &self,
        client: &mut Client<'_>,
        cfg: &Config,
        id: &str,
        entitlement: &str,
        dry_run: bool,
    ) -> crate::model::Result<ActionResult> {
        entitlements::grant(client, cfg, id, entitlement, dry_run)
    }

    fn revoke(
        &self,
        client: &mut Client<'_>,
        cfg: &Config,
        id: &str,
        entitlement: &str,
        dry_run: bool,
    ) -> crate::model::Result<ActionResult> {
        entitlements::revoke(client, cfg, id, entitlement, dry_run)
    }

    fn unsupported(&self, capability: Capability) -> ConnectorError {
        match capability {
            Capability::Suspend | Capability::Reactivate => ConnectorError::Unsupported(format!(
                "Twilio Flex has no suspended state for a user, so {} is not possible; use deprovision",
                capability.action()
            )),
            other => crate::app::unsupported(&INFO, other),
        }
    }
}
