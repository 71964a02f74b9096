//! What the hostile component declares. The default build asks for exactly the routes our own
//! plugin declares (`plugin/src/{twilio,flex,frontline}/mod.rs`, `INFO.routes`), so the host
//! loads it and every misbehaviour meets the request rules at run time. The `greedy` build
//! also asks for routes no governance action needs, and must be refused at load, each listed.

use crate::hostile::governance::connector::types::{AppInfo, Capability, HttpMethod, Route};

pub const API: &str = "api.twilio.com";
pub const TASKROUTER: &str = "taskrouter.twilio.com";
pub const FLEX_API: &str = "flex-api.twilio.com";
pub const FRONTLINE_API: &str = "frontline-api.twilio.com";
pub const PREVIEW_IAM: &str = "preview-iam.twilio.com";

fn route(method: HttpMethod, host: &str, path: &str, actions: &[&str]) -> Route {
    Route {
        method,
        host: host.into(),
        path: path.into(),
        actions: actions.iter().map(|a| crate::actions::kind(a)).collect(),
    }
}

fn get(host: &str, path: &str) -> Route {
    route(HttpMethod::Get, host, path, &[])
}

fn texts(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The twilio app's routes, as our plugin declares them.
fn twilio() -> Vec<Route> {
    vec![
        get(API, "/2010-04-01/Accounts.json"),
        get(API, "/2010-04-01/Accounts/{AC}.json"),
        get(API, "/2010-04-01/Accounts/{AC}/Usage/Records/Monthly.json"),
        get(API, "/2010-04-01/Accounts/{AC}/Usage/Records/Daily.json"),
        route(
            HttpMethod::Post,
            API,
            "/2010-04-01/Accounts/{AC}.json",
            &["suspend", "reactivate", "deprovision"],
        ),
    ]
}

/// The flex app's routes, as our plugin declares them.
fn flex() -> Vec<Route> {
    vec![
        get(TASKROUTER, "/v1/Workspaces"),
        get(TASKROUTER, "/v1/Workspaces/{WS}/Workers"),
        get(TASKROUTER, "/v1/Workspaces/{WS}/Workers/{WK}"),
        route(
            HttpMethod::Delete,
            TASKROUTER,
            "/v1/Workspaces/{WS}/Workers/{WK}",
            &["deprovision"],
        ),
        get(FLEX_API, "/v1/Instances/{GO}/Users"),
        get(FLEX_API, "/v4/Instances/{GO}/Users"),
        get(FLEX_API, "/v4/Instances/{GO}/Users/{FU}"),
        route(
            HttpMethod::Post,
            FLEX_API,
            "/v4/Instances/{GO}/Users/Deprovision",
            &["deprovision"],
        ),
        route(
            HttpMethod::Post,
            FLEX_API,
            "/v4/Instances/{GO}/Users/Provision",
            &["provision", "grant", "revoke"],
        ),
    ]
}

/// The frontline app's routes, as our plugin declares them.
fn frontline() -> Vec<Route> {
    vec![
        get(FRONTLINE_API, "/v1/Users/{user}"),
        route(
            HttpMethod::Post,
            FRONTLINE_API,
            "/v1/Users/{user}",
            &["suspend", "reactivate", "deprovision"],
        ),
    ]
}

/// The organization app's reads, as our plugin declares them (its token is minted by the host).
fn organization() -> Vec<Route> {
    vec![
        get(PREVIEW_IAM, "/Organizations/{OR}/scim/Users"),
        get(PREVIEW_IAM, "/Organizations/{OR}/RoleAssignments"),
    ]
}

/// Routes no governance action needs, asked for anyway (issue 17): a phone number deleted or
/// rewritten "to suspend", a new subaccount "to suspend", a whole workspace deleted "to
/// deprovision", code and flows deployed "to provision", call recordings, transcriptions and
/// conversations read, and a template that matches any four-segment path.
#[cfg(feature = "greedy")]
pub mod greedy {
    use super::*;

    pub const SERVERLESS: &str = "serverless.twilio.com";
    pub const STUDIO: &str = "studio.twilio.com";
    pub const CONVERSATIONS: &str = "conversations.twilio.com";

    pub fn twilio() -> Vec<Route> {
        vec![
            route(
                HttpMethod::Delete,
                API,
                "/2010-04-01/Accounts/{AC}/IncomingPhoneNumbers/{PN}.json",
                &["suspend"],
            ),
            route(
                HttpMethod::Post,
                API,
                "/2010-04-01/Accounts/{AC}/IncomingPhoneNumbers/{PN}.json",
                &["suspend"],
            ),
            route(
                HttpMethod::Post,
                API,
                "/2010-04-01/Accounts.json",
                &["suspend"],
            ),
            get(API, "/2010-04-01/Accounts/{AC}/Recordings.json"),
            get(API, "/2010-04-01/Accounts/{AC}/Transcriptions.json"),
            get(API, "/{a}/{b}/{c}/{d}"),
        ]
    }

    pub fn flex() -> Vec<Route> {
        vec![
            route(
                HttpMethod::Delete,
                TASKROUTER,
                "/v1/Workspaces/{WS}",
                &["deprovision"],
            ),
            route(HttpMethod::Post, SERVERLESS, "/v1/Services", &["provision"]),
            route(HttpMethod::Post, STUDIO, "/v2/Flows", &["provision"]),
        ]
    }

    pub fn frontline() -> Vec<Route> {
        vec![get(CONVERSATIONS, "/v1/Conversations")]
    }
}

/// The three apps, each on its hosts (the twilio app also names a foreign host, which the
/// host must not trust).
pub fn apps() -> Vec<AppInfo> {
    #[allow(unused_mut)]
    let mut apps = vec![
        AppInfo {
            name: "twilio".into(),
            // Terminal escapes: a title change, a screen clear and a bell.
            description: "misbehaves on purpose\u{1b}]0;owned\u{7}\u{1b}[2J".into(),
            hosts: texts(&[API, "evil.example"]),
            capabilities: vec![Capability::ListAccounts],
            routes: twilio(),
        },
        AppInfo {
            name: "flex".into(),
            description: "misbehaves on purpose, in Flex".into(),
            hosts: texts(&[TASKROUTER, FLEX_API]),
            capabilities: vec![Capability::ListAccounts],
            routes: flex(),
        },
        AppInfo {
            name: "frontline".into(),
            description: "misbehaves on purpose, in Frontline".into(),
            hosts: texts(&[FRONTLINE_API]),
            capabilities: vec![Capability::ListAccounts],
            routes: frontline(),
        },
        AppInfo {
            name: "organization".into(),
            description: "misbehaves on purpose, in the Organization".into(),
            hosts: texts(&[PREVIEW_IAM]),
            capabilities: vec![Capability::ListAccounts],
            routes: organization(),
        },
    ];
    #[cfg(feature = "greedy")]
    {
        apps[0].routes.extend(greedy::twilio());
        apps[1].routes.extend(greedy::flex());
        apps[1]
            .hosts
            .extend(texts(&[greedy::SERVERLESS, greedy::STUDIO]));
        apps[2].routes.extend(greedy::frontline());
        apps[2].hosts.push(greedy::CONVERSATIONS.into());
    }
    apps
}
