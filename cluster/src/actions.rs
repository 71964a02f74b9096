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
    action: Action,
    account: &str,
    job: &str,
) -> Option<serde_json::Value> {
    let done = match host.get_account(tenant, account).await {
        Ok(a) => reached(action, a.status),
        Err(e) => action == Action::Deprovision && e.kind() == "not-found",
    };
    done.then(|| {
        json!({
            "job": job, "ok": true, "changed": null, "recovered": true,
            "message": format!(
                "an earlier attempt stopped after recording its intent; the account is already as {} leaves it, so nothing more was written",
                action.name()
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
        assert_eq!(parse("grant"), None);
    }
}
