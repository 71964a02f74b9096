//! The `twilio` app: the connected account and its subaccounts.

pub mod accounts;
pub mod actions;
pub mod services;
pub mod usage;

use crate::model::{AppInfo, Capability};

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
};

/// Absolute URL of a 2010 API path.
pub fn url(path: &str) -> String {
    format!("https://{API_HOST}{path}")
}

/// Check that an id looks like an account SID before it goes into a URL path.
pub fn validate_sid(id: &str) -> crate::model::Result<()> {
    crate::sid::require(id, "AC", "account")
}
