//! A job: one tenant's sync, or one action on one account. It names the tenant, never a
//! secret.

use serde::{Deserialize, Serialize};

/// What a job does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// List every account of the tenant's app; the result is a snapshot.
    Sync,
    /// `suspend`, `reactivate`, `deprovision` one account, or `grant` / `revoke` one of its
    /// entitlements.
    Action {
        action: String,
        account: String,
        dry_run: bool,
        /// The entitlement a grant or a revoke is about (absent for the others, and in jobs
        /// enqueued before grants existed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entitlement: Option<String>,
    },
}

/// One unit of work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Unique per enqueue; for actions, the idempotency key (the same key is enqueued once).
    pub id: String,
    /// The tenant's name in each worker's tenants file.
    pub tenant: String,
    /// The app.
    pub app: String,
    pub kind: JobKind,
}

impl Job {
    /// A sync job, unique by time of enqueue.
    pub fn sync(tenant: &str, app: &str, at: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            id: format!(
                "sync.{}.{}",
                crate::names::tenant_key(tenant, app),
                at.timestamp_nanos_opt().unwrap_or_default()
            ),
            tenant: tenant.into(),
            app: app.into(),
            kind: JobKind::Sync,
        }
    }

    /// An action job; `key` is its idempotency key (derived from what it does when none).
    pub fn action(
        tenant: &str,
        app: &str,
        action: &str,
        account: &str,
        dry_run: bool,
        key: Option<&str>,
    ) -> Self {
        Self::entitlement_action(tenant, app, action, account, None, dry_run, key)
    }

    /// An action job that may name an entitlement (`grant`, `revoke`); the derived key names
    /// it too, so granting two roles to one account are two jobs.
    pub fn entitlement_action(
        tenant: &str,
        app: &str,
        action: &str,
        account: &str,
        entitlement: Option<&str>,
        dry_run: bool,
        key: Option<&str>,
    ) -> Self {
        let derived = format!(
            "{}.{}.{}{}{}",
            crate::names::tenant_key(tenant, app),
            crate::names::token(action),
            crate::names::token(account),
            entitlement
                .map(|e| format!(".{}", crate::names::token(e)))
                .unwrap_or_default(),
            if dry_run { ".dry" } else { "" }
        );
        Self {
            id: format!("act.{}", key.map(crate::names::token).unwrap_or(derived)),
            tenant: tenant.into(),
            app: app.into(),
            kind: JobKind::Action {
                action: action.into(),
                account: account.into(),
                dry_run,
                entitlement: entitlement.map(str::to_string),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_action_has_the_same_key_and_jobs_round_trip() {
        let a = Job::action("acme", "twilio", "suspend", "AC1", false, None);
        let b = Job::action("acme", "twilio", "suspend", "AC1", false, None);
        assert_eq!(a.id, b.id);
        assert_ne!(
            a.id,
            Job::action("acme", "twilio", "suspend", "AC1", true, None).id
        );
        assert_eq!(
            Job::action("acme", "twilio", "suspend", "AC1", false, Some("k 1")).id,
            "act.k=201"
        );
        let text = serde_json::to_string(&a).unwrap();
        assert!(!text.contains("token") && !text.contains("secret"));
        assert_eq!(serde_json::from_str::<Job>(&text).unwrap(), a);
    }
}
