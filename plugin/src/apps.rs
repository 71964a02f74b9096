//! The apps this connector serves and the dispatch of each contract call to the app's module.

use crate::errors::ConnectorError;
use crate::model::{Account, AccountPage, ActionResult, AppInfo, Config, ProvisionRequest, Result};
use crate::retry::Client;
use crate::twilio;
use crate::twilio::actions::StatusChange;

/// Connector name reported in metadata.
pub const NAME: &str = "twilio-governance-connector";

/// Every app, in the order they are reported.
pub const APPS: &[AppInfo] = &[twilio::INFO];

/// Look an app up by name.
pub fn app(cfg: &Config) -> Result<&'static AppInfo> {
    APPS.iter().find(|a| a.name == cfg.app).ok_or_else(|| {
        let known: Vec<_> = APPS.iter().map(|a| a.name).collect();
        ConnectorError::InvalidConfig(format!(
            "unknown app {:?}; this connector serves: {}",
            cfg.app,
            known.join(", ")
        ))
    })
}

fn require_account_id(cfg: &Config) -> Result<()> {
    if cfg.account_id.trim().is_empty() {
        return Err(ConnectorError::InvalidConfig(
            "the connecting account SID is missing (TWILIO_ACCOUNT_SID)".into(),
        ));
    }
    Ok(())
}

/// Verify configuration and credentials with one cheap read.
pub fn check(client: &mut Client<'_>, cfg: &Config) -> Result<String> {
    let app = app(cfg)?;
    require_account_id(cfg)?;
    match app.name {
        _ => {
            let r = twilio::accounts::fetch_resource(client, &cfg.account_id)?;
            Ok(format!(
                "connected to Twilio account {} ({}, {})",
                r.sid,
                r.friendly_name.unwrap_or_default(),
                r.status
            ))
        }
    }
}

/// One page of accounts.
pub fn list_accounts(client: &mut Client<'_>, cfg: &Config, cursor: Option<&str>) -> Result<AccountPage> {
    app(cfg)?;
    require_account_id(cfg)?;
    twilio::accounts::list_page(client, cfg, cursor)
}

/// One account.
pub fn get_account(client: &mut Client<'_>, cfg: &Config, id: &str) -> Result<Account> {
    app(cfg)?;
    require_account_id(cfg)?;
    twilio::accounts::get(client, cfg, id)
}

/// A status change (suspend, reactivate, deprovision).
pub fn change_status(client: &mut Client<'_>, cfg: &Config, id: &str, change: StatusChange, dry_run: bool) -> Result<ActionResult> {
    app(cfg)?;
    require_account_id(cfg)?;
    twilio::actions::change_status(client, cfg, id, change, dry_run)
}

/// Provision a user where the app supports it.
pub fn provision(_client: &mut Client<'_>, cfg: &Config, _request: &ProvisionRequest, _dry_run: bool) -> Result<ActionResult> {
    let app = app(cfg)?;
    Err(ConnectorError::Unsupported(format!(
        "the {} app cannot provision users: Twilio accounts are created in the Console",
        app.name
    )))
}
