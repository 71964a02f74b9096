//! The HTTP server: loopback only, routes on the `Host` header, checks Basic auth, applies
//! faults and keeps a log of every request it saw.

use crate::auth::{self, Caller};
use crate::faults::{Fault, FaultRule, Faults};
use crate::fixture::Fixture;
use crate::form::parse_form;
use crate::hosts;
use crate::state::{Answer, State, error, not_found};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use std::collections::BTreeMap;
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
    /// When the request arrived.
    pub received: std::time::Instant,
}

struct Shared {
    state: Mutex<State>,
    faults: Mutex<Faults>,
    log: Mutex<Vec<RecordedRequest>>,
    counter: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
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

    /// Forget the request log (and the concurrency high-water mark).
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
        self.shared.max_in_flight.store(0, Ordering::SeqCst);
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
        f(&mut lock(&self.shared.state).fixture)
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
    /// secret): what no output, log or plugin answer may ever contain.
    pub fn secrets(&self) -> Vec<String> {
        self.with_fixture(|f| {
            let tokens = f.accounts.iter().filter_map(|a| a["auth_token"].as_str());
            let keys = f.api_keys.iter().filter_map(|k| k["secret"].as_str());
            tokens.chain(keys).map(str::to_string).collect()
        })
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

    let caller = {
        let state = lock(&shared.state);
        auth::check(auth_header.as_deref(), &state.accepted)
    };
    let (user, authenticated) = match &caller {
        Caller::Valid(u) => (Some(u.clone()), true),
        Caller::Invalid(u) => (Some(u.clone()), false),
        Caller::Missing => (None, false),
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
        received,
    };

    let (latency, fault) = {
        let mut f = lock(&shared.faults);
        (f.latency, f.take(n, &method, &path))
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let fault = match fault {
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        f => f,
    };
    let echo_in = lock(&shared.faults).echo_authorization_in.clone();
    let echoed = |mut response: Response| {
        echo_authorization(&mut response, &echo_in, auth_header.as_deref());
        response
    };
    if let Some(f) = fault {
        let response = fault_response(&f);
        lock(&shared.log).push(record(response.status().as_u16()));
        return echoed(response);
    }

    let answer: Answer = if !hosts::ALL.contains(&host.as_str()) {
        not_found(&format!("//{host}{path}"))
    } else if !authenticated {
        error(401, 20003, "Authenticate")
    } else {
        let query = parse_form(&query_text);
        let json_body: Option<Value> = content_type
            .starts_with("application/json")
            .then(|| serde_json::from_slice(&body).ok())
            .flatten();
        let form = if json_body.is_none() {
            parse_form(&body_text)
        } else {
            BTreeMap::new()
        };
        let mut state = lock(&shared.state);
        match host.as_str() {
            hosts::API => {
                let caller = user.clone().unwrap_or_default();
                crate::api2010::handle(&mut state, &caller, &method, &path, &query, &form)
            }
            hosts::TASKROUTER => crate::taskrouter::handle(&mut state, &method, &path, &query),
            hosts::FLEX_API => {
                crate::flex_api::handle(&mut state, &method, &path, &query, json_body.as_ref())
            }
            hosts::FRONTLINE_API => crate::frontline::handle(&mut state, &method, &path, &form),
            _ => not_found(&path),
        }
    };
    lock(&shared.log).push(record(answer.0));
    echoed(json_response(answer))
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
