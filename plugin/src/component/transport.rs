//! The wasi-http transport: starts requests through `wasi:http/outgoing-handler`, polls all
//! that are in flight together and reads each answer's body (with a cap) as soon as it is ready.

use crate::errors::ConnectorError;
use crate::http::{
    ANSWER_FIELDS_HEADER, Answer, CONCURRENT_REQUESTS_HEADER, Method, Request, Response, Ticket,
    Transport,
};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, FutureIncomingResponse, IncomingResponse, Method as WasiMethod,
    OutgoingBody, OutgoingRequest, Scheme,
};
use wasip2::io::poll::Pollable;

/// Largest body the plugin itself will hold (the host enforces its own, smaller cap first).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Sends through `wasi:http/outgoing-handler`; each started request stays here until its
/// answer is collected.
#[derive(Default)]
pub struct WasiTransport {
    flying: Vec<Flying>,
    /// Requests that failed before reaching the network (refused, bad URL): answered next.
    failed: Vec<(Ticket, ConnectorError)>,
}

/// A request in flight: its answer's future and the pollable that tells when it is ready,
/// subscribed once (not at every wait: with a hundred requests in flight that would be a
/// hundred resources made and dropped per answer). Fields drop in order: the pollable before
/// the future it belongs to, as wasi requires.
struct Flying {
    ticket: Ticket,
    request: Request,
    ready: Pollable,
    future: FutureIncomingResponse,
}

impl Transport for WasiTransport {
    fn start(&mut self, ticket: Ticket, request: &Request) {
        match start(request) {
            Ok(future) => self.flying.push(Flying {
                ticket,
                request: request.clone(),
                ready: future.subscribe(),
                future,
            }),
            Err(e) => self.failed.push((ticket, e)),
        }
    }

    fn wait(&mut self, timeout_ms: Option<u64>) -> Vec<(Ticket, Result<Response, ConnectorError>)> {
        self.wait_answers(timeout_ms)
            .into_iter()
            .map(|a| (a.ticket, a.result))
            .collect()
    }

    fn wait_answers(&mut self, timeout_ms: Option<u64>) -> Vec<Answer> {
        let mut done: Vec<Answer> = self
            .failed
            .drain(..)
            .map(|(ticket, e)| Answer {
                ticket,
                result: Err(e),
                upstream_in_flight: None,
            })
            .collect();
        if done.is_empty() && (!self.flying.is_empty() || timeout_ms.is_some()) {
            // Readiness is asked of pollables: `get` would consume the answer.
            let timer = timeout_ms.map(|ms| {
                wasip2::clocks::monotonic_clock::subscribe_duration(ms.saturating_mul(1_000_000))
            });
            let mut refs: Vec<&Pollable> = self.flying.iter().map(|f| &f.ready).collect();
            refs.extend(timer.as_ref());
            let ready = wasip2::io::poll::poll(&refs);
            drop(refs);
            drop(timer);
            let mut ready: Vec<usize> = ready
                .into_iter()
                .map(|i| i as usize)
                .filter(|i| *i < self.flying.len())
                .collect();
            ready.sort_unstable();
            for i in ready.into_iter().rev() {
                let Flying {
                    ticket,
                    request,
                    ready,
                    future,
                } = self.flying.swap_remove(i);
                drop(ready);
                let (result, upstream_in_flight) = match finish(future, &request) {
                    Ok((response, count)) => (Ok(response), count),
                    Err(e) => (Err(e), None),
                };
                done.push(Answer {
                    ticket,
                    result,
                    upstream_in_flight,
                });
            }
        }
        done
    }

    fn cancel_all(&mut self) {
        self.flying.clear();
        self.failed.clear();
    }

    fn monotonic_ms(&self) -> u64 {
        wasip2::clocks::monotonic_clock::now() / 1_000_000
    }

    fn random_u64(&mut self) -> u64 {
        wasip2::random::random::get_random_u64()
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let t = wasip2::clocks::wall_clock::now();
        chrono::DateTime::from_timestamp(t.seconds as i64, t.nanoseconds).unwrap_or_default()
    }
}

/// Split an absolute `https://host/path?query` URL.
fn split_url(url: &str) -> Result<(&str, &str), ConnectorError> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| ConnectorError::Refused(format!("{url} is not an HTTPS URL")))?;
    let slash = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(slash);
    Ok((authority, if path.is_empty() { "/" } else { path }))
}

fn start(req: &Request) -> Result<FutureIncomingResponse, ConnectorError> {
    let (authority, path) = split_url(&req.url)?;
    let headers = Fields::new();
    if let Some(ct) = req.content_type {
        headers
            .append("content-type", ct.as_bytes())
            .map_err(|e| ConnectorError::Transport(format!("header: {e:?}")))?;
    }
    headers
        .append("accept", b"application/json")
        .map_err(|e| ConnectorError::Transport(format!("header: {e:?}")))?;
    if let Some(fields) = req.answer_fields {
        headers
            .append(ANSWER_FIELDS_HEADER, fields.as_bytes())
            .map_err(|e| ConnectorError::Transport(format!("header: {e:?}")))?;
    }
    // A body of known size goes out with Content-Length, as Twilio's helper libraries send it,
    // not chunked (some gateways answer 411 to a chunked POST).
    if !req.body.is_empty() || matches!(req.method, Method::Post | Method::Patch) {
        headers
            .append("content-length", req.body.len().to_string().as_bytes())
            .map_err(|e| ConnectorError::Transport(format!("header: {e:?}")))?;
    }
    let out = OutgoingRequest::new(headers);
    let method = match req.method {
        Method::Get => WasiMethod::Get,
        Method::Post => WasiMethod::Post,
        Method::Patch => WasiMethod::Patch,
        Method::Delete => WasiMethod::Delete,
    };
    let bad =
        |what: &str| ConnectorError::Transport(format!("could not set {what} of {}", req.url));
    out.set_method(&method).map_err(|_| bad("method"))?;
    out.set_scheme(Some(&Scheme::Https))
        .map_err(|_| bad("scheme"))?;
    out.set_authority(Some(authority))
        .map_err(|_| bad("authority"))?;
    out.set_path_with_query(Some(path))
        .map_err(|_| bad("path"))?;
    let body = out.body().map_err(|_| bad("body"))?;
    let future = outgoing_handler::handle(out, None).map_err(|e| map_error(e, req))?;
    if !req.body.is_empty() {
        let stream = body.write().map_err(|_| bad("body stream"))?;
        for chunk in req.body.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| ConnectorError::Transport(format!("writing request body: {e:?}")))?;
        }
    }
    OutgoingBody::finish(body, None).map_err(|e| map_error(e, req))?;
    Ok(future)
}

/// Most bytes asked of an answer's stream at once.
const READ_CHUNK: u64 = 1 << 20;

/// The first value of header `name`, as text.
fn header(response: &IncomingResponse, name: &str) -> Option<String> {
    let values = response.headers().get(name);
    let first = values.first()?;
    std::str::from_utf8(first)
        .ok()
        .map(|v| v.trim().to_string())
}

/// The answer, and the upstream's count of the account's requests in flight when it gave one.
fn finish(
    future: FutureIncomingResponse,
    req: &Request,
) -> Result<(Response, Option<u32>), ConnectorError> {
    let answer = future
        .get()
        .ok_or_else(|| ConnectorError::Transport("response not ready".into()))?
        .map_err(|_| ConnectorError::Transport("response already taken".into()))?;
    let response: IncomingResponse = answer.map_err(|e| map_error(e, req))?;
    let status = response.status();
    let retry_after_ms = header(&response, "retry-after")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| (s * 1000.0) as u64);
    let upstream_in_flight =
        header(&response, CONCURRENT_REQUESTS_HEADER).and_then(|v| v.parse::<u32>().ok());
    let body = response
        .consume()
        .map_err(|_| ConnectorError::Transport("response body already taken".into()))?;
    let stream = body
        .stream()
        .map_err(|_| ConnectorError::Transport("response body stream unavailable".into()))?;
    // The host states every answer's length: room for it is made once, and an answer that
    // comes in one chunk is kept as it came, not copied.
    let expected = header(&response, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n <= MAX_BODY)
        .unwrap_or(0);
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) if bytes.is_empty() && chunk.len() >= expected => bytes = chunk,
            Ok(chunk) => {
                if bytes.capacity() < expected {
                    bytes.reserve_exact(expected - bytes.len());
                }
                bytes.extend_from_slice(&chunk);
                if bytes.len() > MAX_BODY {
                    return Err(ConnectorError::MalformedResponse(format!(
                        "response from {} is larger than {MAX_BODY} bytes",
                        req.url
                    )));
                }
            }
            Err(wasip2::io::streams::StreamError::Closed) => break,
            Err(wasip2::io::streams::StreamError::LastOperationFailed(e)) => {
                let detail = wasip2::http::types::http_error_code(&e)
                    .map(|c| describe(&c))
                    .unwrap_or_else(|| e.to_debug_string());
                return Err(ConnectorError::Transport(format!(
                    "reading the response from {}: {detail}",
                    req.url
                )));
            }
        }
    }
    drop(stream);
    let response = Response {
        status,
        retry_after_ms,
        body: bytes,
    };
    Ok((response, upstream_in_flight))
}

fn describe(code: &ErrorCode) -> String {
    match code {
        ErrorCode::HttpResponseBodySize(limit) => format!(
            "response body exceeds the host's limit{}",
            limit.map(|l| format!(" of {l} bytes")).unwrap_or_default()
        ),
        ErrorCode::HttpRequestDenied => "denied by the host's egress policy".into(),
        ErrorCode::HttpResponseContentCoding(why) => format!(
            "the host refused the answer: {}",
            why.as_deref().unwrap_or("not plain JSON")
        ),
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout => "timed out".into(),
        other => format!("{other:?}"),
    }
}

fn map_error(code: ErrorCode, req: &Request) -> ConnectorError {
    match code {
        ErrorCode::HttpRequestDenied => ConnectorError::Refused(format!(
            "the host's egress policy denied {} {}",
            req.method.as_str(),
            req.url
        )),
        // The same request would get the same oversized or unreadable answer: not worth a retry.
        ErrorCode::HttpResponseBodySize(_) | ErrorCode::HttpResponseContentCoding(_) => {
            ConnectorError::MalformedResponse(format!(
                "{} {}: {}",
                req.method.as_str(),
                req.url,
                describe(&code)
            ))
        }
        other => ConnectorError::Transport(format!(
            "{} {}: {}",
            req.method.as_str(),
            req.url,
            describe(&other)
        )),
    }
}
