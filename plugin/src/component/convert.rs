//! Conversions between the WIT types and the plain model, as `From` impls, so that the
//! `Guest` shim only calls and converts.

use super::wit;
use crate::errors::ConnectorError;
use crate::model;

impl From<wit::Config> for model::Config {
    fn from(c: wit::Config) -> Self {
        model::Config {
            app: c.app,
            account_id: c.account_id,
            options: c.options,
        }
    }
}

impl From<model::Status> for wit::AccountStatus {
    fn from(s: model::Status) -> Self {
        match s {
            model::Status::Active => wit::AccountStatus::Active,
            model::Status::Suspended => wit::AccountStatus::Suspended,
            model::Status::Deprovisioned => wit::AccountStatus::Deprovisioned,
        }
    }
}

impl From<model::EntitlementKind> for wit::EntitlementKind {
    fn from(k: model::EntitlementKind) -> Self {
        match k {
            model::EntitlementKind::AccountType => wit::EntitlementKind::AccountType,
            model::EntitlementKind::Role => wit::EntitlementKind::Role,
            model::EntitlementKind::Service => wit::EntitlementKind::Service,
        }
    }
}

impl From<model::Entitlement> for wit::Entitlement {
    fn from(e: model::Entitlement) -> Self {
        wit::Entitlement {
            kind: e.kind.into(),
            id: e.id,
            name: e.name,
            last_activity: e.last_activity,
        }
    }
}

impl From<model::Account> for wit::Account {
    fn from(a: model::Account) -> Self {
        wit::Account {
            id: a.id,
            username: a.username,
            email: a.email,
            display_name: a.display_name,
            status: a.status.into(),
            last_activity: a.last_activity,
            entitlements: a.entitlements.into_iter().map(Into::into).collect(),
            attributes: a.attributes,
            warnings: a.warnings,
        }
    }
}

impl From<model::AccountPage> for wit::AccountPage {
    fn from(p: model::AccountPage) -> Self {
        wit::AccountPage {
            accounts: p.accounts.into_iter().map(Into::into).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

impl From<model::EntitlementInfo> for wit::EntitlementInfo {
    fn from(e: model::EntitlementInfo) -> Self {
        wit::EntitlementInfo {
            kind: e.kind.into(),
            id: e.id,
            name: e.name,
            description: e.description,
        }
    }
}

impl From<model::EntitlementPage> for wit::EntitlementPage {
    fn from(p: model::EntitlementPage) -> Self {
        wit::EntitlementPage {
            entitlements: p.entitlements.into_iter().map(Into::into).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

impl From<model::ActionKind> for wit::ActionKind {
    fn from(a: model::ActionKind) -> Self {
        match a {
            model::ActionKind::Suspend => wit::ActionKind::Suspend,
            model::ActionKind::Reactivate => wit::ActionKind::Reactivate,
            model::ActionKind::Deprovision => wit::ActionKind::Deprovision,
            model::ActionKind::Provision => wit::ActionKind::Provision,
            model::ActionKind::Grant => wit::ActionKind::Grant,
            model::ActionKind::Revoke => wit::ActionKind::Revoke,
        }
    }
}

impl From<model::ActionResult> for wit::ActionResult {
    fn from(r: model::ActionResult) -> Self {
        wit::ActionResult {
            account_id: r.account_id,
            action: r.action.into(),
            dry_run: r.dry_run,
            changed: r.changed,
            status: r.status.map(Into::into),
            message: r.message,
            warnings: r.warnings,
        }
    }
}

impl From<wit::ProvisionRequest> for model::ProvisionRequest {
    fn from(r: wit::ProvisionRequest) -> Self {
        model::ProvisionRequest {
            username: r.username,
            email: r.email,
            full_name: r.full_name,
            roles: r.roles,
            attributes_json: r.attributes_json,
        }
    }
}

impl From<ConnectorError> for wit::ConnectorError {
    fn from(e: ConnectorError) -> Self {
        match e {
            ConnectorError::Unauthorized(m) => wit::ConnectorError::Unauthorized(m),
            ConnectorError::Forbidden(m) => wit::ConnectorError::Forbidden(m),
            ConnectorError::NotFound(m) => wit::ConnectorError::NotFound(m),
            ConnectorError::RateLimited {
                retry_after_ms,
                message,
            } => wit::ConnectorError::RateLimited(wit::RateLimit {
                retry_after_ms,
                message,
            }),
            ConnectorError::InvalidConfig(m) => wit::ConnectorError::InvalidConfig(m),
            ConnectorError::InvalidInput(m) => wit::ConnectorError::InvalidInput(m),
            ConnectorError::Unsupported(m) => wit::ConnectorError::Unsupported(m),
            ConnectorError::Refused(m) => wit::ConnectorError::Refused(m),
            ConnectorError::Upstream {
                status,
                code,
                message,
            } => wit::ConnectorError::Upstream(wit::UpstreamError {
                status,
                code,
                message,
            }),
            ConnectorError::Transport(m) => wit::ConnectorError::Transport(m),
            ConnectorError::MalformedResponse(m) => wit::ConnectorError::MalformedResponse(m),
        }
    }
}

impl From<model::Capability> for wit::Capability {
    fn from(c: model::Capability) -> Self {
        match c {
            model::Capability::ListAccounts => wit::Capability::ListAccounts,
            model::Capability::GetAccount => wit::Capability::GetAccount,
            model::Capability::Suspend => wit::Capability::Suspend,
            model::Capability::Reactivate => wit::Capability::Reactivate,
            model::Capability::Deprovision => wit::Capability::Deprovision,
            model::Capability::Provision => wit::Capability::Provision,
            model::Capability::ListEntitlements => wit::Capability::ListEntitlements,
            model::Capability::Grant => wit::Capability::Grant,
            model::Capability::Revoke => wit::Capability::Revoke,
        }
    }
}

impl From<&model::AppInfo> for wit::AppInfo {
    fn from(a: &model::AppInfo) -> Self {
        wit::AppInfo {
            name: a.name.to_string(),
            description: a.description.to_string(),
            hosts: a.hosts.iter().map(|h| h.to_string()).collect(),
            capabilities: a.capabilities.iter().copied().map(Into::into).collect(),
            routes: a.routes.iter().filter_map(wit_route).collect(),
        }
    }
}

impl From<connector_routes::Method> for wit::HttpMethod {
    /// Every method a route can name has a case of its own; `other` is for methods
    /// `connector_routes` does not have (a new one there must be placed here).
    fn from(m: connector_routes::Method) -> Self {
        match m {
            connector_routes::Method::Get => wit::HttpMethod::Get,
            connector_routes::Method::Post => wit::HttpMethod::Post,
            connector_routes::Method::Put => wit::HttpMethod::Put,
            connector_routes::Method::Patch => wit::HttpMethod::Patch,
            connector_routes::Method::Delete => wit::HttpMethod::Delete,
        }
    }
}

/// The WIT route of a declared route, or `None` when one of its actions is no `action-kind`
/// ([`model::route_actions`]): such a route is left out of the metadata, so the host refuses
/// its requests. A test in `crate::apps` holds every registered app's routes to converting.
fn wit_route(r: &model::RouteSpec<'_>) -> Option<wit::Route> {
    let actions = model::route_actions(r).ok()?;
    Some(wit::Route {
        method: r.method.into(),
        host: r.host.to_string(),
        path: r.path.to_string(),
        actions: actions.into_iter().map(Into::into).collect(),
    })
}
