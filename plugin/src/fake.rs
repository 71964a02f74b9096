//! A fake transport for native tests of whole flows: answers by method and URL from rules
//! the test gives, and records every request, batch and wait, so a test can assert what a
//! flow *sent* (no write in a dry-run, nothing on a repeat) without wasm or a network.
//!
//! It is deliberately dumb: it knows nothing of Twilio. A rule answers what the test says;
//! a request no rule answers gets a 404 in Twilio's error shape.
//!
//! Told an app's declared routes ([`FakeTransport::for_app`], [`FakeTransport::declaring`]),
//! it also refuses, as the host would, every request whose method, host and path (the query
//! aside) no declared route names: the request is recorded, its answer is a
//! [`ConnectorError::Refused`] naming it ("undeclared route: POST https://…"), and the fake
//! panics when dropped unless the test took those requests with
//! [`FakeTransport::take_undeclared`], so a flow that turns the error into a warning still
//! fails its test. A forgotten declaration is caught natively, not first by the host.

use crate::errors::ConnectorError;
use crate::http::{Answer, Method, Request, Response, Ticket, Transport};
use crate::model::{AppInfo, RouteSpec};
use crate::sid::SID_SHAPE;
use connector_routes::Route;
use std::collections::VecDeque;

type Responder = Box<dyn FnMut(&Request) -> Result<Response, ConnectorError>>;

/// A test's answer to the requests it matches.
struct Rule {
    method: Method,
    /// The URL up to (not including) the query, exactly; or, ending in `*`, a prefix of it.
    pattern: String,
    respond: Responder,
}

impl Rule {
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

    /// Exact rules win over prefixes; longer prefixes over shorter ones.
    fn specificity(&self) -> (bool, usize) {
        (!self.pattern.ends_with('*'), self.pattern.len())
    }
}

/// Answers requests by the test's rules, refuses undeclared ones when told the app's routes,
/// and records what was sent.
pub struct FakeTransport {
    rules: Vec<Rule>,
    /// The routes the app declares, when told: every other request is refused.
    declared: Option<Vec<Route>>,
    /// The requests refused as undeclared and not yet taken by the test.
    undeclared: Vec<Request>,
    /// Answers to give, in order, before any rule is consulted (retry tests).
    scripted: VecDeque<Scripted>,
    now: chrono::DateTime<chrono::Utc>,
    /// Every request, in the order sent.
    pub requests: Vec<Request>,
    /// How many requests were in flight as each one started (itself included).
    pub in_flight_at_start: Vec<usize>,
    /// Every wait for a retry's back-off, in milliseconds of the fake clock.
    pub slept: Vec<u64>,
    /// Answers of started requests, handed out by the next `wait`.
    ready: Vec<Answer>,
    /// The fake monotonic clock, advanced only by waits with nothing to answer.
    clock_ms: u64,
    /// What `random_u64` returns, every time.
    random: u64,
}

impl Default for FakeTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeTransport {
    /// No rules and no declared routes: every request is a 404; the clock reads the Unix epoch.
    pub fn new() -> Self {
        Self {
            rules: Vec::new(),
            declared: None,
            undeclared: Vec::new(),
            scripted: VecDeque::new(),
            now: chrono::DateTime::UNIX_EPOCH,
            requests: Vec::new(),
            in_flight_at_start: Vec::new(),
            slept: Vec::new(),
            ready: Vec::new(),
            clock_ms: 0,
            random: 7,
        }
    }

    /// Refuse every request `app` does not declare in its `routes`.
    pub fn for_app(app: &AppInfo) -> Self {
        Self::new().declaring(app.routes)
    }

    /// Refuse every request none of these routes (nor any declared before) names.
    ///
    /// # Panics
    ///
    /// When a route does not parse with [`SID_SHAPE`]: the declaration is wrong.
    pub fn declaring(mut self, routes: &[RouteSpec<'_>]) -> Self {
        let parsed = routes.iter().map(|spec| {
            Route::from_spec(spec, SID_SHAPE).unwrap_or_else(|e| {
                panic!(
                    "declared route {} {}{} does not parse: {e:?}",
                    spec.method, spec.host, spec.path
                )
            })
        });
        self.declared.get_or_insert_with(Vec::new).extend(parsed);
        self
    }

    /// Whether the routes declared (if any were) name `req`'s method, host and path.
    fn is_declared(&self, req: &Request) -> bool {
        let Some(declared) = &self.declared else {
            return true;
        };
        let Some(rest) = req.url.strip_prefix("https://") else {
            return false;
        };
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let method = req.method.into();
        declared.iter().any(|r| r.matches(method, host, path))
    }

    /// The requests refused as undeclared so far (taking them: the fake then does not panic
    /// about them when dropped).
    pub fn take_undeclared(&mut self) -> Vec<Request> {
        std::mem::take(&mut self.undeclared)
    }

    /// What every draw of a random number gives (7 unless told).
    pub fn random(mut self, value: u64) -> Self {
        self.random = value;
        self
    }

    /// The wall clock the flow sees.
    pub fn at(mut self, now: &str) -> Self {
        self.now = chrono::DateTime::parse_from_rfc3339(now)
            .expect("an RFC 3339 time")
            .with_timezone(&chrono::Utc);
        self
    }

    /// Answer `method pattern` with whatever `respond` returns (a declared route still has to
    /// name the request: a rule does not declare it).
    pub fn on(
        mut self,
        method: Method,
        pattern: &str,
        respond: impl FnMut(&Request) -> Result<Response, ConnectorError> + 'static,
    ) -> Self {
        self.rules.push(Rule {
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

    /// Answer the next requests with these statuses (empty bodies), whatever they are; a 429
    /// says `Retry-After: 1`.
    pub fn script(self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.script_answers(statuses.into_iter().map(|status| Scripted {
            status,
            retry_after_ms: (status == 429).then_some(1000),
            upstream_in_flight: None,
        }))
    }

    /// Answer the next requests with these answers, whatever they are.
    pub fn script_answers(mut self, answers: impl IntoIterator<Item = Scripted>) -> Self {
        self.scripted.extend(answers);
        self
    }

    /// The requests that were not reads.
    pub fn writes(&self) -> Vec<&Request> {
        self.requests
            .iter()
            .filter(|r| r.method != Method::Get)
            .collect()
    }

    fn answer(&mut self, req: &Request) -> (Result<Response, ConnectorError>, Option<u32>) {
        if let Some(s) = self.scripted.pop_front() {
            let response = Response {
                status: s.status,
                retry_after_ms: s.retry_after_ms,
                body: b"{}".to_vec(),
            };
            return (Ok(response), s.upstream_in_flight);
        }
        let best = self
            .rules
            .iter_mut()
            .filter(|r| r.matches(req))
            .max_by_key(|r| r.specificity());
        let result = match best {
            Some(rule) => (rule.respond)(req),
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
        };
        (result, None)
    }
}

/// A scripted answer: a status with an empty JSON body, its `Retry-After` and the upstream's
/// count of requests in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scripted {
    pub status: u16,
    pub retry_after_ms: Option<u64>,
    pub upstream_in_flight: Option<u32>,
}

impl Scripted {
    /// A 429 with this `Retry-After` and count.
    pub fn throttled(retry_after_ms: Option<u64>, upstream_in_flight: Option<u32>) -> Self {
        Self {
            status: 429,
            retry_after_ms,
            upstream_in_flight,
        }
    }
}

impl Drop for FakeTransport {
    fn drop(&mut self) {
        if !self.undeclared.is_empty() && !std::thread::panicking() {
            let sent: Vec<String> = self
                .undeclared
                .iter()
                .map(|r| format!("{} {}", r.method.as_str(), r.url))
                .collect();
            panic!(
                "the flow sent requests its app does not declare: {}",
                sent.join(", ")
            );
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
        let (result, upstream_in_flight) = if self.is_declared(request) {
            self.answer(request)
        } else {
            self.undeclared.push(request.clone());
            let refused = ConnectorError::Refused(format!(
                "undeclared route: {} {}",
                request.method.as_str(),
                request.url
            ));
            (Err(refused), None)
        };
        self.ready.push(Answer {
            ticket,
            result,
            upstream_in_flight,
        });
    }

    fn wait(&mut self, timeout_ms: Option<u64>) -> Vec<(Ticket, Result<Response, ConnectorError>)> {
        self.wait_answers(timeout_ms)
            .into_iter()
            .map(|a| (a.ticket, a.result))
            .collect()
    }

    fn wait_answers(&mut self, timeout_ms: Option<u64>) -> Vec<Answer> {
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
        self.random
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

    const DECLARED: &[RouteSpec<'static>] = &[
        RouteSpec::get("h.example", "/v1/Things/{AB}.json"),
        RouteSpec::write(
            connector_routes::Method::Post,
            "h.example",
            "/v1/Things/{AB}.json",
            &["suspend"],
        ),
    ];
    const THING: &str = "https://h.example/v1/Things/AB00000000000000000000000000000001.json";

    fn declaring() -> FakeTransport {
        FakeTransport::new()
            .declaring(DECLARED)
            .json(
                Method::Get,
                "https://h.example/*",
                200,
                serde_json::json!({}),
            )
            .json(
                Method::Post,
                "https://h.example/*",
                200,
                serde_json::json!({}),
            )
    }

    fn send(t: &mut FakeTransport, r: Request) -> Result<Response, ConnectorError> {
        t.start(0, &r);
        t.wait(None).remove(0).1
    }

    #[test]
    fn an_undeclared_route_is_refused_and_recorded() {
        let mut t = declaring();
        let undeclared = [
            // Another path, another method, another host, a SID of another kind, plain HTTP.
            Request::get("https://h.example/v1/Others".into()),
            Request::delete(THING.into()),
            Request::get(THING.replace("h.example", "elsewhere.example")),
            Request::get(THING.replace("AB0", "CD0")),
            Request::get(THING.replace("https", "http")),
        ];
        for r in &undeclared {
            let e = send(&mut t, r.clone()).unwrap_err();
            let want = format!("undeclared route: {} {}", r.method.as_str(), r.url);
            assert_eq!(e, ConnectorError::Refused(want), "{r:?}");
        }
        assert_eq!(t.requests, undeclared);
        assert_eq!(t.take_undeclared(), undeclared);
    }

    #[test]
    fn a_declared_route_passes_with_its_query_string() {
        let mut t = declaring();
        let r = send(&mut t, Request::get(format!("{THING}?PageSize=50&Page=2"))).unwrap();
        assert_eq!(r.status, 200);
        let r = send(&mut t, Request::post_form(THING.into(), &[("Status", "x")])).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(t.requests.len(), 2);
        assert!(t.take_undeclared().is_empty());
    }

    #[test]
    #[should_panic(expected = "does not declare: GET https://h.example/v1/Others")]
    fn an_undeclared_request_the_flow_swallowed_still_fails_the_test() {
        let mut t = declaring();
        let _ = send(&mut t, Request::get("https://h.example/v1/Others".into()));
    }

    #[test]
    #[should_panic(expected = "declared route GET h.example/v1//x does not parse")]
    fn a_declaration_that_does_not_parse_fails_the_setup() {
        let _ = FakeTransport::new().declaring(&[RouteSpec::get("h.example", "/v1//x")]);
    }
}
