//! The `twilio` app: the connected account and its subaccounts.

pub mod account_resource;
pub mod accounts;
pub mod actions;
pub mod kept_usage;
pub mod services;
pub mod usage;
pub mod usage_reads;

use crate::app::App;
use crate::errors::ConnectorError;
use crate::model::{
    Account, AccountPage, ActionResult, AppInfo, Capability, Config, RouteSpec, StatusChange,
};
use crate::retry::Client;
use crate::state::State;
use connector_routes::Method;

/// The one host this app talks to.
pub const API_HOST: &str = "api.twilio.com";

/// Static description of the app.
pub const INFO: AppInfo = AppInfo {
    name: "twilio",
    description: "Twilio accounts: the connected account and its subaccounts",
    hosts: &[API_HOST],
    capabilities: &[
        Capability::ListAccounts,
        Capability::GetAccount,
        Capability::Suspend,
        Capability::Reactivate,
        Capability::Deprovision,
    ],
    routes: &[
        RouteSpec::get(API_HOST, "/2010-04-01/Accounts.json"),
        RouteSpec::get(API_HOST, "/2010-04-01/Accounts/{AC}.json"),
        RouteSpec::get(
            API_HOST,
            "/2010-04-01/Accounts/{AC}/Usage/Records/Monthly.json",
        ),
        RouteSpec::get(
            API_HOST,
            "/2010-04-01/Accounts/{AC}/Usage/Records/Daily.json",
        ),
        RouteSpec::write(
            Method::Post,
            API_HOST,
            "/2010-04-01/Accounts/{AC}.json",
            &["suspend", "reactivate", "deprovision"],
        ),
    ],
};

/// Absolute URL of a 2010 API path.
pub fn url(path: &str) -> String {
    format!("https://{API_HOST}{path}")
}

/// Check that an id looks like an account SID before it goes into a URL path.
pub fn validate_sid(id: &str) -> crate::model::Result<()> {
    crate::sid::require(id, "AC", "account")
}

/// The `twilio` app, as `crate::apps` registers it.
pub struct Twilio;

impl App for Twilio {
    fn info(&self) -> &'static AppInfo {
        &INFO
    }

    fn check(&self, client: &mut Client<'_>, cfg: &Config) -> crate::model::Result<String> {
        let r = accounts::fetch_resource(client, &cfg.account_id)?;
        Ok(format!(
            "connected to Twilio account {} ({}, {})",
            r.sid,
            r.friendly_name.unwrap_or_default(),
            r.status
        ))
    }

    fn list_page(
        &self,
        client: &mut Client<'_>,
        state: &mut dyn State,
        cfg: &Config,
        cursor: Option<&str>,
    ) -> crate::model::Result<AccountPage> {
        accounts::list_page(client, state, cfg, cursor)
    }

    fn get(
        &self,
        client: &mut Client<'_>,
        cfg: &Config,
        id: &str,
    ) -> crate::model::Result<Account> {
        accounts::get(client, cfg, id)
    }

    fn status_change(
        &self,
        client: &mut Client<'_>,
        cfg: &Config,
        id: &str,
        change: StatusChange,
        dry_run: bool,
    ) -> crate::model::Result<ActionResult> {
        actions::change_status(client, cfg, id, change, dry_run)
    }

    fn unsupported(&self, capability: Capability) -> ConnectorError {
        match capability {
            Capability::Provision => ConnectorError::Unsupported(
                "the twilio app cannot provision: subaccounts are created in the Twilio Console or API by an owner".into(),
            ),
            other => crate::app::unsupported(&INFO, other),
        }
    }
}
