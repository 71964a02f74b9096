//! Credentials from Twilio's usual environment variables (`TWILIO_ACCOUNT_SID`,
//! `TWILIO_AUTH_TOKEN`, `TWILIO_API_KEY`, `TWILIO_API_SECRET`): the CLI's single-tenant source.

use connector_host::Credentials;

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

/// Read Twilio's usual variables through `get` (e.g. `std::env::var`); an API key wins over
/// the auth token when both are set.
pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Credentials, CredentialError> {
    let nonempty = |k: &'static str| -> Result<Option<String>, CredentialError> {
        match get(k) {
            Some(v) if v.trim().is_empty() => Err(CredentialError::Empty(k)),
            Some(v) => Ok(Some(v.trim().to_string())),
            None => Ok(None),
        }
    };
    let account_sid = nonempty("TWILIO_ACCOUNT_SID")?.ok_or(CredentialError::MissingAccountSid)?;
    if let Some(key_sid) = nonempty("TWILIO_API_KEY")? {
        let secret = nonempty("TWILIO_API_SECRET")?.ok_or(CredentialError::MissingApiSecret)?;
        return Ok(Credentials::ApiKey {
            account_sid,
            key_sid,
            secret,
        });
    }
    let auth_token = nonempty("TWILIO_AUTH_TOKEN")?.ok_or(CredentialError::MissingSecret)?;
    Ok(Credentials::AuthToken {
        account_sid,
        auth_token,
    })
}

/// Read from the process environment.
pub fn from_env() -> Result<Credentials, CredentialError> {
    from_lookup(|k| std::env::var(k).ok())
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
        let c = from_lookup(lookup(&[
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
        let e = from_lookup(lookup(&[("TWILIO_AUTH_TOKEN", "x")])).unwrap_err();
        assert!(e.to_string().contains("TWILIO_ACCOUNT_SID"));
        let e = from_lookup(lookup(&[("TWILIO_ACCOUNT_SID", "AC1")])).unwrap_err();
        assert!(e.to_string().contains("TWILIO_AUTH_TOKEN"));
        let e = from_lookup(lookup(&[
            ("TWILIO_ACCOUNT_SID", "AC1"),
            ("TWILIO_API_KEY", "SK"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("TWILIO_API_SECRET"));
        let e = from_lookup(lookup(&[
            ("TWILIO_ACCOUNT_SID", "AC1"),
            ("TWILIO_AUTH_TOKEN", " "),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("empty"));
    }
}
