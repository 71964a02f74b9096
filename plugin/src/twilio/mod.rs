//! The `twilio` app: the connected account and its subaccounts.

pub mod account_resource;
pub mod accounts;
pub mod actions;
pub mod kept_usage;
pub mod services;
pub mod usage;
pub mod usage_reads;

use crate::model::{AppInfo, Capability, RouteSpec};
use connector_routes::Method;

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
    routes: &[
        RouteSpec::get(API_HOST, "/2010-04-01/Accounts.json"),
        RouteSpec::get(API_HOST, "/2010-04-01/Accounts/{AC}.json"),
        RouteSpec::get(
            API_HOST,
            "/2010-04-01/Accounts/{AC}/Usage/Records/Monthly.json",
        ),
        RouteSpec::get(
            API_HOST,
            "/2010-04-01/Accounts/{AC}/Usage/Records/Daily.json",
        ),
        RouteSpec::write(
            Method::Post,
            API_HOST,
            "/2010-04-01/Accounts/{AC}.json",
            &["suspend", "reactivate", "deprovision"],
        ),
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
