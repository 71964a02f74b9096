//! Tenant credentials. They live only in the host: `Debug` never prints the secret, and the
//! guest only ever sees requests without them.

use base64::Engine as _;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use crate::oauth::{MintError, TokenEndpoint};

/// What the host attaches to a tenant's requests: HTTP Basic ([`Credentials`]), a token it
/// mints ([`crate::oauth::ClientCredentials`]), or the next vendor's scheme. Held by the host
/// only; its secrets never reach the guest, the output, the audit or kept state.
pub trait Credential: Send + Sync + fmt::Debug {
    /// Who it is (an account, key or client id): for errors, never a secret.
    fn label(&self) -> &str;
    /// The `Authorization` value of one request; `endpoint` reaches a token URL when the
    /// scheme mints.
    fn authorization<'a>(
        &'a self,
        endpoint: &'a dyn TokenEndpoint,
    ) -> Pin<Box<dyn Future<Output = Result<String, MintError>> + Send + 'a>>;
    /// The upstream refused `sent` (401): whether asking [`Credential::authorization`]
    /// again can give another value worth one more try.
    fn refused(&self, sent: &str) -> bool {
        let _ = sent;
        false
    }
    /// Every form its secrets can take in text, to blank and to refuse in kept state.
    fn secret_forms(&self) -> Vec<String>;
}

/// A credential and the hosts it is for: requests to those hosts carry it instead of the
/// tenant's main credential.
#[derive(Debug, Clone)]
pub struct BoundCredential {
    pub hosts: Vec<String>,
    pub credential: Arc<dyn Credential>,
}

impl BoundCredential {
    pub fn new(hosts: &[&str], credential: Arc<dyn Credential>) -> Self {
        Self {
            hosts: hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
            credential,
        }
    }

    pub fn serves(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

impl Credential for Credentials {
    fn label(&self) -> &str {
        self.user()
    }

    fn authorization<'a>(
        &'a self,
        _endpoint: &'a dyn TokenEndpoint,
    ) -> Pin<Box<dyn Future<Output = Result<String, MintError>> + Send + 'a>> {
        let value = Credentials::authorization(self);
        Box::pin(async move { Ok(value) })
    }

    fn secret_forms(&self) -> Vec<String> {
        Credentials::secret_forms(self)
    }
}

/// How a tenant authenticates upstream (HTTP Basic: an account or key id and its secret).
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Account SID + Auth Token.
    AuthToken {
        account_sid: String,
        auth_token: String,
    },
    /// API Key SID + secret, acting on `account_sid`.
    ApiKey {
        account_sid: String,
        key_sid: String,
        secret: String,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AuthToken { account_sid, .. } => {
                write!(
                    f,
                    "AuthToken {{ account_sid: {account_sid}, auth_token: <redacted> }}"
                )
            }
            Self::ApiKey {
                account_sid,
                key_sid,
                ..
            } => write!(
                f,
                "ApiKey {{ account_sid: {account_sid}, key_sid: {key_sid}, secret: <redacted> }}"
            ),
        }
    }
}

impl Credentials {
    /// The connecting account's SID (not a secret; passed to the plugin).
    pub fn account_sid(&self) -> &str {
        match self {
            Self::AuthToken { account_sid, .. } | Self::ApiKey { account_sid, .. } => account_sid,
        }
    }

    /// Which upstream gate these credentials share (`upstream_gate.rs`): the account with a
    /// digest of the credential, so calls made with the same credentials share the account's
    /// limit while a tenant that merely names an account (with another or a wrong secret)
    /// shares nothing with it. Kept in memory only; the digest is not the secret.
    pub(crate) fn gate_key(&self) -> String {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(format!("{}:{}", self.user(), self.secret()));
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("{}/{hex}", self.account_sid())
    }

    /// The Basic-auth user (account SID or key SID).
    pub fn user(&self) -> &str {
        match self {
            Self::AuthToken { account_sid, .. } => account_sid,
            Self::ApiKey { key_sid, .. } => key_sid,
        }
    }

    /// The secret, for redaction only.
    pub(crate) fn secret(&self) -> &str {
        match self {
            Self::AuthToken { auth_token, .. } => auth_token,
            Self::ApiKey { secret, .. } => secret,
        }
    }

    /// The ways the secret can appear in text: as it is, URL-encoded, and inside
    /// `base64(user:secret)` or `base64(secret)`. Empty for secrets too short to look for.
    pub(crate) fn secret_forms(&self) -> Vec<String> {
        let secret = self.secret();
        if secret.len() < 4 {
            return Vec::new();
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        [
            secret.to_string(),
            url_encode(secret),
            b64.encode(format!("{}:{secret}", self.user())),
            b64.encode(secret),
        ]
        .into_iter()
        .filter(|f| f.len() >= 4)
        .collect()
    }

    /// The `Authorization` header value.
    pub(crate) fn authorization(&self) -> String {
        let raw = format!("{}:{}", self.user(), self.secret());
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// Percent-encode every byte but unreserved ones (how a secret looks inside a URL or form).
pub(crate) fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
