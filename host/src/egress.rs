//! Sending one outbound request, in stages: **decide** (read the bounded body, then the pure
//! policy in `request_policy.rs`), **prepare** (the host's own headers and credentials,
//! `--connect-to`), **send** (count, concurrency, timeouts, size), and **answer hygiene**
//! (response headers by allowlist, identity-encoded JSON only, secrets blanked) before the
//! guest sees anything.

use crate::action_targets::ActionTargets;
use crate::answer_hygiene::answer_hygiene;
use crate::answer_projection::{ANSWER_FIELDS_HEADER, Projection};
use crate::audit::{AuditLog, RequestEvent};
use crate::credentials::{BoundCredential, Credential, Credentials, TokenEndpoint};
use crate::limits::{LimitExceeded, Limits};
use crate::request_observer::{Observed, RequestObserver};
pub use crate::request_policy::EgressPolicy;
use crate::request_policy::{Allowed, CallKind, Denial, Outbound, decide};
use crate::sync::lock;
use crate::upstream_connections::{UpstreamConnections, exchange_failed};
use crate::upstream_gate::{Answered, GatePermit, UpstreamGate};
pub use crate::vendor_policy::is_trusted;
use crate::write_fence::WriteFence;
use bytes::Bytes;
use http::header::{ACCEPT_ENCODING, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use http_body_util::{BodyExt, Full, Limited};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use wasmtime_wasi_http::{
    DEFAULT_FORBIDDEN_HEADERS, Error as HttpError, ForbiddenHeaderFilter, RequestOptions, WasiBody,
    WasiHttpHooks,
};

/// What happened to outbound traffic during one call.
#[derive(Debug, Default, Clone)]
pub struct CallTraffic {
    /// Requests the policy or a limit stopped, with the reason.
    pub violations: Vec<String>,
    /// A limit the host stopped a request at: the call fails with it, whatever the plugin says.
    pub limit: Option<LimitExceeded>,
    /// The last request that got no answer, and why, in words.
    pub network: Option<crate::network::NetworkFailure>,
    /// Why the caller's fence refused a write (none was sent from then on).
    pub fenced: Option<String>,
    /// Writes let through to be sent upstream (counted before sending: one that then got no
    /// answer still counts, so an action is never left unaudited for a write it may have made).
    pub writes_sent: u64,
    /// A credential the host could not attach (a token it could not mint), in words naming
    /// the client, never its secret: the call fails as unauthorized.
    pub unauthorized: Option<String>,
}

/// Refusals one call keeps for its error.
const MAX_NOTES: usize = 64;

/// Denied requests one call may make before it is stopped: a plugin that keeps asking for what
/// it may not have is not one to keep serving.
pub const MAX_DENIALS: u64 = 1000;

/// Per-call wasi-http hooks: one instance per `Store`, so per tenant call.
pub struct EgressHooks {
    shared: Arc<Shared>,
}

/// What every request of one call shares.
struct Shared {
    policy: Arc<EgressPolicy>,
    kind: CallKind,
    /// Answer bytes the host holds for this call until the guest has read them.
    buffered: Arc<std::sync::atomic::AtomicUsize>,
    credentials: Option<Arc<Credentials>>,
    /// The tenant's credentials for other hosts.
    bound: Vec<BoundCredential>,
    limits: Limits,
    tenant: String,
    sent: AtomicU64,
    denied: AtomicU64,
    in_flight: Arc<tokio::sync::Semaphore>,
    /// The connecting account's gate, shared with every other call for that account.
    gate: Option<Arc<UpstreamGate>>,
    /// The host's open connections.
    connections: UpstreamConnections,
    /// Asked before each write (fenced calls only).
    fence: Option<Arc<dyn WriteFence>>,
    /// Told of each request sent and how it ended.
    observer: Option<Arc<dyn RequestObserver>>,
    traffic: Arc<Mutex<CallTraffic>>,
    /// What the running action may write (empty outside actions).
    targets: Mutex<ActionTargets>,
    audit: Option<AuditLog>,
    /// Whether a refused minted token was minted again in this call: once per call, so a
    /// plugin that keeps asking where the token is refused cannot make the host mint on
    /// every request.
    reminted: std::sync::atomic::AtomicBool,
}

/// What a call's requests share with every other call of the host: the connecting account's
/// gate (when there is a tenant) and the open connections; the caller's fence, asked
/// before each write; and the host's request observer, told of each request sent.
pub struct Upstream {
    pub gate: Option<Arc<UpstreamGate>>,
    /// The tenant's credentials bound to hosts (tokens they mint are kept across calls).
    pub bound: Vec<BoundCredential>,
    pub connections: UpstreamConnections,
    pub fence: Option<Arc<dyn WriteFence>>,
    pub observer: Option<Arc<dyn RequestObserver>>,
}

impl EgressHooks {
    /// Hooks for one call; its requests take slots of its connecting account's gate and go
    /// out on the host's connections.
    pub fn new(
        policy: Arc<EgressPolicy>,
        credentials: Option<Arc<Credentials>>,
        limits: Limits,
        tenant: String,
        audit: Option<AuditLog>,
        kind: CallKind,
        upstream: Upstream,
    ) -> Self {
        let permits = limits.max_in_flight.max(1);
        let targets = ActionTargets::new(kind.action().map(|a| a.target.as_str()).unwrap_or(""));
        Self {
            shared: Arc::new(Shared {
                policy,
                kind,
                buffered: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
                credentials,
                bound: upstream.bound,
                limits,
                tenant,
                sent: AtomicU64::new(0),
                denied: AtomicU64::new(0),
                in_flight: Arc::new(tokio::sync::Semaphore::new(permits)),
                gate: upstream.gate,
                connections: upstream.connections,
                fence: upstream.fence,
                observer: upstream.observer,
                traffic: Arc::new(Mutex::new(CallTraffic::default())),
                targets: Mutex::new(targets),
                audit,
                reminted: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// Shared view of this call's traffic.
    pub fn traffic(&self) -> Arc<Mutex<CallTraffic>> {
        self.shared.traffic.clone()
    }
}

impl Shared {
    fn audit_denial(&self, method: &str, path: &str, denial: &Denial) {
        if let Some(a) = &self.audit {
            a.request(&RequestEvent {
                tenant: self.tenant.clone(),
                method: method.to_string(),
                host: String::new(),
                path: path.to_string(),
                status: None,
                duration_ms: 0.0,
                bytes: 0,
                error: Some(format!("{denial}")),
            });
        }
    }

    /// Note a refusal for the call's error; a call keeps at most `MAX_NOTES` of them.
    fn note(&self, why: String) {
        tracing::warn!(tenant = %self.tenant, "outbound request refused: {why}");
        let mut traffic = lock(&self.traffic);
        match traffic.violations.len() {
            n if n < MAX_NOTES => traffic.violations.push(why),
            MAX_NOTES => traffic
                .violations
                .push("further refusals of this call are not listed".into()),
            _ => {}
        }
    }

    fn connecting_account(&self) -> String {
        self.credentials
            .as_ref()
            .map(|c| c.account_sid().to_string())
            .unwrap_or_default()
    }
}

type SendOutput = Result<
    (
        http::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ),
    HttpError,
>;
type SendFuture = Box<dyn Future<Output = SendOutput> + Send>;

/// Request headers the host removes before sending (the guest may not set them either).
const STRIPPED_HEADERS: &[&str] = &[
    "range",
    "if-range",
    "te",
    "expect",
    "accept-encoding",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// Headers the guest may never set: wasi's defaults plus credentials, cookies and the
/// representation controls the host owns.
fn forbidden(name: &HeaderName) -> bool {
    DEFAULT_FORBIDDEN_HEADERS.contains(name)
        || name == AUTHORIZATION
        || STRIPPED_HEADERS.contains(&name.as_str())
        || name.as_str() == "cookie"
        || name.as_str() == "proxy-authorization"
        // Webhook signature headers (e.g. a vendor's `X-…-Signature`) are the upstream's to set.
        || name.as_str().ends_with("-signature")
}

impl WasiHttpHooks for EgressHooks {
    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        Arc::new(forbidden)
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        let shared = self.shared.clone();
        Box::new(async move {
            // A slot first: what the host holds of request bodies is bounded by the in-flight
            // limit, not by how many requests the plugin starts.
            let _permit = shared
                .in_flight
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| HttpError::InternalError(None))?;
            let (request, host, write, projection) = shared.decide(request).await?;
            if write {
                shared.fence_write().await?;
            }
            // The guest's own timeouts are not asked for: the host's limit bounds every
            // request, from connect to the answer's last byte.
            let _ = options;
            let credential = shared.credential_for(&host);
            let mut retried = false;
            loop {
                let (prepared, sent_auth) = shared
                    .prepare(clone_request(&request), &host, credential.as_deref())
                    .await?;
                let (parts, body) = shared.send(prepared, &host).await?;
                // A refused minted token is minted again, and the request sent once more (a
                // 401 was not processed upstream).
                if parts.status == http::StatusCode::UNAUTHORIZED
                    && !retried
                    && let (Some(c), Some(sent)) = (&credential, &sent_auth)
                    && !shared.reminted.swap(true, Ordering::SeqCst)
                    && c.refused(sent)
                {
                    retried = true;
                    continue;
                }
                return shared.answer(parts, body, &host, projection.as_ref());
            }
        })
    }
}

impl Shared {
    /// Stage 1: read the body (bounded), then let the policy decide. A write it allows is
    /// remembered, so the next one is judged with it.
    async fn decide(
        &self,
        request: http::Request<WasiBody>,
    ) -> Result<(http::Request<Bytes>, String, bool, Option<Projection>), HttpError> {
        let method = crate::request_policy::truncated(request.method().as_str());
        let path = crate::request_policy::truncated(request.uri().path());
        // Every attempt counts against the call's request limit, allowed or not.
        let n = self.sent.fetch_add(1, Ordering::SeqCst) + 1;
        if n > self.limits.max_requests {
            self.note(format!(
                "request limit reached: more than {} outbound requests in one call",
                self.limits.max_requests
            ));
            return Err(HttpError::ConnectionLimitReached);
        }
        let (mut parts, body) = request.into_parts();
        // Read before the policy, which remembers a write it allows: a request refused here
        // was never allowed.
        let projection = self.projection(&mut parts)?;
        // A body the guest never finishes waits no longer than one request may.
        let collected = tokio::time::timeout(
            self.limits.request_timeout,
            Limited::new(body, self.limits.max_request_bytes).collect(),
        )
        .await
        .map_err(|_| {
            self.note(format!(
                "{method} {path}: the request body was never finished"
            ));
            HttpError::HttpRequestBodySize(None)
        })?;
        let body = match collected {
            Ok(b) => b.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                let limit = LimitExceeded::RequestBody {
                    limit_bytes: self.limits.max_request_bytes,
                };
                self.note(format!("{method} {path}: {limit}; nothing was sent"));
                lock(&self.traffic).limit = Some(limit);
                return Err(HttpError::HttpRequestBodySize(Some(
                    self.limits.max_request_bytes as u64,
                )));
            }
            Err(_) => return Err(HttpError::HttpRequestBodySize(None)),
        };
        let content_type = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let verdict = {
            let mut targets = lock(&self.targets);
            let verdict = decide(
                &self.kind,
                &self.policy,
                &self.connecting_account(),
                &targets,
                Outbound {
                    method: &parts.method,
                    uri: &parts.uri,
                    content_type: content_type.as_deref(),
                    body: &body,
                },
            );
            if let Ok(Allowed::Write { target, .. }) = &verdict {
                targets.record(target);
            }
            verdict
        };
        let mut parts = parts;
        let write = matches!(verdict, Ok(Allowed::Write { .. }));
        match verdict {
            Err(denial) => {
                let denied = self.denied.fetch_add(1, Ordering::SeqCst) + 1;
                if denied > MAX_DENIALS {
                    lock(&self.traffic).limit = Some(LimitExceeded::Denials { max: MAX_DENIALS });
                    return Err(HttpError::HttpRequestDenied);
                }
                // However long the request, what is kept of its refusal is bounded.
                let denial = crate::request_policy::Denial {
                    detail: crate::request_policy::truncated(&denial.detail),
                    ..denial
                };
                self.audit_denial(&method, &path, &denial);
                self.note(format!("egress {denial}"));
                return Err(HttpError::HttpRequestDenied);
            }
            Ok(Allowed::Write {
                media_type: Some(m),
                ..
            }) => {
                parts
                    .headers
                    .insert(CONTENT_TYPE, HeaderValue::from_static(m));
            }
            Ok(_) => {}
        }
        let host = self.policy.check(&parts.uri).map_err(|why| {
            self.note(format!("egress denied: {method} {why}"));
            HttpError::HttpRequestDenied
        })?;
        Ok((
            http::Request::from_parts(parts, body),
            host,
            write,
            projection,
        ))
    }

    /// Before a write: the caller's fence, when it has one, must still let it write. Once it
    /// refused, no write of this call goes out; each one sent is counted.
    async fn fence_write(&self) -> Result<(), HttpError> {
        if lock(&self.traffic).fenced.is_some() {
            return Err(HttpError::HttpRequestDenied);
        }
        if let Some(fence) = &self.fence
            && let Err(why) = fence.check().await
        {
            self.note(format!("write not sent: {why}"));
            lock(&self.traffic).fenced = Some(why);
            return Err(HttpError::HttpRequestDenied);
        }
        lock(&self.traffic).writes_sent += 1;
        Ok(())
    }

    /// The credential requests to `host` carry: one bound to it, else the tenant's main one.
    fn credential_for(&self, host: &str) -> Option<Arc<dyn Credential>> {
        match self.bound.iter().find(|b| b.serves(host)) {
            Some(b) => Some(b.credential.clone()),
            None => self.credentials.clone().map(|c| c as Arc<dyn Credential>),
        }
    }

    /// Every form of the tenant's secrets, as they are now (a token minted during the call
    /// included).
    fn secret_forms(&self) -> Vec<String> {
        let mut forms = self
            .credentials
            .as_deref()
            .map(Credentials::secret_forms)
            .unwrap_or_default();
        for b in &self.bound {
            forms.extend(b.credential.secret_forms());
        }
        forms
    }

    /// What the guest asked to keep of the answer ([`ANSWER_FIELDS_HEADER`]), taken off the
    /// request: it is the host's to read and never goes upstream. A value the host cannot read
    /// refuses the request, so a plugin learns its mistake instead of reading whole answers.
    fn projection(
        &self,
        request: &mut http::request::Parts,
    ) -> Result<Option<Projection>, HttpError> {
        let values: Vec<HeaderValue> = match request.headers.entry(ANSWER_FIELDS_HEADER) {
            http::header::Entry::Occupied(e) => e.remove_entry_mult().1.collect(),
            http::header::Entry::Vacant(_) => return Ok(None),
        };
        let refuse = |why: String| {
            let path = crate::request_policy::truncated(request.uri.path());
            self.note(format!("{path}: {ANSWER_FIELDS_HEADER} refused: {why}"));
            HttpError::HttpRequestDenied
        };
        let [value] = values.as_slice() else {
            return Err(refuse(format!("given {} times", values.len())));
        };
        let text = value
            .to_str()
            .map_err(|_| refuse("not visible ASCII".into()))?;
        text.parse::<Projection>()
            .map(Some)
            .map_err(|e| refuse(e.to_string()))
    }

    /// Stage 2: the host's own headers (credentials, `Host`, one plain representation) and,
    /// with `--connect-to`, the address it really goes to; the `Authorization` value sent.
    async fn prepare(
        &self,
        mut request: http::Request<Bytes>,
        host: &str,
        credential: Option<&dyn Credential>,
    ) -> Result<(http::Request<Bytes>, Option<String>), HttpError> {
        let authorization = match credential {
            Some(c) => match c.authorization(self).await {
                Ok(v) => Some(v),
                Err(e) => {
                    let why = e.to_string();
                    self.note(format!("no credential for {host}: {why}"));
                    lock(&self.traffic).unauthorized = Some(why);
                    return Err(HttpError::HttpRequestDenied);
                }
            },
            None => None,
        };
        let headers = request.headers_mut();
        // Credentials are the host's: whatever the guest tried, only the tenant's own go out.
        headers.remove(AUTHORIZATION);
        headers.remove("proxy-authorization");
        headers.remove("cookie");
        for h in STRIPPED_HEADERS {
            headers.remove(*h);
        }
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        if let Some(a) = &authorization {
            let mut v = HeaderValue::from_str(a).map_err(|_| {
                self.note("credentials are not a valid header value".into());
                HttpError::HttpRequestDenied
            })?;
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
        if let Ok(v) = HeaderValue::from_str(host) {
            headers.insert(HOST, v);
        }
        let len = request.body().len();
        if len > 0 || request.method() != http::Method::GET {
            request
                .headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(len));
        }
        self.connect_to(&mut request)?;
        Ok((request, authorization))
    }

    /// With `--connect-to`, the address a request really goes to.
    fn connect_to(&self, request: &mut http::Request<Bytes>) -> Result<(), HttpError> {
        if let Some(to) = &self.policy.connect_to {
            let pq = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
                .to_string();
            *request.uri_mut() = Uri::builder()
                .scheme("http")
                .authority(to.authority())
                .path_and_query(pq)
                .build()
                .map_err(|_| {
                    self.note("cannot build the --connect-to URI".into());
                    HttpError::HttpRequestUriInvalid
                })?;
        }
        Ok(())
    }

    /// Stage 3: send under the call's concurrency, time and size limits, and the account's
    /// gate, and audit it (and tell the observer).
    async fn send(
        &self,
        request: http::Request<Bytes>,
        host: &str,
    ) -> Result<(http::response::Parts, Bytes), HttpError> {
        let limits = &self.limits;
        let method = request.method().to_string();
        let path = request.uri().path().to_string();
        // The account's slot, held until the answer is read: the wait for it is not the
        // request's time.
        let slot: Option<GatePermit> = match &self.gate {
            Some(gate) => Some(gate.acquire().await),
            None => None,
        };
        let started = Instant::now();
        let observed = Observed::start(self.observer.as_ref());
        let outcome = tokio::time::timeout(
            limits.request_timeout,
            fetch(&self.connections, request, limits.max_response_bytes),
        )
        .await
        .unwrap_or(Err(HttpError::HttpResponseTimeout));
        if let Some(slot) = slot {
            slot.finish(self.answered(&outcome));
        }
        let (status, bytes) = match &outcome {
            Ok((parts, body)) => (Some(parts.status.as_u16()), body.len()),
            Err(_) => (None, 0),
        };
        observed.finish(status);
        let target = match &self.policy.connect_to {
            Some(to) => to.authority(),
            None => format!("{host}:443"),
        };
        let failure = outcome.as_ref().err().and_then(|e| {
            crate::network::NetworkFailure::classify(e, host, &target, limits.request_timeout)
        });
        if let Some(f) = &failure {
            lock(&self.traffic).network = Some(f.clone());
        }
        if let Some(a) = &self.audit {
            a.request(&RequestEvent {
                tenant: self.tenant.clone(),
                method,
                host: host.to_string(),
                path,
                status,
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                bytes,
                error: outcome.as_ref().err().map(|e| match &failure {
                    Some(f) => f.to_string(),
                    None => e.to_string(),
                }),
            });
        }
        if let Err(HttpError::HttpResponseBodySize(_)) = &outcome {
            lock(&self.traffic).violations.push(format!(
                "response from {host} exceeded the {} byte limit",
                limits.max_response_bytes
            ));
        }
        outcome
    }

    /// What the account's gate learns from an answer: a 429 or a success, each with the
    /// upstream's count of the account's requests in flight (when the vendor policy names its
    /// header), or nothing (no answer, any other status).
    fn answered(&self, outcome: &Result<(http::response::Parts, Bytes), HttpError>) -> Answered {
        let Ok((parts, _)) = outcome else {
            return Answered::Unknown;
        };
        let reported = self.policy.vendor.concurrency_header().and_then(|name| {
            let value = parts.headers.get(name)?.to_str().ok()?;
            value.trim().parse::<u32>().ok()
        });
        // Only a success says the account's requests are being served; a refusal of the
        // credentials (401/403), a missing resource or a server error says nothing of the
        // account's limit, and a tenant with bad credentials must not teach it anything.
        if parts.status == http::StatusCode::TOO_MANY_REQUESTS {
            Answered::Throttled { reported }
        } else if parts.status.is_success() {
            Answered::Accepted { reported }
        } else {
            Answered::Unknown
        }
    }

    /// Stage 4: what the guest may see of the answer, held against its memory budget until
    /// it reads it.
    fn answer(
        &self,
        mut parts: http::response::Parts,
        body: Bytes,
        host: &str,
        projection: Option<&Projection>,
    ) -> SendOutput {
        let forms = self.secret_forms();
        // Narrowed first, so the hygiene below judges exactly what the guest will read; a page
        // the projection does not fit is judged whole.
        let body = match projection.and_then(|p| p.apply(&body)) {
            // Counted below by its length: no spare capacity is held beside it.
            Some(mut narrow) => {
                narrow.shrink_to_fit();
                Bytes::from(narrow)
            }
            None => body,
        };
        let body = answer_hygiene(&parts, body, &forms, self.policy.vendor.secret_fields())
            .map_err(|why| {
                lock(&self.traffic)
                    .violations
                    .push(format!("answer from {host} refused: {why}"));
                HttpError::HttpResponseContentCoding(Some(why))
            })?;
        parts.headers = allowed_headers(&parts.headers, &self.policy, &forms);
        if self.kind.may_write() && parts.status.is_success() {
            lock(&self.targets).observe(
                &body,
                self.policy.vendor.identity_fields(),
                self.policy.vendor.identity_links(),
                self.policy.vendor.held_fields(),
            );
        }
        let n = body.len();
        let held = self.buffered.fetch_add(n, Ordering::SeqCst) + n;
        if held > self.limits.memory_bytes {
            self.buffered.fetch_sub(n, Ordering::SeqCst);
            lock(&self.traffic).violations.push(format!(
                "answers held for the guest would exceed its {} MiB memory budget",
                self.limits.memory_bytes >> 20
            ));
            return Err(HttpError::HttpResponseBodySize(Some(n as u64)));
        }
        parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(n));
        let body: WasiBody = CountedBody {
            inner: Full::new(body),
            counter: self.buffered.clone(),
            n,
        }
        .map_err(|never| match never {})
        .boxed_unsync();
        let io: Box<dyn Future<Output = Result<(), HttpError>> + Send> = Box::new(async { Ok(()) });
        Ok((http::Response::from_parts(parts, body), io))
    }
}

/// The response headers that reach the guest: those the vendor policy names (and what any
/// body needs), each with every form of the tenant's secret blanked.
pub fn allowed_headers(headers: &HeaderMap, policy: &EgressPolicy, forms: &[String]) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in headers {
        if !policy.vendor.passes_response_header(name.as_str()) {
            continue;
        }
        let mut text = String::from_utf8_lossy(value.as_bytes()).into_owned();
        for f in forms {
            if text.contains(f.as_str()) {
                text = text.replace(f.as_str(), "[redacted]");
            }
        }
        if let Ok(v) = HeaderValue::from_str(&text) {
            out.append(name.clone(), v);
        }
    }
    out
}

/// An answer body that gives its bytes back to the call's budget when the guest drops it.
struct CountedBody {
    inner: Full<Bytes>,
    counter: Arc<std::sync::atomic::AtomicUsize>,
    n: usize,
}

impl Drop for CountedBody {
    fn drop(&mut self) {
        self.counter.fetch_sub(self.n, Ordering::SeqCst);
    }
}

impl hyper::body::Body for CountedBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// Send on the host's connections and read the whole answer, refusing bodies over `cap`
/// bytes (a refused answer's connection is closed, not reused).
/// A copy of a collected request, to send it again.
fn clone_request(r: &http::Request<Bytes>) -> http::Request<Bytes> {
    let mut c = http::Request::new(r.body().clone());
    *c.method_mut() = r.method().clone();
    *c.uri_mut() = r.uri().clone();
    *c.version_mut() = r.version();
    *c.headers_mut() = r.headers().clone();
    c
}

/// The host's own requests to a token URL: the credential's, never a plugin route; bounded
/// in time and size like every request, audited without its body.
impl TokenEndpoint for Shared {
    fn post_form<'a>(&'a self, url: &'a str, form: String) -> crate::oauth::FormAnswer<'a> {
        Box::pin(async move {
            let uri: Uri = url.parse().map_err(|_| format!("{url} is not a URL"))?;
            let host = uri.host().unwrap_or_default().to_string();
            let mut request = http::Request::new(Bytes::from(form));
            *request.method_mut() = http::Method::POST;
            *request.uri_mut() = uri.clone();
            let h = request.headers_mut();
            h.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            h.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
            if let Ok(v) = HeaderValue::from_str(&host) {
                h.insert(HOST, v);
            }
            let len = request.body().len();
            request
                .headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(len));
            self.connect_to(&mut request)
                .map_err(|_| "cannot build the --connect-to URI".to_string())?;
            let started = Instant::now();
            let outcome = tokio::time::timeout(
                self.limits.request_timeout,
                fetch(&self.connections, request, crate::oauth::MAX_ANSWER_BYTES),
            )
            .await
            .unwrap_or(Err(HttpError::HttpResponseTimeout));
            if let Some(a) = &self.audit {
                a.request(&RequestEvent {
                    tenant: self.tenant.clone(),
                    method: "POST".into(),
                    host: host.clone(),
                    path: uri.path().to_string(),
                    status: outcome.as_ref().ok().map(|(p, _)| p.status.as_u16()),
                    duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                    bytes: outcome.as_ref().map(|(_, b)| b.len()).unwrap_or(0),
                    error: outcome.as_ref().err().map(|e| e.to_string()),
                });
            }
            let (parts, body) = outcome.map_err(|e| e.to_string())?;
            Ok((parts.status.as_u16(), body.to_vec()))
        })
    }
}

async fn fetch(
    connections: &UpstreamConnections,
    request: http::Request<Bytes>,
    cap: usize,
) -> Result<(http::response::Parts, Bytes), HttpError> {
    let response = connections.send(request).await?;
    let (parts, mut body) = response.into_parts();
    let announced = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > cap) {
        return Err(HttpError::HttpResponseBodySize(Some(cap as u64)));
    }
    // Room for the announced length at once (within the cap): a large answer is copied once,
    // not again at every doubling of its buffer.
    let mut buf = bytes::BytesMut::with_capacity(announced.unwrap_or(0));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| exchange_failed(&e))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > cap {
                return Err(HttpError::HttpResponseBodySize(Some(cap as u64)));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok((parts, buf.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> EgressPolicy {
        let vendor =
            crate::vendor_policy::VendorPolicy::new(crate::vendor_policy::VendorPolicySpec {
                trusted_hosts: vec![".twilio.com".into(), "other.example".into()],
                id_shape: crate::vendor_policy::tests::IDS,
                routes: vec![],
                forbidden_segments: vec![],
                identity_fields: vec![],
                identity_links: vec![],
                response_headers: vec!["retry-after".into()],
                secret_fields: vec![],
                concurrency_header: None,
                first_in_flight: None,
                configured_placeholders: vec![],
            })
            .unwrap();
        EgressPolicy::new(
            Arc::new(vendor),
            &[
                "api.twilio.com".into(),
                "evil.example".into(),
                "x.twilio.com@evil".into(),
                "eviltwilio.com".into(),
            ],
            Vec::new(),
            None,
        )
    }

    #[test]
    fn untrusted_declared_hosts_are_dropped() {
        assert_eq!(policy().allowed_hosts, vec!["api.twilio.com".to_string()]);
    }

    #[test]
    fn only_https_to_allowed_hosts() {
        let p = policy();
        assert!(
            p.check(
                &"https://api.twilio.com/2010-04-01/Accounts.json"
                    .parse()
                    .unwrap()
            )
            .is_ok()
        );
        for bad in [
            "http://api.twilio.com/x",
            "https://evil.example/x",
            "https://api.twilio.com:8443/x",
            "https://user@api.twilio.com/x",
            "https://taskrouter.twilio.com/v1/Workspaces",
        ] {
            assert!(p.check(&bad.parse().unwrap()).is_err(), "{bad}");
        }
    }

    fn tenant() -> Credentials {
        Credentials::AuthToken {
            account_sid: "AC1".into(),
            auth_token: "my-secret/token+1".into(),
        }
    }

    #[test]
    fn only_allowlisted_response_headers_pass_and_secrets_are_blanked_in_them() {
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert("retry-after", HeaderValue::from_static("2"));
        h.insert("set-cookie", HeaderValue::from_static("s=1"));
        h.insert("x-echo", HeaderValue::from_static("my-secret/token+1"));
        h.append("Retry-After", HeaderValue::from_static("my-secret/token+1"));
        let out = allowed_headers(&h, &policy(), &tenant().secret_forms());
        assert!(out.get("set-cookie").is_none() && out.get("x-echo").is_none());
        assert_eq!(out.get("content-type").unwrap(), "application/json");
        let retry: Vec<_> = out.get_all("retry-after").iter().collect();
        assert_eq!(retry, ["2", "[redacted]"]);
    }

    #[test]
    fn guest_cannot_set_credentials() {
        assert!(forbidden(&AUTHORIZATION));
        assert!(forbidden(&HOST));
        assert!(forbidden(&HeaderName::from_static("proxy-authorization")));
        assert!(forbidden(&HeaderName::from_static("cookie")));
        assert!(!forbidden(&http::header::CONTENT_TYPE));
        for h in [
            "range",
            "te",
            "expect",
            "accept-encoding",
            "x-http-method-override",
        ] {
            assert!(forbidden(&HeaderName::from_static(h)), "{h}");
        }
    }
}
