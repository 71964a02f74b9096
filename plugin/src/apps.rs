//! The apps this connector serves and the dispatch of each contract call to the app's module.

use crate::errors::ConnectorError;
use crate::model::{Account, AccountPage, ActionResult, AppInfo, Config, ProvisionRequest, Result};
use crate::retry::Client;
use crate::state::State;
use crate::twilio::actions::StatusChange;
use crate::{flex, frontline, twilio};

/// Connector name reported in metadata.
pub const NAME: &str = "twilio-governance-connector";

/// Every app, in the order they are reported.
pub const APPS: &[AppInfo] = &[twilio::INFO, flex::INFO, frontline::INFO];

/// The apps by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum App {
    Twilio,
    Flex,
    Frontline,
}

/// Look the configured app up, and check the connecting account is named.
fn app(cfg: &Config) -> Result<App> {
    let app = match cfg.app.as_str() {
        "twilio" => App::Twilio,
        "flex" => App::Flex,
        "frontline" => App::Frontline,
        other => {
            let known: Vec<_> = APPS.iter().map(|a| a.name).collect();
            return Err(ConnectorError::InvalidConfig(format!(
                "unknown app {other:?}; this connector serves: {}",
                known.join(", ")
            )));
        }
    };
    if cfg.account_id.trim().is_empty() {
        return Err(ConnectorError::InvalidConfig(
            "the connecting account SID is missing (TWILIO_ACCOUNT_SID)".into(),
        ));
    }
    Ok(app)
}

/// Verify configuration and credentials with one cheap read.
pub fn check(client: &mut Client<'_>, cfg: &Config) -> Result<String> {
    match app(cfg)? {
        App::Twilio => {
            let r = twilio::accounts::fetch_resource(client, &cfg.account_id)?;
            Ok(format!(
                "connected to Twilio account {} ({}, {})",
                r.sid,
                r.friendly_name.unwrap_or_default(),
                r.status
            ))
        }
        App::Flex => {
            let spaces = flex::workers::workspaces(client)?;
            let instance = flex::instance(cfg)?;
            if let Some(go) = instance {
                flex::users_api::by_username(client, go, "connector-check")?;
            }
            Ok(format!(
                "connected to TaskRouter: {} workspace(s){}",
                spaces.len(),
                instance
                    .map(|go| format!("; Flex Users API of instance {go} reachable"))
                    .unwrap_or_default()
            ))
        }
        // Frontline has no list to read: asking for a user that does not exist proves the
        // credentials work (404) without touching anyone.
        App::Frontline => match frontline::users::fetch(client, "connector-credentials-check") {
            Ok(_) | Err(ConnectorError::NotFound(_)) => Ok("connected to the Frontline API".into()),
            Err(e) => Err(e),
        },
    }
}

/// One page of accounts.
pub fn list_accounts(
    client: &mut Client<'_>,
    state: &mut dyn State,
    cfg: &Config,
    cursor: Option<&str>,
) -> Result<AccountPage> {
    match app(cfg)? {
        App::Twilio => twilio::accounts::list_page(client, state, cfg, cursor),
        App::Flex => flex::listing::list_page(client, state, cfg, cursor),
        App::Frontline => Err(ConnectorError::Unsupported(
            "Twilio Frontline has no user listing API; fetch users by SID or identity (accounts --identities FILE)"
                .into(),
        )),
    }
}

/// One account.
pub fn get_account(client: &mut Client<'_>, cfg: &Config, id: &str) -> Result<Account> {
    match app(cfg)? {
        App::Twilio => twilio::accounts::get(client, cfg, id),
        App::Flex => flex::accounts::get(client, cfg, id),
        App::Frontline => {
            frontline::users::fetch(client, id).map(|u| frontline::users::to_account(&u))
        }
    }
}

/// A status change (suspend, reactivate, deprovision).
pub fn change_status(
    client: &mut Client<'_>,
    cfg: &Config,
    id: &str,
    change: StatusChange,
    dry_run: bool,
) -> Result<ActionResult> {
    match (app(cfg)?, change) {
        (App::Twilio, _) => twilio::actions::change_status(client, cfg, id, change, dry_run),
        (App::Flex, StatusChange::Deprovision) => {
            flex::actions::deprovision(client, cfg, id, dry_run)
        }
        (App::Flex, _) => Err(ConnectorError::Unsupported(format!(
            "Twilio Flex has no suspended state for a user, so {} is not possible; use deprovision",
            change.name()
        ))),
        (App::Frontline, StatusChange::Reactivate) => {
            frontline::users::set_state(client, cfg, id, change.name(), "active", dry_run)
        }
        (App::Frontline, _) => {
            frontline::users::set_state(client, cfg, id, change.name(), "deactivated", dry_run)
        }
    }
}

/// Provision a user where the app supports it.
pub fn provision(
    client: &mut Client<'_>,
    cfg: &Config,
    request: &ProvisionRequest,
    dry_run: bool,
) -> Result<ActionResult> {
    match app(cfg)? {
        App::Flex => flex::actions::provision(client, cfg, request, dry_run),
        App::Twilio => Err(ConnectorError::Unsupported(
            "the twilio app cannot provision: subaccounts are created in the Twilio Console or API by an owner".into(),
        )),
        App::Frontline => Err(ConnectorError::Unsupported(
            "Frontline users are provisioned by the SSO identity provider, not through the API".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sid::SID_SHAPE;
    use connector_routes::{Method, Route};

    #[test]
    fn every_declared_route_parses_names_a_resource_and_fits_the_contract() {
        for app in APPS {
            assert!(!app.routes.is_empty(), "{} declares no route", app.name);
            for spec in app.routes {
                let route = Route::from_spec(spec, SID_SHAPE).unwrap_or_else(|e| {
                    panic!(
                        "{}: {} {} does not parse: {e:?}",
                        app.name, spec.method, spec.path
                    )
                });
                assert!(
                    !route.template.is_placeholders_only(),
                    "{}: {route} names no resource",
                    app.name
                );
                assert!(
                    app.hosts.contains(&spec.host),
                    "{}: {route} is on a host the app does not declare",
                    app.name
                );
                // The 0.3.0 WIT `http-method` has only get, post and delete: another method
                // would be left out of the metadata and the host would refuse it.
                assert!(
                    matches!(route.method, Method::Get | Method::Post | Method::Delete),
                    "{}: {route} cannot be declared through the contract",
                    app.name
                );
                assert_eq!(
                    route.method.is_read(),
                    route.actions.is_empty(),
                    "{}: {route}: reads name no action, writes at least one",
                    app.name
                );
            }
        }
    }
}
