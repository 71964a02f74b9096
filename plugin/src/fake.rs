//! A fake transport for native tests of whole flows: answers by method and URL from routes
//! the test declares, and records every request, batch and wait, so a test can assert what a
//! flow *sent* (no write in a dry-run, nothing on a repeat) without wasm or a network.
//!
//! It is deliberately dumb: it knows nothing of Twilio. A route answers what the test says;
//! an unrouted request gets a 404 in Twilio's error shape.

use crate::errors::ConnectorError;
use crate::http::{Method, Request, Response, Ticket, Transport};
use std::collections::VecDeque;

type Responder = Box<dyn FnMut(&Request) -> Result<Response, ConnectorError>>;

struct Route {
    method: Method,
    /// The URL up to (not including) the query, exactly; or, ending in `*`, a prefix of it.
    pattern: String,
    respond: Responder,
}

impl Route {
    fn matches(&self, req: &Request) -> bool {
        if req.method != self.method {
            return false;
        }
        let url = req.url.split('?').next().unwrap_or_default();
        match self.pattern.strip_suffix('*') {
            Some(prefix) => url.starts_with(prefix),
            None => url == self.pattern,
        }
    }

    /// Exact routes win over prefixes; longer prefixes over shorter ones.
    fn specificity(&self) -> (bool, usize) {
        (!self.pattern.ends_with('*'), self.pattern.len())
    }
}

/// Routes requests to test-declared answers and records what was sent.
pub struct FakeTransport {
    routes: Vec<Route>,
    /// Statuses to answer, in order, before any route is consulted (retry tests).
    scripted: VecDeque<u16>,
    now: chrono::DateTime<chrono::Utc>,
    /// Every request, in the order sent.
    pub requests: Vec<Request>,
    /// How many requests were in flight as each one started (itself included).
    pub in_flight_at_start: Vec<usize>,
    /// Every wait for a retry's back-off, in milliseconds of the fake clock.
    pub slept: Vec<u64>,
    /// Answers of started requests, handed out by the next `wait`.
    ready: Vec<(Ticket, Result<Response, ConnectorError>)>,
    /// The fake monotonic clock, advanced only by waits with nothing to answer.
    clock_ms: u64,
}

impl Default for FakeTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeTransport {
    /// No routes: every request is a 404; the clock reads the Unix epoch.
    pub fn new() -> Self {
        Self {
            routes: Vec::new(),
            scripted: VecDeque::new(),
            now: chrono::DateTime::UNIX_EPOCH,
            requests: Vec::new(),
            in_flight_at_start: Vec::new(),
            slept: Vec::new(),
            ready: Vec::new(),
            clock_ms: 0,
        }
    }

    /// The wall clock the flow sees.
    pub fn at(mut self, now: &str) -> Self {
        self.now = chrono::DateTime::parse_from_rfc3339(now)
            .expect("an RFC 3339 time")
            .with_timezone(&chrono::Utc);
        self
    }

    /// Answer `method pattern` with whatever `respond` returns.
    pub fn on(
        mut self,
        method: Method,
        pattern: &str,
        respond: impl FnMut(&Request) -> Result<Response, ConnectorError> + 'static,
    ) -> Self {
        self.routes.push(Route {
            method,
            pattern: pattern.to_string(),
            respond: Box::new(respond),
        });
        self
    }

    /// Answer `method pattern` with `status` and a JSON `body`, every time.
    pub fn json(self, method: Method, pattern: &str, status: u16, body: serde_json::Value) -> Self {
        let body = body.to_string().into_bytes();
        self.on(method, pattern, move |_| Ok(answer(status, body.clone())))
    }

    /// Answer the next requests with these statuses (empty bodies), whatever they are.
    pub fn script(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.scripted.extend(statuses);
        self
    }

    /// The requests that were not reads.
    pub fn writes(&self) -> Vec<&Request> {
        self.requests
            .iter()
            .filter(|r| r.method != Method::Get)
            .collect()
    }

    fn answer(&mut self, req: &Request) -> Result<Response, ConnectorError> {
        if let Some(status) = self.scripted.pop_front() {
            return Ok(Response {
                status,
                retry_after_ms: (status == 429).then_some(1000),
                body: b"{}".to_vec(),
            });
        }
        let best = self
            .routes
            .iter_mut()
            .filter(|r| r.matches(req))
            .max_by_key(|r| r.specificity());
        match best {
            Some(route) => (route.respond)(req),
            None => Ok(answer(
                404,
                serde_json::json!({
                    "code": 20404,
                    "message": format!("The requested resource {} was not found", req.url),
                    "status": 404
                })
                .to_string()
                .into_bytes(),
            )),
        }
    }
}

/// A response with `status` and `body` and no `Retry-After`.
pub fn answer(status: u16, body: Vec<u8>) -> Response {
    Response {
        status,
        retry_after_ms: None,
        body,
    }
}

impl Transport for FakeTransport {
    /// Answers at once (the answer waits for the next `wait`), so every started request is
    /// in flight together until the executor collects them.
    fn start(&mut self, ticket: Ticket, request: &Request) {
        self.requests.push(request.clone());
        self.in_flight_at_start.push(self.ready.len() + 1);
        let answer = self.answer(request);
        self.ready.push((ticket, answer));
    }

    fn wait(&mut self, timeout_ms: Option<u64>) -> Vec<(Ticket, Result<Response, ConnectorError>)> {
        if self.ready.is_empty() {
            let ms = timeout_ms.expect("waiting with nothing in flight and no deadline would hang");
            self.slept.push(ms);
            self.clock_ms += ms;
        }
        std::mem::take(&mut self.ready)
    }

    fn cancel_all(&mut self) {
        self.ready.clear();
    }

    fn monotonic_ms(&self) -> u64 {
        self.clock_ms
    }

    fn random_u64(&mut self) -> u64 {
        7
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_method_and_url_most_specific_first() {
        let mut t = FakeTransport::new()
            .json(
                Method::Get,
                "https://h/a/*",
                200,
                serde_json::json!({"r": "prefix"}),
            )
            .json(
                Method::Get,
                "https://h/a/b",
                200,
                serde_json::json!({"r": "exact"}),
            )
            .json(Method::Post, "https://h/a/b", 201, serde_json::json!({}));
        let requests = [
            Request::get("https://h/a/b?x=1".into()),
            Request::get("https://h/a/c".into()),
            Request::post_form("https://h/a/b".into(), &[("k", "v")]),
            Request::get("https://h/z".into()),
        ];
        for (i, r) in requests.iter().enumerate() {
            t.start(i as Ticket, r);
        }
        let mut out = t.wait(None);
        out.sort_by_key(|(ticket, _)| *ticket);
        let out: Vec<_> = out.into_iter().map(|(_, r)| r).collect();
        let bodies: Vec<String> = out
            .iter()
            .map(|r| String::from_utf8(r.as_ref().unwrap().body.clone()).unwrap())
            .collect();
        assert!(bodies[0].contains("exact") && bodies[1].contains("prefix"));
        assert_eq!(out[2].as_ref().unwrap().status, 201);
        assert_eq!(out[3].as_ref().unwrap().status, 404);
        assert_eq!(t.writes().len(), 1);
        assert_eq!(t.in_flight_at_start, vec![1, 2, 3, 4]);
    }
}
