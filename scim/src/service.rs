//! The service: one SCIM base per tenant and app (`/scim/v2/{tenant}/{app}/…`), each request
//! authenticated (bearer token), scoped (tenants, apps, read or read-write), rate-bounded per
//! client and audited with the client's name, then dispatched to its endpoint.

use crate::clients::{Clients, Scope};
use crate::discovery::{self, Support};
use crate::errors::{SCIM_JSON, ScimError};
use crate::rate::{RateLimiter, retry_after_secs};
use crate::snapshots::Snapshots;
use crate::{groups, users};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use connector_host::audit::{AuditLog, ServedEvent};
use connector_host::types::AppInfo;
use connector_host::{Host, Tenant};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The largest request body accepted (a SCIM User or PatchOp is a few KiB).
pub const MAX_BODY: usize = 64 * 1024;

/// Listings answered at once; the next waits (each runs on a blocking thread).
pub const HEAVY_AT_ONCE: usize = 4;

/// How the service runs.
#[derive(Clone)]
pub struct ServeOptions {
    /// A snapshot older than this is refreshed (on the schedule, and in the background when
    /// read).
    pub refresh: Duration,
    /// Requests per second each client may make, and the burst above it.
    pub rate_per_second: f64,
    pub burst: u32,
    pub audit: Option<AuditLog>,
    /// Where clients reach the service (`https://scim.example.com`): the base of every
    /// `meta.location` and `Location` (never taken from a request's `Host`).
    pub public_url: String,
    /// The roles a provisioned account gets, per app, when the SCIM User names none (a
    /// vendor fact the front supplies).
    pub default_roles: BTreeMap<String, Vec<String>>,
    /// The roles an account of each app can be given, published as canonical values.
    pub roles: BTreeMap<String, Vec<String>>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            refresh: Duration::from_secs(300),
            rate_per_second: 20.0,
            burst: 100,
            audit: None,
            public_url: "http://localhost".into(),
            default_roles: BTreeMap::new(),
            roles: BTreeMap::new(),
        }
    }
}

/// Everything a request needs.
pub struct Service {
    pub host: Arc<Host>,
    tenants: BTreeMap<String, Tenant>,
    apps: BTreeMap<String, AppInfo>,
    clients: Clients,
    pub snapshots: Arc<Snapshots>,
    limiter: RateLimiter,
    /// Unauthenticated requests, per peer address.
    anonymous: RateLimiter,
    /// Listings filtered, sorted and paged at once (CPU work, run off the async threads).
    pub heavy: Arc<tokio::sync::Semaphore>,
    options: ServeOptions,
}

/// What one request is about, once it is let in.
pub struct Call<'a> {
    pub service: &'a Service,
    /// The tenant, with the URL's app.
    pub tenant: Tenant,
    pub app: &'a AppInfo,
    pub support: Support,
    /// `scheme://host/scim/v2/{tenant}/{app}`.
    pub base: String,
    pub headers: &'a HeaderMap,
    pub query: Option<&'a str>,
    pub body: &'a Bytes,
    /// The action the request ran (for the audit line).
    pub ran: std::sync::Mutex<Option<(String, String)>>,
}

impl Call<'_> {
    /// Note the action this request runs, for its audit line.
    pub fn ran(&self, action: &str, account: &str) {
        *self.ran.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((action.to_string(), account.to_string()));
    }
}

impl Service {
    /// A service over `host` for `tenants` (each served with any of the plugin's apps).
    pub fn new(
        host: Arc<Host>,
        tenants: Vec<Tenant>,
        clients: Clients,
        options: ServeOptions,
    ) -> Arc<Self> {
        let apps = host
            .info()
            .apps
            .iter()
            .map(|a| (a.name.clone(), a.clone()))
            .collect();
        Arc::new(Self {
            snapshots: Arc::new(Snapshots::new(host.clone(), options.refresh)),
            host,
            tenants: tenants.into_iter().map(|t| (t.name.clone(), t)).collect(),
            apps,
            clients,
            limiter: RateLimiter::new(options.rate_per_second, options.burst),
            anonymous: RateLimiter::new(ANONYMOUS_RATE, ANONYMOUS_BURST),
            heavy: Arc::new(tokio::sync::Semaphore::new(HEAVY_AT_ONCE)),
            options,
        })
    }

    /// The roles accounts of `app` can be given (empty when the front names none).
    pub fn roles(&self, app: &str) -> &[String] {
        self.options.roles.get(app).map_or(&[], Vec::as_slice)
    }

    /// How many clients the clients file names.
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// The roles a provisioned account of `app` gets when the request names none.
    pub fn default_roles(&self, app: &str) -> &[String] {
        self.options
            .default_roles
            .get(app)
            .map_or(&[], Vec::as_slice)
    }

    /// The tenants served with each app, for the refresh schedule.
    fn served(&self) -> Vec<Tenant> {
        self.tenants
            .values()
            .flat_map(|t| {
                self.apps.keys().map(move |app| {
                    let mut t = t.clone();
                    t.app = app.clone();
                    t
                })
            })
            .collect()
    }

    /// Refresh, every `refresh`, each snapshot that has been served and grown old.
    pub fn spawn_schedule(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(me.options.refresh.max(Duration::from_secs(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                me.snapshots.refresh_stale(&me.served()).await;
            }
        })
    }

    /// The router: everything under `/scim/v2/{tenant}/{app}/`.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(
                "/scim/v2/{tenant}/{app}/{*rest}",
                axum::routing::any(handle),
            )
            .fallback(not_scim)
            .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
            .with_state(self.clone())
    }
}

/// Anything outside `/scim/v2/{tenant}/{app}/…`: a SCIM 404, audited like every request
/// (unauthenticated ones within their bound).
async fn not_scim(
    State(service): State<Arc<Service>>,
    method: Method,
    peer: Peer,
    uri: axum::http::Uri,
) -> Response {
    let peer = peer
        .map(|axum::Extension(c)| c.0.ip().to_string())
        .unwrap_or_default();
    let e = ScimError::not_found("not a SCIM endpoint: the base is /scim/v2/{tenant}/{app}/");
    if service
        .anonymous
        .check(&format!("{ANONYMOUS} {peer}"), Instant::now())
        .is_err()
    {
        return ScimError::too_many(1, "too many unauthenticated requests").into_response();
    }
    if let Some(audit) = &service.options.audit {
        audit.served(&ServedEvent {
            client: ANONYMOUS.into(),
            tenant: String::new(),
            app: String::new(),
            method: method.to_string(),
            path: audit_text(uri.path()),
            status: e.status.as_u16(),
            duration_ms: 0.0,
            action: None,
            account: None,
        });
    }
    e.into_response()
}

/// The presented bearer token, if the request carries one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The most of a tenant, app or path an audit line keeps: whatever a client sends, a line
/// stays small.
const AUDIT_TEXT: usize = 256;

fn audit_text(s: &str) -> String {
    if s.len() <= AUDIT_TEXT {
        return s.to_string();
    }
    let mut end = AUDIT_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Unauthenticated requests per second (per peer address), and their burst: a client without
/// a token costs a hash and an audit line, never more than this.
const ANONYMOUS_RATE: f64 = 10.0;
const ANONYMOUS_BURST: u32 = 50;

type PathParts = Result<Path<(String, String, String)>, axum::extract::rejection::PathRejection>;
type Body = Result<Bytes, axum::extract::rejection::BytesRejection>;
type Peer = Result<
    axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>,
    axum::extract::rejection::ExtensionRejection,
>;

async fn handle(
    State(service): State<Arc<Service>>,
    parts: PathParts,
    RawQuery(query): RawQuery,
    method: Method,
    peer: Peer,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let peer = peer
        .map(|axum::Extension(c)| c.0.ip().to_string())
        .unwrap_or_default();
    let (tenant, app, rest) = parts.map(|Path(p)| p).unwrap_or_default();
    let path = format!("/scim/v2/{tenant}/{app}/{rest}");
    let (client, response, ran) = match admit(&service, &tenant, &app, &method, &rest, &headers) {
        Err((client, e)) => {
            if client == ANONYMOUS
                && service
                    .anonymous
                    .check(&format!("{ANONYMOUS} {peer}"), Instant::now())
                    .is_err()
            {
                // Unauthenticated and over the bound: answered, not audited, so that a flood
                // of them cannot fill the audit.
                return ScimError::too_many(1, "too many unauthenticated requests").into_response();
            }
            (client, e.into_response(), None)
        }
        Ok((client, t, info)) => {
            let empty = Bytes::new();
            let call = Call {
                service: &service,
                base: format!(
                    "{}/scim/v2/{}/{}",
                    service.options.public_url.trim_end_matches('/'),
                    crate::resources::path_segment(&tenant),
                    crate::resources::path_segment(&app)
                ),
                tenant: t,
                app: info,
                support: Support::of(info),
                headers: &headers,
                query: query.as_deref(),
                body: body.as_ref().unwrap_or(&empty),
                ran: std::sync::Mutex::new(None),
            };
            let answer = match &body {
                Err(e) => Err(ScimError::new(
                    e.status(),
                    Some("invalidValue"),
                    format!(
                        "the request body cannot be read: {} (at most {MAX_BODY} bytes)",
                        e.body_text()
                    ),
                )),
                Ok(_) => dispatch(&call, &method, &rest).await,
            };
            let ran = call.ran.lock().unwrap_or_else(|p| p.into_inner()).take();
            (
                client,
                answer.unwrap_or_else(IntoResponse::into_response),
                ran,
            )
        }
    };
    if let Some(audit) = &service.options.audit {
        audit.served(&ServedEvent {
            client,
            tenant: audit_text(&tenant),
            app: audit_text(&app),
            method: method.to_string(),
            path: audit_text(&path),
            status: response.status().as_u16(),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            action: ran.as_ref().map(|(a, _)| a.clone()),
            account: ran.map(|(_, id)| id),
        });
    }
    response
}

/// The client name of a request without a (valid) token, in the audit.
const ANONYMOUS: &str = "-";

/// Who may ask this: authenticated (401), within the client's rate (429), a known tenant and
/// app (404), within the client's scope (403). The client's name comes back for the audit
/// (`-` when the request is not authenticated).
fn admit<'a>(
    service: &'a Service,
    tenant: &str,
    app: &str,
    method: &Method,
    rest: &str,
    headers: &HeaderMap,
) -> Result<(String, Tenant, &'a AppInfo), (String, ScimError)> {
    let anonymous = |e| (ANONYMOUS.to_string(), e);
    let Some(token) = bearer(headers) else {
        return Err(anonymous(ScimError::unauthorized(
            "this SCIM service needs `Authorization: Bearer TOKEN` (a token from `connector serve new-client NAME`)",
        )));
    };
    let Some(client) = service.clients.authenticate(token) else {
        return Err(anonymous(ScimError::unauthorized(
            "the bearer token is not one of the clients file's",
        )));
    };
    let name = client.name().to_string();
    if let Err(wait) = service.limiter.check(&name, Instant::now()) {
        let secs = retry_after_secs(wait);
        return Err((
            name.clone(),
            ScimError::too_many(
                secs,
                format!("client {name} is over its request rate; retry in {secs} s"),
            ),
        ));
    }
    // A `POST …/.search` reads (RFC 7644 §3.4.3).
    let search = *method == Method::POST && rest.trim_end_matches('/').ends_with("/.search");
    let write = !(matches!(*method, Method::GET | Method::HEAD) || search);
    match client.scope(tenant, app, write) {
        Scope::Allowed => {}
        Scope::OtherTenant => {
            return Err((
                name.clone(),
                ScimError::forbidden(format!("client {name} may not use tenant {tenant}")),
            ));
        }
        Scope::OtherApp => {
            return Err((
                name.clone(),
                ScimError::forbidden(format!("client {name} may not use app {app}")),
            ));
        }
        Scope::ReadOnly => {
            return Err((
                name.clone(),
                ScimError::forbidden(format!("client {name} has read access only")),
            ));
        }
    }
    let Some(t) = service.tenants.get(tenant) else {
        return Err((
            name,
            ScimError::not_found(format!("no tenant named {tenant}")),
        ));
    };
    let Some(info) = service.apps.get(app) else {
        let known: Vec<&str> = service.apps.keys().map(String::as_str).collect();
        return Err((
            name,
            ScimError::not_found(format!(
                "no app named {app}; the plugin's apps: {}",
                known.join(", ")
            )),
        ));
    };
    let mut t = t.clone();
    t.app = app.to_string();
    Ok((name, t, info))
}

type Answer = Result<Response, ScimError>;

async fn dispatch(call: &Call<'_>, method: &Method, rest: &str) -> Answer {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match (method.clone(), segments.as_slice()) {
        (Method::GET, ["ServiceProviderConfig"]) => Ok(scim_json(
            StatusCode::OK,
            &discovery::service_provider_config(&call.base, call.app),
        )),
        (Method::GET, ["ResourceTypes"]) => Ok(scim_json(
            StatusCode::OK,
            &crate::resources::list_response(discovery::resource_types(&call.base), 2, 1),
        )),
        (Method::GET, ["ResourceTypes", id]) => discovery::resource_types(&call.base)
            .into_iter()
            .find(|r| r["id"] == *id)
            .map(|r| scim_json(StatusCode::OK, &r))
            .ok_or_else(|| ScimError::not_found(format!("no resource type {id}"))),
        (Method::GET, ["Schemas"]) => {
            let s = discovery::schemas(&call.base, call.app, call.service.roles(&call.app.name));
            let n = s.len();
            Ok(scim_json(
                StatusCode::OK,
                &crate::resources::list_response(s, n, 1),
            ))
        }
        (Method::GET, ["Schemas", id]) => {
            discovery::schemas(&call.base, call.app, call.service.roles(&call.app.name))
                .into_iter()
                .find(|s| s["id"] == *id)
                .map(|s| scim_json(StatusCode::OK, &s))
                .ok_or_else(|| ScimError::not_found(format!("no schema {id}")))
        }
        (Method::GET, ["Users"]) => users::list(call, None).await,
        (Method::POST, ["Users", ".search"]) => users::search(call).await,
        (Method::POST, ["Users"]) => users::create(call).await,
        (Method::GET, ["Users", id]) => users::get(call, id).await,
        (Method::PATCH, ["Users", id]) => users::patch(call, id).await,
        (Method::PUT, ["Users", id]) => users::replace(call, id).await,
        (Method::DELETE, ["Users", id]) => users::delete(call, id).await,
        (Method::POST, [".search"]) => Err(ScimError::not_implemented(
            "a search across resource types is not supported: POST /Users/.search or /Groups/.search",
        )),
        (Method::GET, ["Groups"]) => groups::list(call, None).await,
        (Method::POST, ["Groups", ".search"]) => groups::search(call).await,
        (Method::GET, ["Groups", id]) => groups::get(call, id).await,
        (Method::PATCH, ["Groups", id]) => groups::patch(call, id).await,
        (Method::POST | Method::PUT | Method::PATCH | Method::DELETE, ["Groups", ..]) => {
            Err(groups::unchangeable(call))
        }
        (
            _,
            ["ServiceProviderConfig" | "ResourceTypes" | "Schemas", ..] | ["Users" | "Groups", ..],
        ) => Err(ScimError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            format!("{method} is not allowed on /{rest}"),
        )),
        _ => Err(ScimError::not_found(format!("no SCIM endpoint /{rest}"))),
    }
}

/// Run `work` (filtering, sorting or paging a snapshot) on a blocking thread, at most
/// [`HEAVY_AT_ONCE`] at a time: a client's costly listing never stalls the threads that
/// answer everyone else, and a burst of them waits its turn.
pub async fn heavy<T: Send + 'static>(
    service: &Service,
    work: impl FnOnce() -> Result<T, ScimError> + Send + 'static,
) -> Result<T, ScimError> {
    let busy = || {
        ScimError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            "the service is stopping",
        )
    };
    let permit = service
        .heavy
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| busy())?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(|e| {
        ScimError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            format!("the listing failed: {e}"),
        )
    })?
}

/// A SCIM JSON answer.
pub fn scim_json(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    r
}

/// A single resource: its `ETag` header is its `meta.version` (RFC 7644 §3.14).
pub fn resource_answer(status: StatusCode, body: &Value) -> Response {
    let mut r = scim_json(status, body);
    if let Some(v) = body["meta"]["version"].as_str()
        && let Ok(v) = HeaderValue::from_str(v)
    {
        r.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Some(l) = body["meta"]["location"].as_str()
        && let Ok(l) = HeaderValue::from_str(l)
    {
        r.headers_mut().insert(header::LOCATION, l);
    }
    r
}
