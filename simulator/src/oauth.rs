//! OAuth 2.0 client credentials: the token URLs mint opaque bearer tokens that last an hour, and
//! the organization APIs accept only a live token of one of the organization's OAuth apps.
//!
//! Two token URLs are documented and both are served:
//! - `POST oauth.twilio.com/v2/token` (`twilio_oauth_v2.json`, operationId `CreateOauth2Token`,
//!   `200` with `#/components/schemas/V2Oauth2TokenResponse`; the tokenUrl of its
//!   `v2_oauth2_client_credentials` security scheme);
//! - `POST preview-iam.twilio.com/v1/token` (`twilio_iam_organizations.json`, operationId
//!   `CreateToken`, `201` with `#/components/schemas/oauth.v1.token`; the tokenUrl of its
//!   `oAuth2ClientCredentials` security scheme, the one the organization APIs name).
//!
//! Both take a form-encoded `grant_type`, `client_id` and `client_secret` (their
//! `requestBody` is `application/x-www-form-urlencoded`) and need no other credentials
//! (`security: []`).

use crate::fixture::OAuthClient;
use crate::hosts::{OAUTH, PREVIEW_IAM};
use crate::state::{Answer, State, error};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// How long a token lasts: one hour (Twilio's OAuth pages: an access token is valid for one
/// hour), sent as `expires_in` in seconds (RFC 6749 section 5.1).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The `token_type` sent, as the `create` examples of both token operations spell it.
pub const TOKEN_TYPE: &str = "bearer";

/// The tokens minted so far, live or expired.
#[derive(Debug, Default)]
pub struct Tokens {
    issued: HashMap<String, Issued>,
    minted: u64,
}

/// What a token was minted for.
#[derive(Debug, Clone)]
pub struct Issued {
    pub client_id: String,
    pub organization_sid: String,
    pub expires: Instant,
}

/// What an `Authorization` header presents to a bearer-only API.
#[derive(Debug)]
pub enum Presented<'a> {
    /// A token the simulator minted that has not expired.
    Live(&'a Issued),
    /// A token the simulator minted that has expired.
    Expired,
    /// A bearer token the simulator never minted.
    Unknown,
    /// No `Authorization`, or another scheme (Basic: an account's or an API key's secret).
    NotBearer,
}

impl Tokens {
    /// Mint a token for `client`.
    pub fn mint(&mut self, client: &OAuthClient) -> String {
        self.minted += 1;
        let token = opaque_token(self.minted);
        self.issued.insert(
            token.clone(),
            Issued {
                client_id: client.client_id.clone(),
                organization_sid: client.organization_sid.clone(),
                expires: Instant::now() + TOKEN_LIFETIME,
            },
        );
        token
    }

    /// How many tokens were minted.
    pub fn minted(&self) -> u64 {
        self.minted
    }

    /// Let every token minted so far expire now.
    pub fn expire_all(&mut self) {
        let now = Instant::now();
        for t in self.issued.values_mut() {
            t.expires = now;
        }
    }

    /// Every token minted so far (secrets, like the credentials that minted them).
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.issued.keys().map(String::as_str)
    }

    /// What `authorization` presents.
    pub fn presented(&self, authorization: Option<&str>) -> Presented<'_> {
        let Some(token) = bearer_token(authorization) else {
            return Presented::NotBearer;
        };
        match self.issued.get(token) {
            Some(t) if Instant::now() < t.expires => Presented::Live(t),
            Some(_) => Presented::Expired,
            None => Presented::Unknown,
        }
    }
}

/// The token of a `Bearer` credential (RFC 6750 section 2.1; the scheme name is
/// case-insensitive, RFC 9110 section 11.1).
pub fn bearer_token(authorization: Option<&str>) -> Option<&str> {
    let (scheme, token) = authorization?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// An opaque, unguessable token: 256 bits from std's randomly keyed hasher (fresh keys per
/// `RandomState`), mixed with a counter and the clock.
fn opaque_token(n: u64) -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    (0..4u8)
        .map(|i| {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(n);
            h.write_u128(nanos);
            h.write_u8(i);
            format!("{:016x}", h.finish())
        })
        .collect()
}

/// Whether `host` `path` is a token URL, and the status its success answers with.
pub fn token_url(host: &str, path: &str) -> Option<u16> {
    match (host, path) {
        // twilio_oauth_v2.json, CreateOauth2Token: responses."200".
        (OAUTH, "/v2/token") => Some(200),
        // twilio_iam_organizations.json, CreateToken: responses."201".
        (PREVIEW_IAM, "/v1/token") => Some(201),
        _ => None,
    }
}

/// The OAuth client whose credentials a token request's form carries, if they are right.
fn client_of<'a>(state: &'a State, form: &BTreeMap<String, String>) -> Option<&'a OAuthClient> {
    let id = form.get("client_id")?;
    let secret = form.get("client_secret")?;
    state
        .fixture
        .oauth_clients
        .iter()
        .find(|c| &c.client_id == id && &c.client_secret == secret)
}

/// Who a request to an OAuth-authenticated host is, for the request log: the client id and
/// whether its client credentials (at a token URL) or its bearer token (elsewhere) were
/// accepted.
pub fn who(
    state: &State,
    host: &str,
    path: &str,
    authorization: Option<&str>,
    body: &str,
) -> (Option<String>, bool) {
    if token_url(host, path).is_some() {
        let form = crate::form::parse_form(body);
        let ok = client_of(state, &form).is_some();
        return (form.get("client_id").cloned(), ok);
    }
    match state.tokens.presented(authorization) {
        Presented::Live(t) => (Some(t.client_id.clone()), true),
        _ => (None, false),
    }
}

/// `POST` a token URL: the client credentials grant (RFC 6749 section 4.4) answered with
/// `access_token`, `token_type` and `expires_in`, the properties both response schemas share
/// (no refresh token: "A refresh token SHOULD NOT be included", RFC 6749 section 4.4.3).
pub fn token(
    state: &mut State,
    success: u16,
    method: &str,
    form: &BTreeMap<String, String>,
) -> Answer {
    if method != "POST" {
        return error(405, 20004, "Method not allowed");
    }
    // twilio_oauth_v2.json, CreateOauth2Token responses."400" is
    // #/components/responses/ErrorClientErrorResponse: the `Error` schema, whose example is
    // code 400, status 400.
    match form.get("grant_type").map(String::as_str) {
        None | Some("") => return error(400, 400, "grant_type is required"),
        Some("client_credentials") => {}
        Some(other) => {
            return error(
                400,
                400,
                &format!("unsupported grant_type {other}: the simulator grants client_credentials"),
            );
        }
    }
    // CreateToken's request schema: `required: [grant_type, client_id]`.
    if form.get("client_id").is_none_or(|c| c.is_empty()) {
        return error(400, 400, "client_id is required");
    }
    let Some(client) = client_of(state, form).cloned() else {
        // A wrong client id or secret: "invalid_client", which may be answered 401 (RFC 6749
        // section 5.2), with Twilio's error body (`Error` in twilio_oauth_v2.json) and
        // Twilio's authentication error code 20003.
        return error(401, 20003, "Authenticate: invalid client credentials");
    };
    let access_token = state.tokens.mint(&client);
    (
        success,
        Some(json!({
            "access_token": access_token,
            "token_type": TOKEN_TYPE,
            "expires_in": TOKEN_LIFETIME.as_secs(),
        })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> OAuthClient {
        OAuthClient {
            client_id: "OQ00000000000000000000000000000001".into(),
            client_secret: "s3cret".into(),
            organization_sid: "OR00000000000000000000000000000001".into(),
            user_sid: None,
        }
    }

    #[test]
    fn tokens_are_opaque_distinct_and_live_for_an_hour() {
        let mut t = Tokens::default();
        let a = t.mint(&client());
        let b = t.mint(&client());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(t.minted(), 2);
        match t.presented(Some(&format!("Bearer {a}"))) {
            Presented::Live(i) => {
                assert_eq!(i.client_id, client().client_id);
                let left = i.expires - Instant::now();
                assert!(left > Duration::from_secs(3590) && left <= TOKEN_LIFETIME);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            t.presented(Some(&format!("bearer {b}"))),
            Presented::Live(_)
        ));
        assert!(matches!(
            t.presented(Some("Bearer nope")),
            Presented::Unknown
        ));
        assert!(matches!(
            t.presented(Some("Basic QUM6dA==")),
            Presented::NotBearer
        ));
        assert!(matches!(t.presented(None), Presented::NotBearer));
        t.expire_all();
        assert!(matches!(
            t.presented(Some(&format!("Bearer {a}"))),
            Presented::Expired
        ));
        let c = t.mint(&client());
        assert!(matches!(
            t.presented(Some(&format!("Bearer {c}"))),
            Presented::Live(_)
        ));
        assert_eq!(t.values().count(), 3);
    }

    #[test]
    fn bearer_credentials_are_read_as_rfc_6750_writes_them() {
        assert_eq!(bearer_token(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(Some("BEARER  abc ")), Some("abc"));
        assert_eq!(bearer_token(Some("Bearer ")), None);
        assert_eq!(bearer_token(Some("Basic abc")), None);
        assert_eq!(bearer_token(Some("Bearerabc")), None);
        assert_eq!(bearer_token(None), None);
    }

    #[test]
    fn the_token_urls_are_the_documented_ones() {
        assert_eq!(token_url(OAUTH, "/v2/token"), Some(200));
        assert_eq!(token_url(PREVIEW_IAM, "/v1/token"), Some(201));
        assert_eq!(token_url(OAUTH, "/v1/token"), None);
        assert_eq!(token_url(PREVIEW_IAM, "/v2/token"), None);
    }
}
