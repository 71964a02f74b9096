//! HTTP Basic authentication as Twilio does it: Account SID + Auth Token, or API Key + secret.

use base64::Engine;

/// Who a request authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Valid credentials; the user part (an AC or SK SID).
    Valid(String),
    /// Credentials present but wrong; the user part as sent.
    Invalid(String),
    /// No usable Authorization header.
    Missing,
}

/// Check an `Authorization` header against the accepted `(user, secret)` pairs.
pub fn check(header: Option<&str>, accepted: &[(String, String)]) -> Caller {
    let Some(encoded) = header.and_then(|h| h.strip_prefix("Basic ")) else {
        return Caller::Missing;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return Caller::Missing;
    };
    let Ok(text) = String::from_utf8(decoded) else {
        return Caller::Missing;
    };
    let Some((user, secret)) = text.split_once(':') else {
        return Caller::Missing;
    };
    if accepted.iter().any(|(u, s)| u == user && s == secret) {
        Caller::Valid(user.to_string())
    } else {
        Caller::Invalid(user.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(u: &str, p: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    }

    #[test]
    fn accepts_only_known_pairs() {
        let ok = vec![("AC1".to_string(), "tok".to_string())];
        assert_eq!(
            check(Some(&basic("AC1", "tok")), &ok),
            Caller::Valid("AC1".into())
        );
        assert_eq!(
            check(Some(&basic("AC1", "nope")), &ok),
            Caller::Invalid("AC1".into())
        );
        assert_eq!(check(None, &ok), Caller::Missing);
        assert_eq!(check(Some("Bearer x"), &ok), Caller::Missing);
    }
}
