//! The connector's view of HTTP: plain request/response values and the transport trait that
//! the wasi-http executor (in the component) or a native executor implements.

use crate::errors::{self, ConnectorError};
use serde::de::DeserializeOwned;

/// HTTP method used by the connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        connector_routes::Method::from(self).as_str()
    }
}

/// The one mapping from the methods the connector sends to the methods a route names.
impl From<Method> for connector_routes::Method {
    fn from(m: Method) -> Self {
        match m {
            Method::Get => Self::Get,
            Method::Post => Self::Post,
            Method::Patch => Self::Patch,
            Method::Delete => Self::Delete,
        }
    }
}

/// An outbound request with an absolute `https://` URL. Never carries credentials: the host
/// adds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
    /// The fields this connector reads of a list page (`<list>=<field>,…`), sent as the
    /// host's `connector-answer-fields` header: a host that honours it passes on only those
    /// fields of each item, one that does not passes the whole page, and either reads the same.
    pub answer_fields: Option<&'static str>,
}

impl Request {
    /// A GET of an absolute URL.
    pub fn get(url: String) -> Self {
        Self {
            method: Method::Get,
            url,
            content_type: None,
            body: Vec::new(),
            answer_fields: None,
        }
    }

    /// A DELETE of an absolute URL.
    pub fn delete(url: String) -> Self {
        Self {
            method: Method::Delete,
            url,
            content_type: None,
            body: Vec::new(),
            answer_fields: None,
        }
    }

    /// A form-encoded POST (Twilio's update style).
    pub fn post_form(url: String, fields: &[(&str, &str)]) -> Self {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        Self {
            method: Method::Post,
            url,
            content_type: Some("application/x-www-form-urlencoded"),
            body: body.into_bytes(),
            answer_fields: None,
        }
    }

    /// A JSON POST (the Flex Users API style).
    pub fn post_json(url: String, body: &serde_json::Value) -> Self {
        Self {
            method: Method::Post,
            url,
            content_type: Some("application/json"),
            body: body.to_string().into_bytes(),
            answer_fields: None,
        }
    }

    /// The same request, asking the host for only `fields` of each list item (see
    /// [`Request::answer_fields`]).
    pub fn reading(mut self, fields: &'static str) -> Self {
        self.answer_fields = Some(fields);
        self
    }
}

/// An item of a list page as a host that honours `fields` (a [`Request::reading`] value)
/// passes it on: only the fields named after the list's `=`. For tests that hold a plugin's
/// field list to what it parses.
#[cfg(test)]
pub fn narrowed_item(fields: &str, item: &serde_json::Value) -> serde_json::Value {
    let (_, names) = fields.split_once('=').expect("<list>=<field>,…");
    let kept = item
        .as_object()
        .expect("an item is an object")
        .iter()
        .filter(|(k, _)| names.split(',').any(|f| f == k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    serde_json::Value::Object(kept)
}

/// An answer from upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// `Retry-After`, in milliseconds, when the answer carried one.
    pub retry_after_ms: Option<u64>,
    pub body: Vec<u8>,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Decode a 2xx JSON body, or map the error answer to a typed error.
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, ConnectorError> {
        self.ok(what)?;
        serde_json::from_slice(&self.body).map_err(|e| {
            ConnectorError::MalformedResponse(format!(
                "{what}: body is not the expected JSON ({e})"
            ))
        })
    }

    /// Succeed on 2xx, otherwise return the typed error.
    pub fn ok(&self, what: &str) -> Result<(), ConnectorError> {
        if self.is_success() {
            Ok(())
        } else {
            Err(errors::from_status(
                self.status,
                &self.body,
                self.retry_after_ms,
                what,
            ))
        }
    }
}

/// Identifies one started request until its answer comes back.
pub type Ticket = u64;

/// The host's request header for [`Request::answer_fields`] (the host reads it and never
/// sends it on).
pub const ANSWER_FIELDS_HEADER: &str = "connector-answer-fields";

/// Twilio's report, on its answers, of the account's requests being processed when this one
/// arrived, itself included (its 429 / 20429 page names it).
pub const CONCURRENT_REQUESTS_HEADER: &str = "twilio-concurrent-requests";

/// One answer as [`Transport::wait_answers`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub ticket: Ticket,
    pub result: Result<Response, ConnectorError>,
    /// The upstream's count of the account's requests in flight when this one arrived
    /// ([`CONCURRENT_REQUESTS_HEADER`]), when the answer carried one.
    pub upstream_in_flight: Option<u32>,
}

/// Sends requests without waiting for each: the executor starts up to its in-flight limit
/// and collects answers as they arrive, so a slot is refilled as soon as it frees.
pub trait Transport {
    /// Start sending `request`; its answer is returned later by `wait`, under `ticket`.
    fn start(&mut self, ticket: Ticket, request: &Request);
    /// Block until at least one started request has its answer, or `timeout_ms` has passed
    /// (when given); return every answer that is ready, in any order.
    fn wait(&mut self, timeout_ms: Option<u64>) -> Vec<(Ticket, Result<Response, ConnectorError>)>;
    /// As `wait`, with what each answer says of the upstream's concurrency. A transport that
    /// does not read it reports none (the client then adapts from throttles alone).
    fn wait_answers(&mut self, timeout_ms: Option<u64>) -> Vec<Answer> {
        self.wait(timeout_ms)
            .into_iter()
            .map(|(ticket, result)| Answer {
                ticket,
                result,
                upstream_in_flight: None,
            })
            .collect()
    }
    /// Forget every started request (their answers are no longer wanted).
    fn cancel_all(&mut self);
    /// A monotonic clock in milliseconds, for retry deadlines.
    fn monotonic_ms(&self) -> u64;
    /// A random number for jitter.
    fn random_u64(&mut self) -> u64;
    /// Current wall-clock time, as the host lets the plugin see it.
    fn now(&self) -> chrono::DateTime<chrono::Utc>;
}

/// Percent-encode a value for `application/x-www-form-urlencoded` and query strings.
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_are_percent_encoded() {
        let r = Request::post_form(
            "https://x/y".into(),
            &[("Status", "suspended"), ("FriendlyName", "a b&c")],
        );
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            "Status=suspended&FriendlyName=a%20b%26c"
        );
    }
}
