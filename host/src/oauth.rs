//! OAuth 2.0 client credentials (RFC 6749 §4.4) the host mints access tokens from: the host
//! posts the client's id and secret to the token URL itself (never through a plugin route),
//! keeps the token until shortly before it expires, refreshes it once when the upstream
//! refuses it, and lets one request mint at a time, so a burst of requests mints one token.
//! The token is a secret like the client secret: its forms are blanked and checked wherever
//! the tenant's secrets are.

use crate::credentials::url_encode;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A token is refreshed this long before it expires, so none goes out about to lapse.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// The longest a token is kept, whatever the endpoint says (Twilio's last one hour).
pub const MAX_LIFETIME: Duration = Duration::from_secs(3600);
/// Tokens replaced or refused that are still blanked (they may be live until they expire).
const MAX_RETIRED: usize = 8;

/// The largest token answer read.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A token endpoint's answer, on its way: status and body, or why there is none.
pub type FormAnswer<'a> = Pin<Box<dyn Future<Output = Result<(u16, Vec<u8>), String>> + Send + 'a>>;

/// How the host reaches the token URL: a form POST, its status and body (bounded).
pub trait TokenEndpoint: Send + Sync {
    fn post_form<'a>(&'a self, url: &'a str, form: String) -> FormAnswer<'a>;
}

/// Why no token could be had. Names the client id, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    #[error(
        "the token endpoint refused OAuth client {client_id} (HTTP {status}): check its client id and secret"
    )]
    Refused { client_id: String, status: u16 },
    #[error("the token endpoint for OAuth client {client_id} could not be reached: {why}")]
    Unreachable { client_id: String, why: String },
    #[error(
        "the token endpoint for OAuth client {client_id} answered without a usable access token: {why}"
    )]
    Malformed { client_id: String, why: String },
}

struct Cached {
    token: String,
    renew_at: Instant,
}

/// One OAuth client of a tenant.
pub struct ClientCredentials {
    client_id: String,
    client_secret: String,
    token_url: String,
    cached: Mutex<Option<Cached>>,
    /// Tokens replaced or refused, kept as secret forms until they would have expired.
    retired: Mutex<Vec<Cached>>,
    /// Held while a token is minted.
    minting: tokio::sync::Mutex<()>,
    minted: AtomicU64,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ClientCredentials {{ client_id: {}, client_secret: <redacted>, token_url: {} }}",
            self.client_id, self.token_url
        )
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ClientCredentials {
    pub fn new(client_id: &str, client_secret: &str, token_url: &str) -> Self {
        Self {
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            token_url: token_url.to_string(),
            cached: Mutex::new(None),
            retired: Mutex::new(Vec::new()),
            minting: tokio::sync::Mutex::new(()),
            minted: AtomicU64::new(0),
        }
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    /// Tokens minted so far.
    pub fn minted(&self) -> u64 {
        self.minted.load(Ordering::SeqCst)
    }

    fn fresh(&self, now: Instant) -> Option<String> {
        lock(&self.cached)
            .as_ref()
            .filter(|c| now < c.renew_at)
            .map(|c| c.token.clone())
    }

    /// A live access token: the kept one, or one minted now (one minting at a time; a
    /// request that waited for another's minting takes its token).
    pub async fn token(&self, endpoint: &dyn TokenEndpoint) -> Result<String, MintError> {
        if let Some(t) = self.fresh(Instant::now()) {
            return Ok(t);
        }
        let _one = self.minting.lock().await;
        if let Some(t) = self.fresh(Instant::now()) {
            return Ok(t);
        }
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            url_encode(&self.client_id),
            url_encode(&self.client_secret)
        );
        let asked = Instant::now();
        let (status, body) = endpoint
            .post_form(&self.token_url, form)
            .await
            .map_err(|why| MintError::Unreachable {
                client_id: self.client_id.clone(),
                why: self.blank(&why),
            })?;
        if !(200..300).contains(&status) {
            return Err(MintError::Refused {
                client_id: self.client_id.clone(),
                status,
            });
        }
        let (token, lifetime) = parse_answer(&body).map_err(|why| MintError::Malformed {
            client_id: self.client_id.clone(),
            why,
        })?;
        self.minted.fetch_add(1, Ordering::SeqCst);
        let renew_at = asked + lifetime.saturating_sub(REFRESH_MARGIN);
        let old = lock(&self.cached).replace(Cached {
            token: token.clone(),
            renew_at,
        });
        if let Some(old) = old {
            self.retire(old);
        }
        Ok(token)
    }

    /// The upstream refused `token` (401): forget it, unless a newer one replaced it already.
    /// It stays among the secret forms until it would have expired (it may still be live).
    pub fn refused(&self, token: &str) {
        let mut c = lock(&self.cached);
        if c.as_ref().is_some_and(|c| c.token == token)
            && let Some(old) = c.take()
        {
            self.retire(old);
        }
    }

    /// Keep `old`'s text among the secret forms until it would have expired.
    fn retire(&self, old: Cached) {
        let mut r = lock(&self.retired);
        let now = Instant::now();
        r.retain(|c| c.renew_at + REFRESH_MARGIN > now);
        if r.len() >= MAX_RETIRED {
            r.remove(0);
        }
        r.push(old);
    }

    /// The forms the client's secrets can take in text: the client secret and the token
    /// kept now, as they are and URL-encoded.
    pub fn secret_forms(&self) -> Vec<String> {
        let mut forms = vec![self.client_secret.clone(), url_encode(&self.client_secret)];
        if let Some(c) = lock(&self.cached).as_ref() {
            forms.push(c.token.clone());
            forms.push(url_encode(&c.token));
        }
        for c in lock(&self.retired).iter() {
            forms.push(c.token.clone());
            forms.push(url_encode(&c.token));
        }
        forms.retain(|f| f.len() >= 4);
        forms.dedup();
        forms
    }

    /// `text` with every form of the client's secrets blanked.
    fn blank(&self, text: &str) -> String {
        let mut t = text.to_string();
        for f in self.secret_forms() {
            t = t.replace(&f, "[redacted]");
        }
        t
    }
}

impl crate::credentials::Credential for ClientCredentials {
    fn label(&self) -> &str {
        &self.client_id
    }

    fn authorization<'a>(
        &'a self,
        endpoint: &'a dyn TokenEndpoint,
    ) -> Pin<Box<dyn Future<Output = Result<String, MintError>> + Send + 'a>> {
        Box::pin(async move { Ok(format!("Bearer {}", self.token(endpoint).await?)) })
    }

    fn refused(&self, sent: &str) -> bool {
        if let Some(token) = sent.strip_prefix("Bearer ") {
            ClientCredentials::refused(self, token);
        }
        true
    }

    fn secret_forms(&self) -> Vec<String> {
        ClientCredentials::secret_forms(self)
    }
}

/// `access_token` and how long it lives from a token answer. `expires_in` is seconds (RFC
/// 6749 §5.1); a value too large to be seconds is read as a time in epoch milliseconds, as
/// Twilio's OpenAPI example shows one. Never longer than [`MAX_LIFETIME`]; absent, one hour.
fn parse_answer(body: &[u8]) -> Result<(String, Duration), String> {
    if body.len() > MAX_ANSWER_BYTES {
        return Err(format!(
            "the answer is larger than {MAX_ANSWER_BYTES} bytes"
        ));
    }
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON ({e})"))?;
    let token = v["access_token"]
        .as_str()
        .filter(|t| {
            !t.is_empty() && t.len() <= 8192 && t.bytes().all(|b| (0x21..0x7f).contains(&b))
        })
        .ok_or("no access_token of visible ASCII")?
        .to_string();
    if let Some(kind) = v["token_type"].as_str()
        && !kind.eq_ignore_ascii_case("bearer")
    {
        return Err(format!("token_type {kind:?} is not bearer"));
    }
    let lifetime = match v["expires_in"].as_u64() {
        None => MAX_LIFETIME,
        Some(s) if s < 10_000_000_000 => Duration::from_secs(s),
        Some(ms) => {
            let now_ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
            Duration::from_millis(ms.saturating_sub(now_ms))
        }
    };
    Ok((token, lifetime.min(MAX_LIFETIME)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A token endpoint that counts its calls and answers each with a new token.
    struct Endpoint {
        calls: AtomicU64,
        status: u16,
        expires_in: u64,
        delay: Duration,
    }

    impl TokenEndpoint for Endpoint {
        fn post_form<'a>(&'a self, _url: &'a str, form: String) -> FormAnswer<'a> {
            Box::pin(async move {
                assert!(form.contains("grant_type=client_credentials"));
                tokio::time::sleep(self.delay).await;
                let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
                let body = format!(
                    r#"{{"access_token":"token-{n}","token_type":"bearer","expires_in":{}}}"#,
                    self.expires_in
                );
                Ok((self.status, body.into_bytes()))
            })
        }
    }

    fn endpoint(status: u16, expires_in: u64) -> Endpoint {
        Endpoint {
            calls: AtomicU64::new(0),
            status,
            expires_in,
            delay: Duration::from_millis(20),
        }
    }

    #[tokio::test]
    async fn a_refused_token_stays_blanked_after_a_new_one_is_minted() {
        let c = ClientCredentials::new("OQ1", "s3cret-value", "https://x/v2/token");
        let e = endpoint(200, 3600);
        assert_eq!(c.token(&e).await.unwrap(), "token-1");
        c.refused("token-1");
        assert_eq!(c.token(&e).await.unwrap(), "token-2");
        let forms = c.secret_forms();
        for t in ["token-1", "token-2", "s3cret-value"] {
            assert!(forms.iter().any(|f| f == t), "{t} in {forms:?}");
        }
        assert_eq!(
            c.blank("saw token-1 and token-2"),
            "saw [redacted] and [redacted]"
        );
    }

    #[tokio::test]
    async fn a_burst_mints_one_token_and_keeps_it() {
        let c = Arc::new(ClientCredentials::new(
            "OQ1",
            "s3cret-value",
            "https://x/v2/token",
        ));
        let e = Arc::new(endpoint(200, 3600));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (c, e) = (c.clone(), e.clone());
            tasks.push(tokio::spawn(async move { c.token(&*e).await.unwrap() }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), "token-1");
        }
        assert_eq!(c.token(&*e).await.unwrap(), "token-1");
        assert_eq!(e.calls.load(Ordering::SeqCst), 1);
        assert_eq!(c.minted(), 1);
        assert!(c.secret_forms().contains(&"token-1".to_string()));
    }

    #[tokio::test]
    async fn a_refused_token_is_minted_again_once() {
        let c = ClientCredentials::new("OQ1", "s3cret-value", "https://x/v2/token");
        let e = endpoint(200, 3600);
        let t1 = c.token(&e).await.unwrap();
        c.refused(&t1);
        let t2 = c.token(&e).await.unwrap();
        assert_ne!(t1, t2);
        // A refusal of an older token does not drop the newer one.
        c.refused(&t1);
        assert_eq!(c.token(&e).await.unwrap(), t2);
        assert_eq!(e.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_short_lived_token_is_renewed_before_it_lapses() {
        let c = ClientCredentials::new("OQ1", "s3cret-value", "https://x/v2/token");
        // Lives less than the margin: never reused.
        let e = endpoint(200, 30);
        c.token(&e).await.unwrap();
        c.token(&e).await.unwrap();
        assert_eq!(e.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_refusal_names_the_client_never_the_secret() {
        let c = ClientCredentials::new("OQ1", "s3cret-value", "https://x/v2/token");
        let e = c.token(&endpoint(401, 3600)).await.unwrap_err();
        let text = e.to_string();
        assert!(text.contains("OQ1") && text.contains("401"), "{text}");
        assert!(!text.contains("s3cret"));
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn answers_are_read_strictly() {
        let ok = |b: &str| parse_answer(b.as_bytes());
        assert_eq!(
            ok(r#"{"access_token":"abc","expires_in":600}"#).unwrap().1,
            Duration::from_secs(600)
        );
        assert_eq!(
            ok(r#"{"access_token":"abc","expires_in":999999}"#)
                .unwrap()
                .1,
            MAX_LIFETIME
        );
        assert_eq!(ok(r#"{"access_token":"abc"}"#).unwrap().1, MAX_LIFETIME);
        // An epoch-milliseconds expiry in the past: nothing to keep.
        assert_eq!(
            ok(r#"{"access_token":"abc","expires_in":1438315200000}"#)
                .unwrap()
                .1,
            Duration::ZERO
        );
        for bad in [
            r#"{"expires_in":600}"#,
            r#"{"access_token":""}"#,
            r#"{"access_token":"a b"}"#,
            r#"{"access_token":"abc","token_type":"mac"}"#,
            "not json",
        ] {
            assert!(ok(bad).is_err(), "{bad}");
        }
    }
}
