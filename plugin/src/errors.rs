//! Typed connector errors and the mapping of Twilio's error answers onto them.

use serde::Deserialize;
use std::fmt;

/// Typed failure of a connector call (mirrors the WIT `connector-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectorError {
    Unauthorized(String),
    Forbidden(String),
    NotFound(String),
    RateLimited {
        retry_after_ms: Option<u64>,
        message: String,
    },
    InvalidConfig(String),
    InvalidInput(String),
    Unsupported(String),
    Refused(String),
    Upstream {
        status: u16,
        code: Option<u32>,
        message: String,
    },
    Transport(String),
    MalformedResponse(String),
}

impl fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unauthorized(m) => write!(f, "unauthorized: {m}"),
            Self::Forbidden(m) => write!(f, "forbidden: {m}"),
            Self::NotFound(m) => write!(f, "not found: {m}"),
            Self::RateLimited { message, .. } => write!(f, "rate limited: {message}"),
            Self::InvalidConfig(m) => write!(f, "invalid configuration: {m}"),
            Self::InvalidInput(m) => write!(f, "invalid input: {m}"),
            Self::Unsupported(m) => write!(f, "unsupported: {m}"),
            Self::Refused(m) => write!(f, "refused: {m}"),
            Self::Upstream {
                status,
                code,
                message,
            } => match code {
                Some(c) => write!(
                    f,
                    "upstream error: HTTP {status}, Twilio error {c}: {message}"
                ),
                None => write!(f, "upstream error: HTTP {status}: {message}"),
            },
            Self::Transport(m) => write!(f, "transport error: {m}"),
            Self::MalformedResponse(m) => write!(f, "malformed response: {m}"),
        }
    }
}

/// Twilio's JSON error body: `{code, message, more_info, status}`.
#[derive(Debug, Deserialize, Default)]
struct TwilioErrorBody {
    code: Option<u32>,
    message: Option<String>,
}

/// Map a non-2xx Twilio answer to a typed error. `what` names the resource asked for.
pub fn from_status(
    status: u16,
    body: &[u8],
    retry_after_ms: Option<u64>,
    what: &str,
) -> ConnectorError {
    let parsed: TwilioErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let message = parsed
        .message
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| format!("HTTP {status} without a Twilio error body"));
    let code = parsed.code;
    match (status, code) {
        (401, _) | (_, Some(20003)) => ConnectorError::Unauthorized(format!(
            "Twilio rejected the credentials ({}{message}); check the account SID and auth token, \
             or use a Main API key where a Standard key is not enough",
            code.map(|c| format!("error {c}: ")).unwrap_or_default()
        )),
        (403, _) => ConnectorError::Forbidden(format!("{what}: {message}")),
        (404, _) | (_, Some(20404)) => ConnectorError::NotFound(format!("{what}: {message}")),
        (429, _) | (_, Some(20429)) => ConnectorError::RateLimited {
            retry_after_ms,
            message: format!("{what}: {message}"),
        },
        _ => ConnectorError::Upstream {
            status,
            code,
            message: format!("{what}: {message}"),
        },
    }
}

/// The account stayed throttled for as long as the call could wait: `what` was refused with
/// `answer` (a 429) `refusals` times over `retried_ms`, and the call's time budget leaves no room
/// for another wait.
pub fn throttled(
    what: &str,
    answer: &crate::http::Response,
    refusals: u32,
    retried_ms: u64,
) -> ConnectorError {
    let parsed: TwilioErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
    let said = match (parsed.code, parsed.message.filter(|m| !m.is_empty())) {
        (Some(c), Some(m)) => format!(", Twilio error {c}: {m}"),
        (Some(c), None) => format!(", Twilio error {c}"),
        (None, Some(m)) => format!(": {m}"),
        (None, None) => String::new(),
    };
    ConnectorError::RateLimited {
        retry_after_ms: answer.retry_after_ms,
        message: format!(
            "the account is throttled by Twilio (HTTP {}{said}): {what} was refused {refusals} \
             time(s) and retried for {}, until the call's time budget left no room for another wait",
            answer.status,
            seconds(retried_ms)
        ),
    }
}

/// A duration for people: tenths of a second under ten seconds, whole seconds above.
fn seconds(ms: u64) -> String {
    if ms < 10_000 {
        format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
    } else {
        format!("{} s", ms / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_twilio_error_codes() {
        let body = br#"{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}"#;
        assert!(matches!(
            from_status(401, body, None, "accounts"),
            ConnectorError::Unauthorized(m) if m.contains("20003")
        ));
        let body =
            br#"{"code":20404,"message":"The requested resource was not found","status":404}"#;
        assert!(matches!(
            from_status(404, body, None, "account AC1"),
            ConnectorError::NotFound(m) if m.contains("AC1")
        ));
        let e = from_status(
            429,
            b"{\"code\":20429,\"message\":\"Too many requests\"}",
            Some(2000),
            "x",
        );
        assert_eq!(
            e,
            ConnectorError::RateLimited {
                retry_after_ms: Some(2000),
                message: "x: Too many requests".into()
            }
        );
    }

    #[test]
    fn a_throttle_that_outlasts_the_budget_says_so() {
        let answer = crate::http::Response {
            status: 429,
            retry_after_ms: None,
            body: br#"{"code":20429,"message":"Too many requests"}"#.to_vec(),
        };
        let e = throttled("GET /2010-04-01/Accounts.json", &answer, 12, 63_400);
        assert_eq!(
            e.to_string(),
            "rate limited: the account is throttled by Twilio (HTTP 429, Twilio error 20429: \
             Too many requests): GET /2010-04-01/Accounts.json was refused 12 time(s) and retried \
             for 63 s, until the call's time budget left no room for another wait"
        );
        let bare = crate::http::Response {
            body: Vec::new(),
            ..answer
        };
        assert!(
            throttled("x", &bare, 1, 2_345)
                .to_string()
                .contains("(HTTP 429): x")
        );
        assert!(
            throttled("x", &bare, 1, 2_345)
                .to_string()
                .contains("for 2.3 s")
        );
    }

    #[test]
    fn unknown_errors_keep_status_and_code() {
        let e = from_status(500, b"<html>oops</html>", None, "accounts");
        assert_eq!(
            e,
            ConnectorError::Upstream {
                status: 500,
                code: None,
                message: "accounts: HTTP 500 without a Twilio error body".into()
            }
        );
        let e = from_status(
            400,
            br#"{"code":20001,"message":"Invalid Status"}"#,
            None,
            "a",
        );
        assert!(matches!(
            e,
            ConnectorError::Upstream {
                code: Some(20001),
                ..
            }
        ));
    }
}
