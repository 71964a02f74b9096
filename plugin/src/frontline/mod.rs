//! The `frontline` app: Frontline users fetched one by one (Twilio has no list API),
//! deactivated/reactivated through `State`, availability through `IsAvailable`.

pub mod users;

use crate::app::App;
use crate::errors::ConnectorError;
use crate::model::{Account, ActionResult, AppInfo, Capability, Config, RouteSpec, StatusChange};
use crate::retry::Client;
use connector_routes::Method;

/// Frontline API host.
pub const FRONTLINE_HOST: &str = "frontline-api.twilio.com";

/// Static description of the app.
pub const INFO: AppInfo = AppInfo {
    name: "frontline",
    description: "Twilio Frontline users (fetched by SID or identity)",
    hosts: &[FRONTLINE_HOST],
    capabilities: &[
        Capability::GetAccount,
        Capability::Suspend,
        Capability::Reactivate,
        Capability::Deprovision,
    ],
    routes: &[
        RouteSpec::get(FRONTLINE_HOST, "/v1/Users/{user}"),
        RouteSpec::write(
            Method::Post,
            FRONTLINE_HOST,
            "/v1/Users/{user}",
            &["suspend", "reactivate", "deprovision"],
        ),
    ],
};

/// The `frontline` app, as `crate::apps` registers it.
pub struct Frontline;

impl App for Frontline {
    fn info(&self) -> &'static AppInfo {
        &INFO
    }

    /// Frontline has no list to read: asking for a user that does not exist proves the
    /// credentials work (404) without touching anyone.
    fn check(&self, client: &mut Client<'_>, _cfg: &Config) -> crate::model::Result<String> {
        match users::fetch(client, "connector-credentials-check") {
            Ok(_) | Err(ConnectorError::NotFound(_)) => Ok("connected to the Frontline API".into()),
            Err(e) => Err(e),
        }
    }

    fn get(
        &self,
        client: &mut Client<'_>,
        _cfg: &Config,
        id: &str,
    ) -> crate::model::Result<Account> {
        users::fetch(client, id).map(|u| users::to_account(&u))
    }

    /// Suspend deactivates the user, reactivate activates them, deprovision deactivates them.
    fn status_change(
        &self,
        client: &mut Client<'_>,
        cfg: &Config,
        id: &str,
        change: StatusChange,
        dry_run: bool,
    ) -> crate::model::Result<ActionResult> {
        let target = match change {
            StatusChange::Reactivate => "active",
            StatusChange::Suspend | StatusChange::Deprovision => "deactivated",
        };
        users::set_state(client, cfg, id, change.action(), target, dry_run)
    }

    fn unsupported(&self, capability: Capability) -> ConnectorError {
        match capability {
            Capability::ListAccounts => ConnectorError::Unsupported(
                "Twilio Frontline has no user listing API; fetch users by SID or identity (accounts --identities FILE)"
                    .into(),
            ),
            Capability::Provision => ConnectorError::Unsupported(
                "Frontline users are provisioned by the SSO identity provider, not through the API".into(),
            ),
            other => crate::app::unsupported(&INFO, other),
        }
    }
}
