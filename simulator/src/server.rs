//! The HTTP server: loopback only, routes on the `Host` header, checks Basic auth, applies
//! faults and keeps a log of every request it saw.

use crate::auth::{self, Caller};
use crate::faults::{Fault, FaultRule, Faults};
use crate::fixture::Fixture;
use crate::form::parse_form;
use crate::hosts;
use crate::state::{Answer, Reply, State, error, not_found};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// One request as the simulator saw it (never the secret itself).
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub n: u64,
    pub method: String,
    pub host: String,
    pub path: String,
    pub query: String,
    /// The Basic-auth user (AC... or SK...), if any.
    pub user: Option<String>,
    /// Whether the credentials were accepted.
    pub authenticated: bool,
    pub body: String,
    pub status: u16,
    /// The `Content-Length` the request declared, if any.
    pub content_length: Option<u64>,
    /// Whether the body came with `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// The names of the headers it carried (lowercase), so a test can tell what reached the
    /// upstream besides what Twilio reads.
    pub header_names: Vec<String>,
    /// When the request arrived.
    pub received: std::time::Instant,
    /// When its answer (or refusal) was ready to go, latency included.
    pub answered: std::time::Instant,
}

struct Shared {
    state: Mutex<State>,
    faults: Mutex<Faults>,
    log: Mutex<Vec<RecordedRequest>>,
    counter: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    /// Requests being processed per account while [`Faults::concurrency_limit`] is on.
    per_account: Mutex<HashMap<String, u64>>,
    /// Requests the concurrency limit answered 429.
    throttled: AtomicU64,
    /// Most requests of one account admitted at the same time under the concurrency limit.
    peak_admitted: AtomicU64,
    /// Body bytes of every answer served (what a connector had to read).
    bytes_served: AtomicU64,
}

/// The `Twilio-Concurrent-Requests` response header (see [`Faults::concurrency_limit`]).
const CONCURRENT_REQUESTS: &str = "twilio-concurrent-requests";

/// What the concurrency limit mode ([`Faults::concurrency_limit`]) did since the simulator
/// started or [`Simulator::clear_requests`] was last called.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConcurrencyStats {
    /// Requests it answered 429 with Twilio error 20429.
    pub throttled: u64,
    /// Most requests of one account it let be processed at the same time (at most the limit).
    pub peak_in_flight: u64,
}

/// One of an account's request slots under [`Faults::concurrency_limit`], given back when
/// dropped: when the answer is done, and also when the client drops the connection mid-request
/// (the server then drops the handler's future, and with it this guard).
struct AccountSlot<'a> {
    shared: &'a Shared,
    account: String,
}

impl<'a> AccountSlot<'a> {
    /// A slot for `account` unless `limit` requests of it are in flight. Either way, the
    /// number of its requests in flight counting this one.
    fn take(shared: &'a Shared, account: &str, limit: usize) -> Result<(Self, u64), u64> {
        let mut counts = lock(&shared.per_account);
        let now = counts.get(account).copied().unwrap_or(0);
        if now >= limit as u64 {
            return Err(now + 1);
        }
        counts.insert(account.to_string(), now + 1);
        shared.peak_admitted.fetch_max(now + 1, Ordering::SeqCst);
        let slot = Self {
            shared,
            account: account.to_string(),
        };
        Ok((slot, now + 1))
    }
}

impl Drop for AccountSlot<'_> {
    fn drop(&mut self) {
        let mut counts = lock(&self.shared.per_account);
        if let Some(n) = counts.get_mut(&self.account) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.account);
            }
        }
    }
}

/// Counts a request as in flight until dropped.
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A running simulator.
pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in one handler must not take the whole simulator down with poisoned locks.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Simulator {
    /// Start serving `fixture` on `listen` (a loopback address; port 0 picks one).
    pub async fn start(fixture: Fixture, listen: &str) -> anyhow::Result<Self> {
        let addr: SocketAddr = listen
            .parse()
            .map_err(|e| anyhow::anyhow!("--listen {listen:?} is not an IP:PORT address ({e})"))?;
        if !addr.ip().is_loopback() {
            anyhow::bail!(
                "the simulator only listens on loopback (127.0.0.1 or ::1), not {}",
                addr.ip()
            );
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(fixture)),
            faults: Mutex::new(Faults::default()),
            log: Mutex::new(Vec::new()),
            counter: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            per_account: Mutex::new(HashMap::new()),
            throttled: AtomicU64::new(0),
            peak_admitted: AtomicU64::new(0),
            bytes_served: AtomicU64::new(0),
        });
        let app = axum::Router::new()
            .fallback(dispatch)
            .with_state(shared.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            shared,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request seen so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).clone()
    }

    /// Forget the request log (and the concurrency high-water marks and the count of requests
    /// the concurrency limit throttled).
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
        self.shared.max_in_flight.store(0, Ordering::SeqCst);
        self.shared.throttled.store(0, Ordering::SeqCst);
        self.shared.peak_admitted.store(0, Ordering::SeqCst);
        self.shared.bytes_served.store(0, Ordering::SeqCst);
    }

    /// What the concurrency limit mode ([`Faults::concurrency_limit`]) did so far.
    pub fn concurrency_stats(&self) -> ConcurrencyStats {
        ConcurrencyStats {
            throttled: self.shared.throttled.load(Ordering::SeqCst),
            peak_in_flight: self.shared.peak_admitted.load(Ordering::SeqCst),
        }
    }

    /// Body bytes of the answers served since the log was last cleared.
    pub fn bytes_served(&self) -> u64 {
        self.shared.bytes_served.load(Ordering::SeqCst)
    }

    /// Requests that have arrived since the simulator started, answered or not.
    pub fn arrived(&self) -> u64 {
        self.shared.counter.load(Ordering::SeqCst)
    }

    /// Requests that have arrived and are not answered yet (their latency still running).
    pub fn in_flight(&self) -> u64 {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// Most requests that were being answered at the same time.
    pub fn max_concurrent(&self) -> u64 {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Change fault settings.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.shared.faults)
    }

    /// Add a one-off fault rule.
    pub fn inject(&self, rule: FaultRule) {
        self.faults().rules.push_back(rule);
    }

    /// Read the state (e.g. to check what an action changed).
    pub fn with_fixture<R>(&self, f: impl FnOnce(&Fixture) -> R) -> R {
        f(&lock(&self.shared.state).fixture)
    }

    /// Change the state as Twilio's would change between two syncs (e.g. new usage).
    pub fn update_fixture<R>(&self, f: impl FnOnce(&mut Fixture) -> R) -> R {
        let mut state = lock(&self.shared.state);
        state.usage_answers.clear();
        f(&mut state.fixture)
    }

    /// The main account's SID and auth token (what a tenant would configure).
    pub fn main_credentials(&self) -> (String, String) {
        self.with_fixture(|f| {
            (
                f.main_account_sid.clone(),
                f.main_auth_token().unwrap_or_default(),
            )
        })
    }

    /// Every secret the simulated tenant holds (each account's auth token, each API key's
    /// secret, each OAuth client's secret and every access token minted): what no output, log
    /// or plugin answer may ever contain.
    pub fn secrets(&self) -> Vec<String> {
        let state = lock(&self.shared.state);
        let f = &state.fixture;
        let tokens = f.accounts.iter().filter_map(|a| a["auth_token"].as_str());
        let keys = f.api_keys.iter().filter_map(|k| k["secret"].as_str());
        let clients = f.oauth_clients.iter().map(|c| c.client_secret.as_str());
        tokens
            .chain(keys)
            .chain(clients)
            .chain(state.tokens.values())
            .map(str::to_string)
            .collect()
    }

    /// The first OAuth client's id and secret (what a tenant of the organization APIs would
    /// configure), if the fixture has one.
    pub fn oauth_credentials(&self) -> Option<(String, String)> {
        self.with_fixture(|f| {
            f.oauth_clients
                .first()
                .map(|c| (c.client_id.clone(), c.client_secret.clone()))
        })
    }

    /// The first organization's SID, if the fixture has one.
    pub fn organization_sid(&self) -> Option<String> {
        self.with_fixture(|f| f.organizations.first().map(|o| o.sid.clone()))
    }

    /// Let every OAuth access token minted so far expire now (tokens otherwise last an hour);
    /// the next request with one is answered 401.
    pub fn expire_tokens(&self) {
        lock(&self.shared.state).tokens.expire_all();
    }

    /// How many OAuth access tokens the token URLs have minted since the simulator started.
    pub fn tokens_minted(&self) -> u64 {
        lock(&self.shared.state).tokens.minted()
    }

    /// Stop serving and wait for the server task.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

async fn dispatch(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    req: Request,
) -> Response {
    let n = shared.counter.fetch_add(1, Ordering::SeqCst) + 1;
    let _in_flight = InFlight::enter(&shared);
    let (parts, body) = req.into_parts();
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .split(':')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let received = std::time::Instant::now();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let content_length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.trim().parse::<u64>().ok());
    let chunked = parts
        .headers
        .get(header::TRANSFER_ENCODING)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.to_ascii_lowercase().contains("chunked"));
    let query_text = parts.uri.query().unwrap_or("").to_string();
    let header_names: Vec<String> = parts
        .headers
        .keys()
        .map(|k| k.as_str().to_string())
        .collect();
    let auth_header = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let body_text = String::from_utf8_lossy(&body).into_owned();
    let if_match = parts
        .headers
        .get(header::IF_MATCH)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let oauth_host = hosts::OAUTH_AUTHENTICATED.contains(&host.as_str());

    let (caller, main_account, oauth_caller) = {
        let state = lock(&shared.state);
        (
            auth::check(auth_header.as_deref(), &state.accepted),
            state.fixture.main_account_sid.clone(),
            oauth_host.then(|| {
                crate::oauth::who(&state, &host, &path, auth_header.as_deref(), &body_text)
            }),
        )
    };
    let (user, authenticated) = match (&caller, oauth_caller) {
        // OAuth hosts: the client id, and whether its credentials or its token were accepted
        // (a Basic credential is never accepted there).
        (Caller::Valid(u) | Caller::Invalid(u), Some((None, _))) => (Some(u.clone()), false),
        (_, Some(who)) => who,
        (Caller::Valid(u), None) => (Some(u.clone()), true),
        (Caller::Invalid(u), None) => (Some(u.clone()), false),
        (Caller::Missing, None) => (None, false),
    };
    let record = |status: u16| RecordedRequest {
        n,
        method: method.clone(),
        host: host.clone(),
        path: path.clone(),
        query: query_text.clone(),
        user: user.clone(),
        authenticated,
        body: body_text.clone(),
        status,
        content_length,
        chunked,
        header_names: header_names.clone(),
        received,
        answered: std::time::Instant::now(),
    };

    let (limit, echo_in) = {
        let f = lock(&shared.faults);
        (f.concurrency_limit, f.echo_authorization_in.clone())
    };
    let echoed = |mut response: Response, concurrent: Option<u64>| {
        echo_authorization(&mut response, &echo_in, auth_header.as_deref());
        if let Some(count) = concurrent {
            response
                .headers_mut()
                .insert(CONCURRENT_REQUESTS, HeaderValue::from(count));
        }
        response
    };
    // The account whose requests this one counts with under the concurrency limit.
    let account = match (&caller, user.as_deref()) {
        (Caller::Valid(u), _) if u.starts_with("SK") => main_account.as_str(),
        (_, Some(u)) => u,
        (_, None) => "",
    };
    // The slot is held until the answer is done (see `AccountSlot`).
    let (_slot, concurrent) = match limit.map(|l| AccountSlot::take(&shared, account, l)) {
        None => (None, None),
        Some(Ok((slot, count))) => (Some(slot), Some(count)),
        Some(Err(count)) => {
            shared.throttled.fetch_add(1, Ordering::SeqCst);
            let response = fault_response(&Fault::RateLimit {
                retry_after_secs: None,
            });
            lock(&shared.log).push(record(response.status().as_u16()));
            return echoed(response, Some(count));
        }
    };

    let (latency, fault) = {
        let mut f = lock(&shared.faults);
        (f.latency, f.take(n, &method, &path))
    };
    // The answer leaves `latency` after the request arrived. A read is answered from the
    // state at arrival and built while the latency runs, so the simulator's own work does not
    // lengthen the round trip a benchmark measures; a write (or a fault) waits first and then
    // changes the state, so a client that gives up during the latency changed nothing.
    let answer_at = received + latency;
    let read_first = method == "GET" && fault.is_none();
    if !read_first && !latency.is_zero() {
        crate::precise_timer::sleep_until(answer_at).await;
    }
    let fault = match fault {
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        f => f,
    };
    if let Some(f) = fault {
        let response = fault_response(&f);
        lock(&shared.log).push(record(response.status().as_u16()));
        return echoed(response, concurrent);
    }

    let reply: Reply = if !hosts::ALL.contains(&host.as_str()) {
        not_found(&format!("//{host}{path}")).into()
    } else if !authenticated && !oauth_host {
        error(401, 20003, "Authenticate").into()
    } else {
        let query = parse_form(&query_text);
        // SCIM bodies come as `application/scim+json` too (twilio_iam_organizations.json,
        // the SCIM operations' requestBody).
        let json_body: Option<Value> = (content_type.starts_with("application/json")
            || content_type.starts_with("application/scim+json"))
        .then(|| serde_json::from_slice(&body).ok())
        .flatten();
        let form = if json_body.is_none() {
            parse_form(&body_text)
        } else {
            BTreeMap::new()
        };
        let mut state = lock(&shared.state);
        if method != "GET" {
            state.usage_answers.clear();
        }
        match host.as_str() {
            hosts::API => {
                let caller = user.clone().unwrap_or_default();
                crate::api2010::handle(&mut state, &caller, &method, &path, &query, &form)
            }
            hosts::TASKROUTER => {
                crate::taskrouter::handle(&mut state, &method, &path, &query).into()
            }
            hosts::FLEX_API => {
                crate::flex_api::handle(&mut state, &method, &path, &query, json_body.as_ref())
                    .into()
            }
            hosts::FRONTLINE_API => {
                crate::frontline::handle(&mut state, &method, &path, &form).into()
            }
            hosts::OAUTH | hosts::PREVIEW_IAM => {
                let request = crate::organization::OrgRequest {
                    method: &method,
                    path: &path,
                    authorization: auth_header.as_deref(),
                    if_match: if_match.as_deref(),
                    query: &query,
                    form: &form,
                    json: json_body.as_ref(),
                };
                crate::organization::handle(&mut state, &host, &request)
            }
            hosts::MONITOR => {
                let caller = user.clone().unwrap_or_default();
                crate::monitor::handle(&state, &caller, &method, &path, &query).into()
            }
            _ => not_found(&path).into(),
        }
    };
    let response = reply_response(reply);
    if read_first && !latency.is_zero() {
        crate::precise_timer::sleep_until(answer_at).await;
    }
    lock(&shared.log).push(record(response.status().as_u16()));
    if let Some(n) = axum::body::HttpBody::size_hint(response.body()).exact() {
        shared.bytes_served.fetch_add(n, Ordering::SeqCst);
    }
    echoed(response, concurrent)
}

/// The test-only echo of [`Faults::echo_authorization_in`](crate::faults::Faults): the
/// request's `Authorization`, as it came, in each named response header.
fn echo_authorization(response: &mut Response, headers: &[String], authorization: Option<&str>) {
    let Some(value) = authorization.and_then(|a| HeaderValue::from_str(a).ok()) else {
        return;
    };
    for name in headers {
        if let Ok(name) = header::HeaderName::from_bytes(name.as_bytes()) {
            response.headers_mut().append(name, value.clone());
        }
    }
}

fn reply_response(reply: Reply) -> Response {
    match reply {
        Reply::Answer(a) => json_response(a),
        Reply::Typed {
            answer,
            content_type,
            headers,
        } => {
            let has_body = answer.1.is_some();
            let mut r = json_response(answer);
            if has_body {
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            }
            for (name, value) in headers {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    r.headers_mut().append(name, v);
                }
            }
            r
        }
        Reply::Text(status, text) => {
            let mut r = Response::new(Body::from(text));
            *r.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
    }
}

fn json_response((status, body): Answer) -> Response {
    let mut r = match body {
        Some(v) => Response::new(Body::from(v.to_string())),
        None => Response::new(Body::empty()),
    };
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status != 204 {
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    r
}

fn fault_response(f: &Fault) -> Response {
    match f {
        Fault::RateLimit { retry_after_secs } => {
            let mut r = json_response(error(429, 20429, "Too Many Requests"));
            if let Some(s) = retry_after_secs {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*s));
            }
            r
        }
        Fault::Status(s) => json_response(error(*s, 20500, "Internal Server Error")),
        Fault::Malformed => {
            let mut r = Response::new(Body::from("<html>upstream proxy error</html>"));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
        Fault::Truncated => {
            let mut r = Response::new(Body::from(r#"{"accounts":[{"sid":"AC"#));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
        Fault::Oversized(n) => {
            let mut body = String::with_capacity(n + 32);
            body.push_str("{\"padding\":\"");
            body.extend(std::iter::repeat_n('x', *n));
            body.push_str("\"}");
            Response::new(Body::from(body))
        }
        Fault::Reset => {
            let stream = futures_util::stream::iter(vec![
                Ok::<_, std::io::Error>(bytes_of("{\"accounts\":[")),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected reset",
                )),
            ]);
            let mut r = Response::new(Body::from_stream(stream));
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from_static("4096"));
            r
        }
        Fault::Body(status, body) => {
            let mut r = Response::new(Body::from(body.clone()));
            *r.status_mut() = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
        Fault::Encoded(encoding, body) => {
            let mut r = Response::new(Body::from(body.clone()));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            if let Ok(v) = HeaderValue::from_str(encoding) {
                r.headers_mut().insert(header::CONTENT_ENCODING, v);
            }
            r
        }
        Fault::Redirect(location) => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::FOUND;
            if let Ok(v) = HeaderValue::from_str(location) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        Fault::Delay(_) => json_response(error(500, 20500, "unreachable")),
    }
}

fn bytes_of(s: &'static str) -> axum::body::Bytes {
    axum::body::Bytes::from_static(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorization_echo_is_off_unless_asked_for() {
        let mut r = json_response((200, None));
        echo_authorization(&mut r, &[], Some("Basic QUM6dA=="));
        assert_eq!(r.headers().len(), 1, "only content-type: {:?}", r.headers());
        echo_authorization(
            &mut r,
            &["twilio-request-id".into(), "x-echo".into()],
            Some("Basic QUM6dA=="),
        );
        assert_eq!(r.headers()["twilio-request-id"], "Basic QUM6dA==");
        assert_eq!(r.headers()["x-echo"], "Basic QUM6dA==");
    }

    #[test]
    fn form_decoding() {
        let f = parse_form("Status=closed&FriendlyName=a%20b+c&Bad=%zz");
        assert_eq!(f["Status"], "closed");
        assert_eq!(f["FriendlyName"], "a b c");
        assert_eq!(f["Bad"], "%zz");
    }
}

#[cfg(test)]
mod concurrency_tests {
    use super::*;
    use crate::test_http::{Got, ask, connect, get, request};
    use std::collections::BTreeSet;
    use std::time::{Duration, Instant};
    use tokio::io::AsyncWriteExt;

    async fn limited(limit: usize, latency_ms: u64) -> Simulator {
        let sim = Simulator::start(Fixture::demo(), "127.0.0.1:0")
            .await
            .unwrap();
        {
            let mut f = sim.faults();
            f.concurrency_limit = Some(limit);
            f.latency = Duration::from_millis(latency_ms);
        }
        sim
    }

    /// The number of a's requests in flight under the limit.
    fn in_flight(sim: &Simulator, account: &str) -> u64 {
        lock(&sim.shared.per_account)
            .get(account)
            .copied()
            .unwrap_or(0)
    }

    /// `n` requests sent at once (connections opened first), answers in sending order.
    async fn at_once(sim: &Simulator, user: &str, secret: &str, path: &str, n: usize) -> Vec<Got> {
        let mut streams = Vec::new();
        for _ in 0..n {
            streams.push(connect(sim.addr()).await);
        }
        let tasks: Vec<_> = streams
            .into_iter()
            .map(|s| {
                let (user, secret, path) = (user.to_string(), secret.to_string(), path.to_string());
                tokio::spawn(async move { ask(s, &user, &secret, &path).await })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }

    fn concurrent(got: &Got) -> u64 {
        got.header(CONCURRENT_REQUESTS)
            .unwrap_or_else(|| panic!("no Twilio-Concurrent-Requests on {}", got.body))
            .parse()
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_concurrency_limit_answers_the_excess_429_20429_at_once() {
        let sim = limited(4, 100).await;
        let (main, token) = sim.main_credentials();
        let path = "/2010-04-01/Accounts.json";
        let answers = at_once(&sim, &main, &token, path, 10).await;
        let ok: Vec<&Got> = answers.iter().filter(|g| g.status == 200).collect();
        let throttled: Vec<&Got> = answers.iter().filter(|g| g.status == 429).collect();
        assert_eq!(
            (ok.len(), throttled.len()),
            (4, 6),
            "4 processed, 6 throttled"
        );
        for g in &throttled {
            let body = g.json();
            assert_eq!(body["code"], 20429);
            assert_eq!(body["status"], 429);
            assert_eq!(body["message"], "Too Many Requests");
            assert_eq!(
                body["more_info"],
                "https://www.twilio.com/docs/errors/20429"
            );
            assert_eq!(g.header("retry-after"), None);
            assert_eq!(concurrent(g), 5, "4 in flight and itself");
        }
        let counts: BTreeSet<u64> = ok.iter().map(|g| concurrent(g)).collect();
        assert_eq!(counts, BTreeSet::from([1, 2, 3, 4]));
        assert_eq!(
            sim.concurrency_stats(),
            ConcurrencyStats {
                throttled: 6,
                peak_in_flight: 4
            }
        );
        let logged = sim.requests();
        assert_eq!(logged.iter().filter(|r| r.status == 429).count(), 6);

        // Once they are done, requests are processed again.
        assert_eq!(in_flight(&sim, &main), 0);
        let again = at_once(&sim, &main, &token, path, 4).await;
        assert!(again.iter().all(|g| g.status == 200), "all processed");
        assert!(again.iter().all(|g| (1..=4).contains(&concurrent(g))));
        let one = get(sim.addr(), &main, &token, path).await;
        assert_eq!((one.status, concurrent(&one)), (200, 1));
        assert_eq!(sim.concurrency_stats().throttled, 6);

        // Every answer carries the header while the mode is on, none once it is off.
        let bad = get(sim.addr(), &main, "wrong", path).await;
        assert_eq!((bad.status, concurrent(&bad)), (401, 1));
        sim.faults().concurrency_limit = None;
        let off = get(sim.addr(), &main, &token, path).await;
        assert_eq!((off.status, off.header(CONCURRENT_REQUESTS)), (200, None));
        sim.clear_requests();
        assert_eq!(sim.concurrency_stats(), ConcurrencyStats::default());
        sim.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_limit_counts_per_authenticated_account_and_latency_counts_as_processing() {
        let sim = limited(1, 300).await;
        let (main, token) = sim.main_credentials();
        let (sub, sub_token) = sim.with_fixture(|f| {
            let a = f
                .accounts
                .iter()
                .find(|a| a["sid"] != f.main_account_sid.as_str())
                .unwrap();
            (
                a["sid"].as_str().unwrap().to_string(),
                a["auth_token"].as_str().unwrap().to_string(),
            )
        });
        let started = Instant::now();
        let (a, b, c) = tokio::join!(
            get(sim.addr(), &main, &token, "/2010-04-01/Accounts.json"),
            async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                get(
                    sim.addr(),
                    &sub,
                    &sub_token,
                    &format!("/2010-04-01/Accounts/{sub}.json"),
                )
                .await
            },
            async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let got = get(sim.addr(), &main, &token, "/2010-04-01/Accounts.json").await;
                (got, started.elapsed())
            },
        );
        assert_eq!((a.status, concurrent(&a)), (200, 1));
        assert_eq!(
            (b.status, concurrent(&b)),
            (200, 1),
            "the subaccount has its own limit"
        );
        let (c, when) = c;
        assert_eq!(
            (c.status, concurrent(&c)),
            (429, 2),
            "the main account's latency counts"
        );
        assert!(
            when < Duration::from_millis(300),
            "answered at once, not after the latency"
        );
        sim.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_dropped_connection_gives_its_slot_back() {
        let sim = limited(1, 2000).await;
        let (main, token) = sim.main_credentials();
        let mut s = connect(sim.addr()).await;
        let req = request(&main, &token, "/2010-04-01/Accounts.json");
        s.write_all(req.as_bytes()).await.unwrap();
        let t = Instant::now();
        while in_flight(&sim, &main) == 0 {
            assert!(
                t.elapsed() < Duration::from_secs(2),
                "the request never arrived"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(s);
        let t = Instant::now();
        while in_flight(&sim, &main) > 0 {
            assert!(
                t.elapsed() < Duration::from_millis(1000),
                "the slot is given back when the client goes, not after the latency"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        sim.faults().latency = Duration::ZERO;
        let got = get(sim.addr(), &main, &token, "/2010-04-01/Accounts.json").await;
        assert_eq!((got.status, concurrent(&got)), (200, 1));
        sim.stop().await;
    }
}

#[cfg(test)]
mod reuse_tests {
    use super::*;
    use crate::test_http::get;

    #[tokio::test]
    async fn a_reused_usage_page_is_written_again_once_anything_changes() {
        let mut fixture = Fixture::demo();
        fixture.behaviour.reuse_usage_answers = true;
        let sim = Simulator::start(fixture, "127.0.0.1:0").await.unwrap();
        let (main, token) = sim.main_credentials();
        let path = "/2010-04-01/Accounts/{main}/Usage/Records/Monthly.json?PageSize=1000"
            .replace("{main}", &main);
        let first = get(sim.addr(), &main, &token, &path).await;
        assert_eq!(first.status, 200);
        assert!(first.json()["usage_records"].as_array().unwrap().len() > 1);
        let again = get(sim.addr(), &main, &token, &path).await;
        assert_eq!(again.body, first.body, "the same text, as_of included");
        assert_eq!(lock(&sim.shared.state).usage_answers.len(), 1);
        // Another query is another page.
        let other = get(sim.addr(), &main, &token, &format!("{path}&Page=0")).await;
        assert_eq!(other.status, 200);
        assert_eq!(lock(&sim.shared.state).usage_answers.len(), 2);
        // A change of the fixture is seen at once.
        sim.update_fixture(|f| {
            f.usage_records.clear();
            f.usage_history.clear();
        });
        let changed = get(sim.addr(), &main, &token, &path).await;
        assert_eq!(
            changed.json()["usage_records"].as_array().unwrap().len(),
            0,
            "{}",
            changed.body
        );
        // Any write empties what was kept.
        let _ = get(sim.addr(), &main, &token, &path).await;
        assert_eq!(lock(&sim.shared.state).usage_answers.len(), 1);
        let form = "FriendlyName=renamed";
        let post = crate::test_http::request(&main, &token, &format!("/2010-04-01/Accounts/{main}.json"))
            .replacen("GET ", "POST ", 1)
            .replace(
                "Connection: close\r\n",
                &format!(
                    "Connection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                    form.len()
                ),
            )
            + form;
        let mut s = crate::test_http::connect(sim.addr()).await;
        tokio::io::AsyncWriteExt::write_all(&mut s, post.as_bytes())
            .await
            .unwrap();
        let mut answer = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut s, &mut answer)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
        assert!(lock(&sim.shared.state).usage_answers.is_empty());
    }
}
