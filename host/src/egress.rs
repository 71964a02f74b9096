//! The one place outbound traffic is decided: the allowlist (HTTPS to the app's declared
//! Twilio hosts only), `--connect-to` redirection, credential injection, limits on count,
//! concurrency, time and size, and redaction of secrets from answers before the guest sees them.

use crate::audit::{AuditLog, RequestEvent};
use crate::credentials::Credentials;
use crate::limits::Limits;
use crate::request_policy::{CallKind, Denial, decide};
pub use crate::request_policy::{EgressPolicy, is_trusted};
use crate::sync::lock;
use bytes::Bytes;
use http::header::{ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, HOST};
use http::{HeaderName, HeaderValue, Uri};
use http_body_util::{BodyExt, Full};
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
}

/// Per-call wasi-http hooks: one instance per `Store`, so per tenant call.
pub struct EgressHooks {
    policy: Arc<EgressPolicy>,
    kind: CallKind,
    /// Answer bytes the host holds for this call until the guest has read them.
    buffered: Arc<std::sync::atomic::AtomicUsize>,
    credentials: Option<Arc<Credentials>>,
    limits: Limits,
    tenant: String,
    sent: Arc<AtomicU64>,
    in_flight: Arc<tokio::sync::Semaphore>,
    traffic: Arc<Mutex<CallTraffic>>,
    audit: Option<AuditLog>,
}

impl EgressHooks {
    /// Hooks for one call.
    pub fn new(
        policy: Arc<EgressPolicy>,
        credentials: Option<Arc<Credentials>>,
        limits: Limits,
        tenant: String,
        audit: Option<AuditLog>,
        kind: CallKind,
    ) -> Self {
        let permits = limits.max_in_flight.max(1);
        Self {
            policy,
            kind,
            buffered: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            credentials,
            limits,
            tenant,
            sent: Arc::new(AtomicU64::new(0)),
            in_flight: Arc::new(tokio::sync::Semaphore::new(permits)),
            traffic: Arc::new(Mutex::new(CallTraffic::default())),
            audit,
        }
    }

    /// Shared view of this call's traffic.
    pub fn traffic(&self) -> Arc<Mutex<CallTraffic>> {
        self.traffic.clone()
    }

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

    fn refuse(&self, why: String, error: HttpError) -> SendFuture {
        tracing::warn!(tenant = %self.tenant, "outbound request refused: {why}");
        lock(&self.traffic).violations.push(why);
        Box::new(async move { Err(error) })
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
        // Webhook signature headers (e.g. a vendor's `X-…-Signature`) are the upstream's to set.
        || name.as_str().ends_with("-signature")
}

impl WasiHttpHooks for EgressHooks {
    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        Arc::new(forbidden)
    }

    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        let method = request.method().to_string();
        let path = request.uri().path().to_string();
        let connecting = self
            .credentials
            .as_ref()
            .map(|c| c.account_sid().to_string())
            .unwrap_or_default();
        if let Err(denial) = decide(
            self.kind,
            &self.policy,
            &connecting,
            request.method(),
            request.uri(),
        ) {
            self.audit_denial(&method, &path, &denial);
            return self.refuse(format!("egress {denial}"), HttpError::HttpRequestDenied);
        }
        let host = match self.policy.check(request.uri()) {
            Ok(h) => h,
            Err(why) => {
                return self.refuse(
                    format!("egress denied: {method} {why}"),
                    HttpError::HttpRequestDenied,
                );
            }
        };
        let n = self.sent.fetch_add(1, Ordering::SeqCst) + 1;
        if n > self.limits.max_requests {
            return self.refuse(
                format!(
                    "request limit reached: more than {} outbound requests in one call",
                    self.limits.max_requests
                ),
                HttpError::ConnectionLimitReached,
            );
        }

        // Credentials are the host's: whatever the guest tried, only the tenant's own go out.
        let headers = request.headers_mut();
        headers.remove(AUTHORIZATION);
        // One representation only: the plain one, whole (no compression, no ranges, no
        // method tunnelling, no interim answers).
        for h in STRIPPED_HEADERS {
            headers.remove(*h);
        }
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        if let Some(c) = &self.credentials {
            match HeaderValue::from_str(&c.authorization()) {
                Ok(mut v) => {
                    v.set_sensitive(true);
                    headers.insert(AUTHORIZATION, v);
                }
                Err(_) => {
                    return self.refuse(
                        "credentials are not a valid header value".into(),
                        HttpError::HttpRequestDenied,
                    );
                }
            }
        }
        if let Ok(v) = HeaderValue::from_str(&host) {
            headers.insert(HOST, v);
        }
        if let Some(addr) = self.policy.connect_to {
            let pq = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
                .to_string();
            match Uri::builder()
                .scheme("http")
                .authority(addr.to_string())
                .path_and_query(pq)
                .build()
            {
                Ok(u) => *request.uri_mut() = u,
                Err(_) => {
                    return self.refuse(
                        "cannot build the --connect-to URI".into(),
                        HttpError::HttpRequestUriInvalid,
                    );
                }
            }
        }

        let limits = self.limits.clone();
        let credentials_for_redaction = self.credentials.clone();
        let buffered = self.buffered.clone();
        let traffic = self.traffic.clone();
        let audit = self.audit.clone();
        let tenant = self.tenant.clone();
        let semaphore = self.in_flight.clone();
        let options = Some(RequestOptions {
            connect_timeout: Some(
                options
                    .and_then(|o| o.connect_timeout)
                    .unwrap_or(limits.request_timeout)
                    .min(limits.request_timeout),
            ),
            first_byte_timeout: Some(limits.request_timeout),
            between_bytes_timeout: Some(limits.request_timeout),
        });
        Box::new(async move {
            let _permit = semaphore
                .acquire_owned()
                .await
                .map_err(|_| HttpError::InternalError(None))?;
            let started = Instant::now();
            let outcome = tokio::time::timeout(
                limits.request_timeout,
                fetch(request, options, limits.max_response_bytes),
            )
            .await;
            let outcome = match outcome {
                Ok(r) => r,
                Err(_) => Err(HttpError::HttpResponseTimeout),
            };
            let (status, bytes) = match &outcome {
                Ok((parts, body)) => (Some(parts.status.as_u16()), body.len()),
                Err(_) => (None, 0),
            };
            let event = RequestEvent {
                tenant,
                method,
                host: host.clone(),
                path,
                status,
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                bytes,
                error: outcome.as_ref().err().map(|e| format!("{e:?}")),
            };
            if let Some(a) = &audit {
                a.request(&event);
            }
            if let Err(HttpError::HttpResponseBodySize(_)) = &outcome {
                lock(&traffic).violations.push(format!(
                    "response from {host} exceeded the {} byte limit",
                    limits.max_response_bytes
                ));
            }
            let (mut parts, body) = outcome?;
            let credentials = credentials_for_redaction;
            let body = match answer_hygiene(&parts, body, credentials.as_deref()) {
                Ok(b) => b,
                Err(why) => {
                    lock(&traffic)
                        .violations
                        .push(format!("answer from {host} refused: {why}"));
                    return Err(HttpError::HttpResponseContentCoding(Some(why)));
                }
            };
            // Answers wait in host memory until the guest reads them: they count against the
            // call's memory budget, so a guest that never reads cannot make the host hoard.
            let n = body.len();
            let held = buffered.fetch_add(n, Ordering::SeqCst) + n;
            if held > limits.memory_bytes {
                buffered.fetch_sub(n, Ordering::SeqCst);
                lock(&traffic).violations.push(format!(
                    "answers held for the guest would exceed its {} MiB memory budget",
                    limits.memory_bytes >> 20
                ));
                return Err(HttpError::HttpResponseBodySize(Some(n as u64)));
            }
            parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(n));
            let body: WasiBody = CountedBody {
                inner: Full::new(body),
                counter: buffered,
                n,
            }
            .map_err(|never| match never {})
            .boxed_unsync();
            let io: Box<dyn Future<Output = Result<(), HttpError>> + Send> =
                Box::new(async { Ok(()) });
            Ok((http::Response::from_parts(parts, body), io))
        })
    }
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

/// Send and read the whole answer, refusing bodies over `cap` bytes.
async fn fetch(
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    cap: usize,
) -> Result<(http::response::Parts, Bytes), HttpError> {
    let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
    // The connection is driven on its own task while the body is read.
    let driver = tokio::spawn(io);
    let (parts, mut body) = response.into_parts();
    if parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > cap)
    {
        driver.abort();
        return Err(HttpError::HttpResponseBodySize(Some(cap as u64)));
    }
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > cap {
                driver.abort();
                return Err(HttpError::HttpResponseBodySize(Some(cap as u64)));
            }
            buf.extend_from_slice(&data);
        }
    }
    driver.abort();
    Ok((parts, buf.freeze()))
}

/// Field names whose values are secrets wherever they appear in an answer: the account
/// `auth_token`, API key and signing key `secret`, the `secondary_auth_token` (properties of
/// the Account, Key, SigningKey and AuthToken resources in the upstream's OpenAPI files, which
/// a test reads), and the usual names of credentials elsewhere.
pub const SECRET_FIELDS: &[&str] = &[
    "auth_token",
    "secondary_auth_token",
    "secret",
    "api_secret",
    "client_secret",
    "password",
    "private_key",
    "access_token",
    "refresh_token",
    "token",
];

/// What the guest may read of an answer: identity-encoded only; a success answer must be JSON
/// (an answer the host cannot read could carry a secret it cannot blank); a failure answer
/// that is not JSON reaches the guest without its body. Secrets are then blanked.
pub fn answer_hygiene(
    parts: &http::response::Parts,
    body: Bytes,
    credentials: Option<&Credentials>,
) -> Result<Bytes, String> {
    if let Some(enc) = parts.headers.get(CONTENT_ENCODING) {
        let enc = enc.to_str().unwrap_or("?").trim().to_ascii_lowercase();
        if enc != "identity" && !enc.is_empty() {
            return Err(format!(
                "the answer is encoded as {enc:?}; only identity is accepted"
            ));
        }
    }
    if body.is_empty() {
        return Ok(body);
    }
    if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err() {
        if parts.status.is_success() {
            return Err("a success answer whose body is not JSON".into());
        }
        return Ok(Bytes::new());
    }
    Ok(redact(body, credentials))
}

/// Blank every secret field in a JSON answer, and replace any echo of the tenant's secret
/// (as it is, URL-encoded, or inside `base64(user:secret)`) with `[redacted]`.
pub fn redact(body: Bytes, credentials: Option<&Credentials>) -> Bytes {
    let mut out = body;
    // Only answers that name a secret field (or hold escapes that could spell one) are parsed
    // and written again: most (usage, workers) carry none.
    let has = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    let mentions = SECRET_FIELDS.iter().any(|f| has(&out, f.as_bytes())) || has(&out, b"\\u");
    if mentions && let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&out) {
        blank_secrets(&mut v);
        out = Bytes::from(v.to_string());
    }
    if let Some(c) = credentials {
        let forms = c.secret_forms();
        if !forms.is_empty() {
            let mut text = String::from_utf8_lossy(&out).into_owned();
            let mut changed = false;
            for f in &forms {
                if text.contains(f.as_str()) {
                    text = text.replace(f.as_str(), "[redacted]");
                    changed = true;
                }
            }
            if changed {
                out = Bytes::from(text);
            }
        }
    }
    out
}

/// Blank secret fields everywhere in `v`.
fn blank_secrets(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if SECRET_FIELDS.contains(&k.as_str()) && !child.is_null() {
                    *child = serde_json::Value::String(String::new());
                } else {
                    blank_secrets(child);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(blank_secrets),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> EgressPolicy {
        EgressPolicy::for_hosts(
            &[
                "api.twilio.com".into(),
                "evil.example".into(),
                "x.twilio.com@evil".into(),
                "eviltwilio.com".into(),
            ],
            &[".twilio.com".into(), "other.example".into()],
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
    fn secret_fields_and_echoed_secrets_are_removed_in_every_form() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let basic = b64.encode("AC1:my-secret/token+1");
        let body = Bytes::from(format!(
            r#"{{"accounts":[{{"sid":"AC1","auth_token":"abcd1234"}}],"secret":"key-secret","secondary_auth_token":"sat","echo":"my-secret/token+1","basic":"Basic {basic}","url":"my-secret%2Ftoken%2B1"}}"#
        ));
        let out = redact(body, Some(&tenant()));
        let text = String::from_utf8(out.to_vec()).unwrap();
        for leaked in ["abcd1234", "key-secret", "\"sat\"", "my-secret", &basic] {
            assert!(!text.contains(leaked), "{leaked} in {text}");
        }
        assert!(text.contains(r#""auth_token":"""#));
    }

    fn parts(status: u16, encoding: Option<&str>) -> http::response::Parts {
        let mut r = http::Response::builder().status(status);
        if let Some(e) = encoding {
            r = r.header(CONTENT_ENCODING, e);
        }
        r.body(()).unwrap().into_parts().0
    }

    #[test]
    fn answers_must_be_plain_json_or_lose_their_body() {
        let ok = Bytes::from(r#"{"a":1}"#);
        assert!(answer_hygiene(&parts(200, None), ok.clone(), None).is_ok());
        assert!(answer_hygiene(&parts(200, Some("gzip")), ok.clone(), None).is_err());
        assert!(answer_hygiene(&parts(200, Some("identity")), ok, None).is_ok());
        // A truncated success answer that carries a token is refused, not passed on.
        let cut = Bytes::from(r#"{"accounts":[{"auth_token":"abcd1234""#);
        assert!(answer_hygiene(&parts(200, None), cut.clone(), None).is_err());
        let xml = Bytes::from("<Account><AuthToken>abcd1234</AuthToken></Account>");
        assert!(answer_hygiene(&parts(200, None), xml, None).is_err());
        // A failure answer that is not JSON reaches the guest without its body.
        let out = answer_hygiene(&parts(502, None), cut, None).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn every_secret_property_of_the_upstream_schemas_is_blanked() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/twilio-oai");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            panic!("{} is needed by this test", dir.display());
        };
        let mut names = std::collections::BTreeSet::new();
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().and_then(|x| x.to_str()) != Some("json") {
                continue;
            }
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for (_, schema) in v["components"]["schemas"].as_object().into_iter().flatten() {
                for (prop, _) in schema["properties"].as_object().into_iter().flatten() {
                    let p = prop.to_ascii_lowercase();
                    let secretish = p.contains("secret")
                        || p.contains("password")
                        || p == "auth_token"
                        || p.ends_with("_auth_token");
                    if secretish {
                        names.insert(prop.clone());
                    }
                }
            }
        }
        assert!(names.contains("auth_token"), "{names:?}");
        for n in &names {
            assert!(SECRET_FIELDS.contains(&n.as_str()), "{n} is not blanked");
        }
    }

    #[test]
    fn escaped_field_names_are_still_blanked() {
        let body = Bytes::from(r#"{"auth\u005ftoken":"abcd1234"}"#);
        let text = String::from_utf8(redact(body, None).to_vec()).unwrap();
        assert!(!text.contains("abcd1234"), "{text}");
    }

    #[test]
    fn guest_cannot_set_credentials() {
        assert!(forbidden(&AUTHORIZATION));
        assert!(forbidden(&HOST));
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
