//! The expectations a conformance run holds a plugin to, read from the data file kept beside
//! the simulator's fixture (`simulator/fixtures/conformance.json`): nothing vendor-specific
//! is written into the checks themselves.

use connector_host::types::{Account, AccountStatus, EntitlementKind};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Everything a run needs to know about the fixture.
#[derive(Debug, Deserialize)]
pub struct Expectations {
    /// The clock the plugin is shown.
    pub now: String,
    /// An API key the simulator accepts besides the main account's token.
    pub api_key: ApiKey,
    /// Per app name.
    pub apps: BTreeMap<String, AppExpectations>,
}

/// A key SID and its secret.
#[derive(Debug, Deserialize)]
pub struct ApiKey {
    pub sid: String,
    pub secret: String,
}

/// What one app must show on the fixture.
#[derive(Debug, Deserialize)]
pub struct AppExpectations {
    /// Non-secret options the tenant is configured with.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// An OAuth client the tenant also holds, for the hosts that take only bearer tokens.
    #[serde(default)]
    pub oauth_client: Option<OAuthClient>,
    /// How many accounts a full listing returns, where the app lists.
    pub expected_count: Option<usize>,
    /// An account id that does not exist.
    pub missing_id: String,
    /// An account that exists, for apps that cannot list.
    pub probe_id: String,
    /// The account that dry-runs and the idempotence check act on.
    pub action_target: Option<String>,
    /// Whether acting on the connecting account must be refused without a request.
    #[serde(default)]
    pub connecting_account_protected: bool,
    /// Actions the app must answer with a typed `unsupported`.
    #[serde(default)]
    pub unsupported: Vec<Unsupported>,
    /// Values of listed accounts that follow the vendor's documented rules.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// OAuth 2.0 client credentials the simulator accepts, bound to `hosts`; the host mints its
/// tokens at `token_url`.
#[derive(Debug, Deserialize)]
pub struct OAuthClient {
    pub client_id: String,
    pub secret: String,
    pub hosts: Vec<String>,
    pub token_url: String,
}

/// An action that must be refused as unsupported.
#[derive(Debug, Deserialize)]
pub struct Unsupported {
    pub action: String,
    pub id: String,
}

/// One expected value of one listed account.
#[derive(Debug, Deserialize)]
pub struct Rule {
    /// The rule, in words.
    pub what: String,
    /// A short name of the account for the check's title.
    pub label: String,
    /// The account's id.
    pub account: String,
    /// Which value is compared.
    pub field: Field,
    /// The value as text (`null` for none).
    pub expected: Option<String>,
}

/// The account values a rule can compare.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// `last_activity`.
    LastActivity,
    /// `status` (`active`, `suspended`, `deprovisioned`).
    Status,
    /// The service entitlements as `Name@last-activity`, comma-separated.
    Services,
    /// Every entitlement's name, comma-separated.
    EntitlementNames,
}

impl Field {
    /// The value of this field of `a`, as text.
    pub fn read(self, a: &Account) -> Option<String> {
        match self {
            Self::LastActivity => a.last_activity.clone(),
            Self::Status => Some(
                match a.status {
                    AccountStatus::Active => "active",
                    AccountStatus::Suspended => "suspended",
                    AccountStatus::Deprovisioned => "deprovisioned",
                }
                .to_string(),
            ),
            Self::Services => Some(
                a.entitlements
                    .iter()
                    .filter(|e| e.kind == EntitlementKind::Service)
                    .map(|e| format!("{}@{}", e.name, e.last_activity.as_deref().unwrap_or("-")))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Self::EntitlementNames => Some(
                a.entitlements
                    .iter()
                    .map(|e| e.name.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        }
    }
}

impl Expectations {
    /// The expectations of the simulator's built-in fixture.
    pub fn builtin() -> anyhow::Result<Self> {
        Ok(serde_json::from_str(twilio_sim::fixture::CONFORMANCE_JSON)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_expectations_name_accounts_of_the_fixture() {
        let e = Expectations::builtin().unwrap();
        let fixture: serde_json::Value =
            serde_json::from_str(twilio_sim::fixture::DEMO_JSON).unwrap();
        let text = fixture.to_string();
        for (app, x) in &e.apps {
            for r in &x.rules {
                assert!(
                    text.contains(&r.account),
                    "{app}: {} not in the fixture",
                    r.account
                );
            }
            assert!(
                !text.contains(&x.missing_id),
                "{app}: {} exists",
                x.missing_id
            );
        }
    }
}
