//! Tenant credentials. They live only in the host: `Debug` never prints the secret, and the
//! guest only ever sees requests without them.

use base64::Engine as _;
use std::fmt;

/// How a tenant authenticates to Twilio.
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

/// Why credentials could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("TWILIO_ACCOUNT_SID is not set: the connecting account's SID is required")]
    MissingAccountSid,
    #[error(
        "no secret found: set TWILIO_AUTH_TOKEN, or TWILIO_API_KEY together with TWILIO_API_SECRET"
    )]
    MissingSecret,
    #[error("TWILIO_API_KEY is set but TWILIO_API_SECRET is not")]
    MissingApiSecret,
    #[error("{0} is empty")]
    Empty(&'static str),
}

impl Credentials {
    /// Read Twilio's usual variables through `get` (e.g. `std::env::var`).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, CredentialError> {
        let nonempty = |k: &'static str| -> Result<Option<String>, CredentialError> {
            match get(k) {
                Some(v) if v.trim().is_empty() => Err(CredentialError::Empty(k)),
                Some(v) => Ok(Some(v.trim().to_string())),
                None => Ok(None),
            }
        };
        let account_sid =
            nonempty("TWILIO_ACCOUNT_SID")?.ok_or(CredentialError::MissingAccountSid)?;
        if let Some(key_sid) = nonempty("TWILIO_API_KEY")? {
            let secret = nonempty("TWILIO_API_SECRET")?.ok_or(CredentialError::MissingApiSecret)?;
            return Ok(Self::ApiKey {
                account_sid,
                key_sid,
                secret,
            });
        }
        let auth_token = nonempty("TWILIO_AUTH_TOKEN")?.ok_or(CredentialError::MissingSecret)?;
        Ok(Self::AuthToken {
            account_sid,
            auth_token,
        })
    }

    /// Read from the process environment.
    pub fn from_env() -> Result<Self, CredentialError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// The connecting account's SID (not a secret; passed to the plugin).
    pub fn account_sid(&self) -> &str {
        match self {
            Self::AuthToken { account_sid, .. } | Self::ApiKey { account_sid, .. } => account_sid,
        }
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

    /// The `Authorization` header value.
    pub(crate) fn authorization(&self) -> String {
        let raw = format!("{}:{}", self.user(), self.secret());
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn prefers_api_key_and_never_debug_prints_secrets() {
        let c = Credentials::from_lookup(lookup(&[
            ("TWILIO_ACCOUNT_SID", "AC1"),
            ("TWILIO_AUTH_TOKEN", "tok-secret"),
            ("TWILIO_API_KEY", "SK1"),
            ("TWILIO_API_SECRET", "key-secret"),
        ]))
        .unwrap();
        assert_eq!(c.user(), "SK1");
        assert_eq!(c.account_sid(), "AC1");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("key-secret") && dbg.contains("redacted"));
    }

    #[test]
    fn missing_pieces_are_named() {
        let e = Credentials::from_lookup(lookup(&[("TWILIO_AUTH_TOKEN", "x")])).unwrap_err();
        assert!(e.to_string().contains("TWILIO_ACCOUNT_SID"));
        let e = Credentials::from_lookup(lookup(&[("TWILIO_ACCOUNT_SID", "AC1")])).unwrap_err();
        assert!(e.to_string().contains("TWILIO_AUTH_TOKEN"));
        let e = Credentials::from_lookup(lookup(&[
            ("TWILIO_ACCOUNT_SID", "AC1"),
            ("TWILIO_API_KEY", "SK"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("TWILIO_API_SECRET"));
        let e = Credentials::from_lookup(lookup(&[
            ("TWILIO_ACCOUNT_SID", "AC1"),
            ("TWILIO_AUTH_TOKEN", " "),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("empty"));
    }
}
