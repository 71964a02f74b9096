//! Suspend, reactivate and close (deprovision) subaccounts through `Status`. The connecting
//! account is never suspended or closed; a closed account cannot be reopened.

use super::account_resource::{AccountResource, map_status};
use super::accounts::fetch_resource;
use super::{url, validate_sid};
use crate::errors::ConnectorError;
use crate::http::Request;
use crate::model::{ActionResult, Config, Result};
use crate::retry::Client;

/// A status change; here, the Twilio `Status` it sets.
pub use crate::model::StatusChange;

impl StatusChange {
    /// Twilio's target `Status` value.
    pub fn target(self) -> &'static str {
        match self {
            Self::Suspend => "suspended",
            Self::Reactivate => "active",
            Self::Deprovision => "closed",
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
    // SIDs are case-insensitive hex: `AC…ABC` names the same account as `AC…abc`.
    if id.eq_ignore_ascii_case(cfg.account_id.trim()) && change != StatusChange::Reactivate {
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
        action: change.action(),
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
    // Twilio answers with the account as it now is: it must show the requested status.
    if updated.status != change.target() {
        return Err(ConnectorError::Upstream {
            status: 200,
            code: None,
            message: format!(
                "Twilio accepted Status={} for account {id} but answered with status {:?}; the change was not applied",
                change.target(),
                updated.status
            ),
        });
    }
    result.status = map_status(&updated.status);
    result.message = format!("account {id} is now {}", updated.status);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{FakeTransport, answer};
    use crate::http::Method;
    use crate::retry::Policy;
    use std::cell::RefCell;
    use std::rc::Rc;

    const SUB: &str = "AC00000000000000000000000000000001";
    const SUB_URL: &str =
        "https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000001.json";

    /// A subaccount whose status a POST of `Status` changes, as Twilio's Account update does.
    fn account_api(status: &str) -> FakeTransport {
        let state = Rc::new(RefCell::new(status.to_string()));
        let body = |s: &str| {
            serde_json::json!({"sid": SUB, "friendly_name": "sub", "status": s, "type": "Full"})
                .to_string()
                .into_bytes()
        };
        let read = state.clone();
        FakeTransport::for_app(&crate::twilio::INFO)
            .on(Method::Get, SUB_URL, move |_| {
                Ok(answer(200, body(&read.borrow())))
            })
            .on(Method::Post, SUB_URL, move |req| {
                let form = String::from_utf8_lossy(&req.body).to_string();
                if let Some(v) = form.strip_prefix("Status=") {
                    *state.borrow_mut() = v.to_string();
                }
                Ok(answer(200, body(&state.borrow())))
            })
    }

    fn run(
        t: &mut FakeTransport,
        id: &str,
        change: StatusChange,
        dry_run: bool,
    ) -> Result<ActionResult> {
        let mut c = Client::new(t, Policy::default());
        change_status(&mut c, &cfg(), id, change, dry_run)
    }

    #[test]
    fn every_dry_run_reads_only() {
        for (status, change) in [
            ("active", StatusChange::Suspend),
            ("suspended", StatusChange::Reactivate),
            ("active", StatusChange::Deprovision),
        ] {
            let mut t = account_api(status);
            let r = run(&mut t, SUB, change, true).unwrap();
            assert!(r.dry_run && r.changed, "{change:?}: {r:?}");
            assert!(
                t.writes().is_empty(),
                "{change:?} dry-run wrote {:?}",
                t.writes()
            );
            assert_eq!(t.requests.len(), 1, "one read of the account");
        }
    }

    #[test]
    fn repeating_an_action_sends_one_write() {
        for change in [StatusChange::Suspend, StatusChange::Deprovision] {
            let mut t = account_api("active");
            let first = run(&mut t, SUB, change, false).unwrap();
            let second = run(&mut t, SUB, change, false).unwrap();
            assert!(first.changed && !second.changed, "{change:?}");
            assert_eq!(t.writes().len(), 1, "{change:?}: one write in all");
            assert_eq!(
                String::from_utf8_lossy(&t.writes()[0].body),
                format!("Status={}", change.target())
            );
        }
    }

    #[test]
    fn an_update_twilio_did_not_apply_is_an_error() {
        let body = serde_json::json!({"sid": SUB, "status": "active"}).to_string();
        let mut t = FakeTransport::for_app(&crate::twilio::INFO)
            .json(
                Method::Get,
                SUB_URL,
                200,
                serde_json::from_str(&body).unwrap(),
            )
            .json(
                Method::Post,
                SUB_URL,
                200,
                serde_json::from_str(&body).unwrap(),
            );
        let e = run(&mut t, SUB, StatusChange::Suspend, false).unwrap_err();
        assert!(e.to_string().contains("not applied"), "{e}");
    }

    #[test]
    fn a_missing_account_is_not_found_and_nothing_is_written() {
        let mut t = FakeTransport::for_app(&crate::twilio::INFO);
        let e = run(&mut t, SUB, StatusChange::Suspend, false).unwrap_err();
        assert!(matches!(e, ConnectorError::NotFound(_)), "{e:?}");
        assert!(t.writes().is_empty());
    }

    #[test]
    fn the_connecting_account_sends_nothing_at_all() {
        let mut t = account_api("active");
        let main = cfg().account_id;
        for change in [StatusChange::Suspend, StatusChange::Deprovision] {
            let e = run(&mut t, &main, change, false).unwrap_err();
            assert!(matches!(e, ConnectorError::Refused(_)), "{e:?}");
        }
        assert!(t.requests.is_empty());
    }

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
        let shouting = "AC0000000000000000000000000000000A";
        let config = Config {
            account_id: "AC0000000000000000000000000000000a".into(),
            ..Config::default()
        };
        assert!(matches!(
            guard_connecting_account(&config, shouting, StatusChange::Deprovision),
            Err(ConnectorError::Refused(_))
        ));
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
