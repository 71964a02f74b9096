//! Host bindings of the frozen `governance:connector@0.3.0` (`wit/since_v0.3.0/`), and the
//! conversions of its values to and from the latest contract's. 0.4.0 typed the actions
//! (routes and results), opened the method set and added grant, revoke and
//! list-entitlements, which a 0.3.0 plugin does not have. Its `wasi:keyvalue/store` import is
//! the latest's: the host's state buckets serve both.

use super::latest::types as new;

wasmtime::component::bindgen!({
    path: "../wit/since_v0.3.0",
    world: "connector-plugin",
    exports: { default: async },
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        "wasi:random": wasmtime_wasi::p2::bindings::random,
        "wasi:keyvalue/store": super::latest::wasi::keyvalue::store,
    },
    require_store_data_send: true,
});

pub use governance::connector::types;
use types as old;

impl From<&new::Config> for old::Config {
    fn from(c: &new::Config) -> Self {
        old::Config {
            app: c.app.clone(),
            account_id: c.account_id.clone(),
            options: c.options.clone(),
        }
    }
}

impl From<&new::ProvisionRequest> for old::ProvisionRequest {
    fn from(r: &new::ProvisionRequest) -> Self {
        old::ProvisionRequest {
            username: r.username.clone(),
            email: r.email.clone(),
            full_name: r.full_name.clone(),
            roles: r.roles.clone(),
            attributes_json: r.attributes_json.clone(),
        }
    }
}

fn capability(c: old::Capability) -> new::Capability {
    match c {
        old::Capability::ListAccounts => new::Capability::ListAccounts,
        old::Capability::GetAccount => new::Capability::GetAccount,
        old::Capability::Suspend => new::Capability::Suspend,
        old::Capability::Reactivate => new::Capability::Reactivate,
        old::Capability::Deprovision => new::Capability::Deprovision,
        old::Capability::Provision => new::Capability::Provision,
    }
}

/// An action by the name 0.3.0 gave it.
pub fn action_kind(name: &str) -> Option<new::ActionKind> {
    Some(match name {
        "suspend" => new::ActionKind::Suspend,
        "reactivate" => new::ActionKind::Reactivate,
        "deprovision" => new::ActionKind::Deprovision,
        "provision" => new::ActionKind::Provision,
        _ => return None,
    })
}

fn method(m: old::HttpMethod) -> new::HttpMethod {
    match m {
        old::HttpMethod::Get => new::HttpMethod::Get,
        old::HttpMethod::Post => new::HttpMethod::Post,
        old::HttpMethod::Delete => new::HttpMethod::Delete,
    }
}

impl From<old::ConnectorInfo> for new::ConnectorInfo {
    fn from(i: old::ConnectorInfo) -> Self {
        new::ConnectorInfo {
            name: i.name,
            version: i.version,
            apps: i
                .apps
                .into_iter()
                .map(|a| new::AppInfo {
                    name: a.name,
                    description: a.description,
                    hosts: a.hosts,
                    capabilities: a.capabilities.into_iter().map(capability).collect(),
                    routes: a
                        .routes
                        .into_iter()
                        .map(|r| new::Route {
                            method: method(r.method),
                            host: r.host,
                            path: r.path,
                            // An action 0.3.0 never had names nothing the route may be used
                            // for: without it the route allows fewer writes, never more.
                            actions: r.actions.iter().filter_map(|a| action_kind(a)).collect(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

fn status(s: old::AccountStatus) -> new::AccountStatus {
    match s {
        old::AccountStatus::Active => new::AccountStatus::Active,
        old::AccountStatus::Suspended => new::AccountStatus::Suspended,
        old::AccountStatus::Deprovisioned => new::AccountStatus::Deprovisioned,
    }
}

fn kind(k: old::EntitlementKind) -> new::EntitlementKind {
    match k {
        old::EntitlementKind::AccountType => new::EntitlementKind::AccountType,
        old::EntitlementKind::Role => new::EntitlementKind::Role,
        old::EntitlementKind::Service => new::EntitlementKind::Service,
    }
}

impl From<old::Account> for new::Account {
    fn from(a: old::Account) -> Self {
        new::Account {
            id: a.id,
            username: a.username,
            email: a.email,
            display_name: a.display_name,
            status: status(a.status),
            last_activity: a.last_activity,
            entitlements: a
                .entitlements
                .into_iter()
                .map(|e| new::Entitlement {
                    kind: kind(e.kind),
                    id: e.id,
                    name: e.name,
                    last_activity: e.last_activity,
                })
                .collect(),
            attributes: a.attributes,
            warnings: a.warnings,
        }
    }
}

impl From<old::AccountPage> for new::AccountPage {
    fn from(p: old::AccountPage) -> Self {
        new::AccountPage {
            accounts: p.accounts.into_iter().map(Into::into).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

/// An action's result; `called` is the action the host asked for, which a result naming an
/// action 0.3.0 did not know reports.
pub fn action_result(r: old::ActionResult, called: new::ActionKind) -> new::ActionResult {
    new::ActionResult {
        account_id: r.account_id,
        action: action_kind(&r.action).unwrap_or(called),
        dry_run: r.dry_run,
        changed: r.changed,
        status: r.status.map(status),
        message: r.message,
        warnings: r.warnings,
    }
}

impl From<old::ConnectorError> for new::ConnectorError {
    fn from(e: old::ConnectorError) -> Self {
        use new::ConnectorError as N;
        use old::ConnectorError as O;
        match e {
            O::Unauthorized(m) => N::Unauthorized(m),
            O::Forbidden(m) => N::Forbidden(m),
            O::NotFound(m) => N::NotFound(m),
            O::RateLimited(r) => N::RateLimited(new::RateLimit {
                retry_after_ms: r.retry_after_ms,
                message: r.message,
            }),
            O::InvalidConfig(m) => N::InvalidConfig(m),
            O::InvalidInput(m) => N::InvalidInput(m),
            O::Unsupported(m) => N::Unsupported(m),
            O::Refused(m) => N::Refused(m),
            O::Upstream(u) => N::Upstream(new::UpstreamError {
                status: u.status,
                code: u.code,
                message: u.message,
            }),
            O::Transport(m) => N::Transport(m),
            O::MalformedResponse(m) => N::MalformedResponse(m),
        }
    }
}
