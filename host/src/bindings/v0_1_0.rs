//! Host bindings of the frozen `governance:connector@0.1.0` (`wit/since_v0.1.0/`), and the
//! conversions of its values to and from the latest contract's. A 0.1.0 plugin declares no
//! routes: the host gives it the read-only default (see `request_policy.rs`).

// Converted to 0.3.0's values, which `v0_3_0` converts to the latest.
use super::v0_3_0::types as new;

wasmtime::component::bindgen!({
    path: "../wit/since_v0.1.0",
    world: "connector-plugin",
    exports: { default: async },
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        "wasi:random": wasmtime_wasi::p2::bindings::random,
    },
    require_store_data_send: true,
});

use governance::connector::types as old;

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
                    // Declared by no 0.1.0 plugin: the host applies its read-only default.
                    routes: Vec::new(),
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
                    kind: match e.kind {
                        old::EntitlementKind::AccountType => new::EntitlementKind::AccountType,
                        old::EntitlementKind::Role => new::EntitlementKind::Role,
                        old::EntitlementKind::Service => new::EntitlementKind::Service,
                    },
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

impl From<old::ActionResult> for new::ActionResult {
    fn from(r: old::ActionResult) -> Self {
        new::ActionResult {
            account_id: r.account_id,
            action: r.action,
            dry_run: r.dry_run,
            changed: r.changed,
            status: r.status.map(status),
            message: r.message,
            warnings: r.warnings,
        }
    }
}

impl From<old::ConnectorError> for new::ConnectorError {
    fn from(e: old::ConnectorError) -> Self {
        match e {
            old::ConnectorError::Unauthorized(m) => new::ConnectorError::Unauthorized(m),
            old::ConnectorError::Forbidden(m) => new::ConnectorError::Forbidden(m),
            old::ConnectorError::NotFound(m) => new::ConnectorError::NotFound(m),
            old::ConnectorError::RateLimited(r) => {
                new::ConnectorError::RateLimited(new::RateLimit {
                    retry_after_ms: r.retry_after_ms,
                    message: r.message,
                })
            }
            old::ConnectorError::InvalidConfig(m) => new::ConnectorError::InvalidConfig(m),
            old::ConnectorError::InvalidInput(m) => new::ConnectorError::InvalidInput(m),
            old::ConnectorError::Unsupported(m) => new::ConnectorError::Unsupported(m),
            old::ConnectorError::Refused(m) => new::ConnectorError::Refused(m),
            old::ConnectorError::Upstream(u) => new::ConnectorError::Upstream(new::UpstreamError {
                status: u.status,
                code: u.code,
                message: u.message,
            }),
            old::ConnectorError::Transport(m) => new::ConnectorError::Transport(m),
            old::ConnectorError::MalformedResponse(m) => new::ConnectorError::MalformedResponse(m),
        }
    }
}
