//! An action job's record in the `done` bucket, by idempotency key: first its **intent**
//! (written before the action may write upstream), then its **outcome**, written over the
//! intent by compare-and-set. A redelivered job that finds only an intent knows the worker
//! before it stopped in between, and may or may not have written: it reads the account, and
//! when it is already as the action leaves it, completes the record without a second write or
//! a second audit line.

use bytes::Bytes;
use connector_host::types::AccountStatus;
use connector_host::{Action, Host, Tenant};
use serde_json::json;

/// The action a job names.
pub fn parse(name: &str) -> Option<Action> {
    match name {
        "suspend" => Some(Action::Suspend),
        "reactivate" => Some(Action::Reactivate),
        "deprovision" => Some(Action::Deprovision),
        _ => None,
    }
}

/// What an action job does, once read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// Suspend, reactivate or deprovision.
    Status(Action),
    /// Grant (`true`) or revoke one entitlement.
    Entitlement { grant: bool, entitlement: String },
}

/// The job's action and entitlement as a plan, or why they make none.
pub fn plan(name: &str, entitlement: Option<&str>) -> Result<Planned, String> {
    match (name, entitlement) {
        ("grant" | "revoke", Some(e)) if !e.trim().is_empty() => Ok(Planned::Entitlement {
            grant: name == "grant",
            entitlement: e.to_string(),
        }),
        ("grant" | "revoke", _) => Err(format!("a {name} job names no entitlement")),
        (_, Some(_)) => Err(format!(
            "a {name} job names no entitlement, but this one does"
        )),
        _ => parse(name)
            .map(Planned::Status)
            .ok_or_else(|| format!("unknown action {name:?}")),
    }
}

/// The intent of `job`: what it is about to do, by which worker.
pub fn intent(job: &str, account: &str, action: &str, worker: &str) -> Bytes {
    json!({
        "job": job, "intent": true, "account": account, "action": action, "worker": worker,
        "at": chrono::Utc::now().to_rfc3339(),
    })
    .to_string()
    .into()
}

/// Whether a record is an intent (no outcome yet).
pub fn is_intent(value: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(value)
        .is_ok_and(|v| v["intent"].as_bool() == Some(true))
}

/// Whether an account in `status` is as `action` leaves it.
fn reached(action: Action, status: AccountStatus) -> bool {
    matches!(
        (action, status),
        (Action::Suspend, AccountStatus::Suspended)
            | (Action::Reactivate, AccountStatus::Active)
            | (Action::Deprovision, AccountStatus::Deprovisioned)
    )
}

/// After an interrupted attempt: the outcome to record when the account is already as the
/// action leaves it (a deprovisioned account may be gone), else `None` (run the action; a
/// read that fails says nothing, so the action runs and reads again itself).
pub async fn completed_elsewhere(
    host: &Host,
    tenant: &Tenant,
    planned: &Planned,
    account: &str,
    job: &str,
) -> Option<serde_json::Value> {
    let read = host.get_account(tenant, account).await;
    let (done, name) = match planned {
        Planned::Status(action) => (
            match read {
                Ok(a) => reached(*action, a.status),
                Err(e) => *action == Action::Deprovision && e.kind() == "not-found",
            },
            action.name(),
        ),
        // A grant is done when the account holds the entitlement, a revoke when it does not.
        Planned::Entitlement { grant, entitlement } => (
            read.is_ok_and(|a| a.entitlements.iter().any(|e| &e.id == entitlement) == *grant),
            if *grant { "grant" } else { "revoke" },
        ),
    };
    done.then(|| {
        json!({
            "job": job, "ok": true, "changed": null, "recovered": true,
            "message": format!(
                "an earlier attempt stopped after recording its intent; the account is already as {} leaves it, so nothing more was written",
                name
            ),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_are_told_from_outcomes() {
        assert!(is_intent(&intent("act.k", "AC1", "suspend", "w0")));
        assert!(!is_intent(br#"{"job":"act.k","ok":true,"changed":true}"#));
        assert!(!is_intent(b"not json"));
    }

    #[test]
    fn each_action_has_the_status_it_leaves() {
        assert!(reached(Action::Suspend, AccountStatus::Suspended));
        assert!(!reached(Action::Suspend, AccountStatus::Active));
        assert!(reached(Action::Reactivate, AccountStatus::Active));
        assert!(reached(Action::Deprovision, AccountStatus::Deprovisioned));
        assert!(!reached(Action::Deprovision, AccountStatus::Suspended));
        assert_eq!(parse("suspend"), Some(Action::Suspend));
        assert_eq!(
            super::plan("grant", Some("supervisor")),
            Ok(super::Planned::Entitlement {
                grant: true,
                entitlement: "supervisor".into()
            })
        );
        assert!(super::plan("revoke", None).is_err());
        assert!(super::plan("suspend", Some("agent")).is_err());
        assert_eq!(
            super::plan("suspend", None),
            Ok(super::Planned::Status(Action::Suspend))
        );
        assert_eq!(parse("grant"), None);
    }
}
