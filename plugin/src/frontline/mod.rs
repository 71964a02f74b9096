//! The `frontline` app: Frontline users fetched one by one (Twilio has no list API),
//! deactivated/reactivated through `State`, availability through `IsAvailable`.

pub mod users;

use crate::model::{AppInfo, Capability, RouteSpec};
use connector_routes::Method;

/// Frontline API host.
pub const FRONTLINE_HOST: &str = "frontline-api.twilio.com";

/// Static description of the app.
pub const INFO: AppInfo = AppInfo {
    name: "frontline",
    description: "Twilio Frontline users (fetched by SID or identity)",
    hosts: &[FRONTLINE_HOST],
    capabilities: &[
        Capability::GetAccount,
        Capability::Suspend,
        Capability::Reactivate,
        Capability::Deprovision,
    ],
    routes: &[
        RouteSpec::get(FRONTLINE_HOST, "/v1/Users/{user}"),
        RouteSpec::write(
            Method::Post,
            FRONTLINE_HOST,
            "/v1/Users/{user}",
            &["suspend", "reactivate", "deprovision"],
        ),
    ],
};
