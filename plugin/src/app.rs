//! What an app is: the contract's calls as one app answers them. Each app (`twilio`, `flex`,
//! `frontline`) implements [`App`] in its own module; `crate::apps` registers them and
//! dispatches each call to the configured one.
//!
//! An app overrides the method of every capability its [`AppInfo`] declares, and no other:
//! a call it does not declare answers [`App::unsupported`] without sending anything (a test in
//! `crate::apps` holds every registered app to this).

use crate::errors::ConnectorError;
use crate::model::{
    Account, AccountPage, ActionResult, AppInfo, Capability, Config, EntitlementPage,
    ProvisionRequest, Result, StatusChange,
};
use crate::retry::Client;
use crate::state::State;

/// One app the connector serves.
pub trait App {
    /// The app's static description: name, hosts, capabilities and routes.
    fn info(&self) -> &'static AppInfo;

    /// Verify configuration and credentials with one cheap read, and say what was reached.
    fn check(&self, client: &mut Client<'_>, cfg: &Config) -> Result<String>;

    /// One page of accounts ([`Capability::ListAccounts`]); `cursor` is the one the previous
    /// page answered, `None` for the first.
    fn list_page(
        &self,
        _client: &mut Client<'_>,
        _state: &mut dyn State,
        _cfg: &Config,
        _cursor: Option<&str>,
    ) -> Result<AccountPage> {
        Err(self.unsupported(Capability::ListAccounts))
    }

    /// One account by the id the app knows it by ([`Capability::GetAccount`]).
    fn get(&self, client: &mut Client<'_>, cfg: &Config, id: &str) -> Result<Account>;

    /// Suspend, reactivate or deprovision an account ([`Capability::Suspend`],
    /// [`Capability::Reactivate`], [`Capability::Deprovision`]); with `dry_run`, only say
    /// what would be done.
    fn status_change(
        &self,
        _client: &mut Client<'_>,
        _cfg: &Config,
        _id: &str,
        change: StatusChange,
        _dry_run: bool,
    ) -> Result<ActionResult> {
        Err(self.unsupported(change.capability()))
    }

    /// Create or update an account ([`Capability::Provision`]); with `dry_run`, only say what
    /// would be done.
    fn provision(
        &self,
        _client: &mut Client<'_>,
        _cfg: &Config,
        _request: &ProvisionRequest,
        _dry_run: bool,
    ) -> Result<ActionResult> {
        Err(self.unsupported(Capability::Provision))
    }

    /// One page of what can be granted in the app ([`Capability::ListEntitlements`]);
    /// `cursor` is the one the previous page answered, `None` for the first.
    fn list_entitlements(
        &self,
        _client: &mut Client<'_>,
        _cfg: &Config,
        _cursor: Option<&str>,
    ) -> Result<EntitlementPage> {
        Err(self.unsupported(Capability::ListEntitlements))
    }

    /// Give an account one entitlement, by its [`crate::model::EntitlementInfo`] id
    /// ([`Capability::Grant`]); with `dry_run`, only say what would be done.
    fn grant(
        &self,
        _client: &mut Client<'_>,
        _cfg: &Config,
        _id: &str,
        _entitlement: &str,
        _dry_run: bool,
    ) -> Result<ActionResult> {
        Err(self.unsupported(Capability::Grant))
    }

    /// Take one entitlement from an account, leaving the rest of its access
    /// ([`Capability::Revoke`]); with `dry_run`, only say what would be done.
    fn revoke(
        &self,
        _client: &mut Client<'_>,
        _cfg: &Config,
        _id: &str,
        _entitlement: &str,
        _dry_run: bool,
    ) -> Result<ActionResult> {
        Err(self.unsupported(Capability::Revoke))
    }

    /// The answer to a call of a capability the app does not have: an
    /// [`ConnectorError::Unsupported`] naming the app and the call ([`unsupported`]). An app
    /// that can say why (what to do instead) overrides it.
    fn unsupported(&self, capability: Capability) -> ConnectorError {
        unsupported(self.info(), capability)
    }
}

/// `app` does not support `capability`: the default answer of [`App::unsupported`].
pub fn unsupported(app: &AppInfo, capability: Capability) -> ConnectorError {
    ConnectorError::Unsupported(format!(
        "the {} app does not support {}",
        app.name,
        capability.action()
    ))
}
