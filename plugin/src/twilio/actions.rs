//! Suspend, reactivate and close (deprovision) subaccounts through `Status`. The connecting
//! account is never suspended or closed; a closed account cannot be reopened.

use super::accounts::{AccountResource, fetch_resource, map_status};
use super::{url, validate_sid};
use crate::errors::ConnectorError;
use crate::http::Request;
use crate::model::{ActionResult, Config, Result};
use crate::retry::Client;

/// A status change and the Twilio `Status` it sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    Suspend,
    Reactivate,
    Deprovision,
}

impl StatusChange {
    /// Twilio's target `Status` value.
    pub fn target(self) -> &'static str {
        match self {
            Self::Suspend => "suspended",
            Self::Reactivate => "active",
            Self::Deprovision => "closed",
        }
    }

    /// Action name as reported.
    pub fn name(self) -> &'static str {
        match self {
            Self::Suspend => "suspend",
            Self::Reactivate => "reactivate",
            Self::Deprovision => "deprovision",
        }
    }

    fn warnings(self) -> Vec<String> {
        match self {
            Self::Suspend => vec![
                "a suspended subaccount's phone numbers are still billed monthly to the parent account".into(),
            ],
            Self::Deprovision => vec![
                "Twilio deletes a closed subaccount after 30 days; closing cannot be undone".into(),
            ],
            Self::Reactivate => vec![],
        }
    }
}

/// Decide what a change would do to an account, before anything is sent. `Ok(None)` means
/// the account is already in the target state.
pub fn plan(id: &str, change: StatusChange, current: &AccountResource) -> Result<Option<()>> {
    if current.status == "closed" && change != StatusChange::Deprovision {
        return Err(ConnectorError::Refused(format!(
            "account {id} is closed; Twilio cannot reopen or suspend a closed account"
        )));
    }
    Ok((current.status != change.target()).then_some(()))
}

/// Refuse to suspend or close the connecting account, without sending anything.
pub fn guard_connecting_account(cfg: &Config, id: &str, change: StatusChange) -> Result<()> {
    if id == cfg.account_id && change != StatusChange::Reactivate {
        return Err(ConnectorError::Refused(format!(
            "{id} is the connecting account; it cannot be {}ed through its own credentials",
            if change == StatusChange::Suspend {
                "suspend"
            } else {
                "clos"
            }
        )));
    }
    Ok(())
}

/// Apply (or, with `dry_run`, only plan) a status change.
pub fn change_status(
    client: &mut Client<'_>,
    cfg: &Config,
    id: &str,
    change: StatusChange,
    dry_run: bool,
) -> Result<ActionResult> {
    validate_sid(id)?;
    guard_connecting_account(cfg, id, change)?;
    let current = fetch_resource(client, id)?;
    let mut result = ActionResult {
        account_id: id.to_string(),
        action: change.name().to_string(),
        dry_run,
        changed: false,
        status: map_status(&current.status),
        message: String::new(),
        warnings: change.warnings(),
    };
    if plan(id, change, &current)?.is_none() {
        result.message = format!("account {id} is already {}; nothing sent", current.status);
        return Ok(result);
    }
    result.changed = true;
    if dry_run {
        result.message = format!(
            "would set Status={} on account {id} (currently {})",
            change.target(),
            current.status
        );
        return Ok(result);
    }
    let updated: AccountResource = client
        .send(Request::post_form(
            url(&format!("/2010-04-01/Accounts/{id}.json")),
            &[("Status", change.target())],
        ))?
        .json(&format!("update of account {id}"))?;
    result.status = map_status(&updated.status);
    result.message = format!("account {id} is now {}", updated.status);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config {
            account_id: "AC00000000000000000000000000000000".into(),
            ..Config::default()
        }
    }

    fn res(status: &str) -> AccountResource {
        AccountResource {
            sid: "AC00000000000000000000000000000001".into(),
            friendly_name: None,
            status: status.into(),
            account_type: None,
            owner_account_sid: None,
            date_created: None,
        }
    }

    #[test]
    fn connecting_account_is_protected() {
        let main = "AC00000000000000000000000000000000";
        assert!(matches!(
            guard_connecting_account(&cfg(), main, StatusChange::Suspend),
            Err(ConnectorError::Refused(_))
        ));
        assert!(matches!(
            guard_connecting_account(&cfg(), main, StatusChange::Deprovision),
            Err(ConnectorError::Refused(_))
        ));
        assert!(guard_connecting_account(&cfg(), main, StatusChange::Reactivate).is_ok());
        assert!(
            guard_connecting_account(
                &cfg(),
                "AC00000000000000000000000000000001",
                StatusChange::Suspend
            )
            .is_ok()
        );
    }

    #[test]
    fn plans_are_idempotent_and_closed_is_final() {
        let id = "AC00000000000000000000000000000001";
        assert_eq!(
            plan(id, StatusChange::Suspend, &res("suspended")).unwrap(),
            None
        );
        assert_eq!(
            plan(id, StatusChange::Suspend, &res("active")).unwrap(),
            Some(())
        );
        assert_eq!(
            plan(id, StatusChange::Deprovision, &res("closed")).unwrap(),
            None
        );
        assert!(matches!(
            plan(id, StatusChange::Reactivate, &res("closed")),
            Err(ConnectorError::Refused(_))
        ));
    }
}
