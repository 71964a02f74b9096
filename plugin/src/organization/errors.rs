//! The organization APIs' error answers, decoded into typed errors. Three shapes answer
//! there (`twilio_iam_organizations.json`): SCIM's `ScimError` (`detail`, `scimType`, `status`
//! as a string, Twilio's `code`), Twilio's error body (`code`, `message`, `more_info`) on the
//! Accounts and the role assignment list, and `TwilioServiceErrorResponse` (`code`,
//! `message`, `moreInfo`, `status` as a number) on the role assignment writes. One decoder
//! reads them all.

use crate::errors::ConnectorError;
use crate::http::Response;
use crate::model::Result;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Twilio's error codes of the organization APIs that the decoder names.
pub mod code {
    /// SCIM: an invalid filter.
    pub const INVALID_FILTER: u32 = 25001;
    /// SCIM: the organization owner cannot be changed.
    pub const OWNER: u32 = 25016;
    /// SCIM: duplicate userName or externalId.
    pub const DUPLICATE: u32 = 25022;
    /// Role assignments: the scope is not one the organization manages.
    pub const SCOPE_NOT_MANAGED: u32 = 25200;
    /// Role assignments: the identity is not one of the organization's users.
    pub const IDENTITY_NOT_MANAGED: u32 = 25201;
    /// Role assignments: the role is not a valid role.
    pub const INVALID_ROLE: u32 = 25202;
}

/// Every field any of the three error shapes has.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    detail: Option<String>,
    #[serde(default, rename = "scimType")]
    scim_type: Option<String>,
    #[serde(default)]
    code: Option<u32>,
    #[serde(default)]
    message: Option<String>,
}

/// The typed error of a non-2xx answer to `what`.
pub fn failure(r: &Response, what: &str) -> ConnectorError {
    let body: ErrorBody = serde_json::from_slice(&r.body).unwrap_or_default();
    let said = body
        .detail
        .as_deref()
        .or(body.message.as_deref())
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP {} without an error body", r.status));
    let scim = body.scim_type.as_deref();
    let mut tags = Vec::new();
    if let Some(c) = body.code {
        tags.push(format!("Twilio error {c}"));
    }
    if let Some(t) = scim {
        tags.push(format!("scimType {t}"));
    }
    let message = if tags.is_empty() {
        format!("{what}: {said}")
    } else {
        format!("{what}: {said} ({})", tags.join(", "))
    };
    match (r.status, body.code, scim) {
        (401, _, _) => ConnectorError::Unauthorized(format!(
            "{message}; the organization APIs take only an OAuth bearer token of one of the \
             organization's OAuth apps, which the host mints from the tenant's client credentials"
        )),
        (_, Some(code::OWNER), _) | (_, _, Some("mutability")) => {
            ConnectorError::Refused(format!("Twilio refused {message}"))
        }
        (_, Some(code::DUPLICATE), _) | (_, _, Some("uniqueness")) => {
            ConnectorError::Refused(format!("Twilio refused {message}"))
        }
        (_, Some(code::IDENTITY_NOT_MANAGED), _) => ConnectorError::NotFound(message),
        (_, Some(code::SCOPE_NOT_MANAGED | code::INVALID_ROLE | code::INVALID_FILTER), _)
        | (_, _, Some("invalidFilter" | "invalidValue" | "invalidSyntax")) => {
            ConnectorError::InvalidInput(message)
        }
        (403, _, _) => ConnectorError::Forbidden(message),
        (404, _, _) => ConnectorError::NotFound(message),
        (429, _, _) => ConnectorError::RateLimited {
            retry_after_ms: r.retry_after_ms,
            message,
        },
        (status, code, _) => ConnectorError::Upstream {
            status,
            code,
            message,
        },
    }
}

/// Succeed on 2xx, else the typed error.
pub fn ok(r: &Response, what: &str) -> Result<()> {
    if r.is_success() {
        Ok(())
    } else {
        Err(failure(r, what))
    }
}

/// Decode a 2xx JSON answer, else the typed error.
pub fn json<T: DeserializeOwned>(r: &Response, what: &str) -> Result<T> {
    ok(r, what)?;
    serde_json::from_slice(&r.body).map_err(|e| {
        ConnectorError::MalformedResponse(format!("{what}: body is not the expected JSON ({e})"))
    })
}

/// An action Twilio accepted without carrying it out.
pub fn not_applied(message: String) -> ConnectorError {
    ConnectorError::Upstream {
        status: 200,
        code: None,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::answer;

    fn decode(status: u16, body: &str) -> ConnectorError {
        failure(&answer(status, body.as_bytes().to_vec()), "x")
    }

    #[test]
    fn scim_errors_are_read_by_scim_type_code_and_detail() {
        let owner = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"Updating the organization owner is not allowed","status":"400","scimType":"mutability","code":25016}"#;
        assert_eq!(
            decode(400, owner),
            ConnectorError::Refused(
                "Twilio refused x: Updating the organization owner is not allowed (Twilio error 25016, scimType mutability)".into()
            )
        );
        let suspended = r#"{"detail":"The user is suspended and cannot be changed through SCIM","status":"400","scimType":"mutability"}"#;
        assert!(
            matches!(decode(400, suspended), ConnectorError::Refused(m) if m.contains("suspended"))
        );
        let filter = r#"{"detail":"Invalid filter: nope","status":"400","scimType":"invalidFilter","code":25001}"#;
        assert!(
            matches!(decode(400, filter), ConnectorError::InvalidInput(m) if m.contains("Invalid filter: nope"))
        );
        let dup = r#"{"detail":"userName already exists","status":"409","scimType":"uniqueness","code":25022}"#;
        assert!(matches!(decode(409, dup), ConnectorError::Refused(m) if m.contains("already")));
        let gone = r#"{"detail":"User US1 not found","status":"404","code":20404}"#;
        assert!(matches!(decode(404, gone), ConnectorError::NotFound(m) if m.contains("US1")));
        let conflict = r#"{"detail":"Version conflict","status":"409"}"#;
        assert!(matches!(
            decode(409, conflict),
            ConnectorError::Upstream {
                status: 409,
                code: None,
                ..
            }
        ));
    }

    #[test]
    fn role_assignment_errors_are_read_by_code() {
        let body = |c: u32| {
            format!(
                r#"{{"code":{c},"message":"m{c}","moreInfo":"https://www.twilio.com/docs/errors/{c}","status":400}}"#
            )
        };
        assert!(
            matches!(decode(400, &body(25200)), ConnectorError::InvalidInput(m) if m.contains("m25200"))
        );
        assert!(
            matches!(decode(400, &body(25201)), ConnectorError::NotFound(m) if m.contains("m25201"))
        );
        assert!(
            matches!(decode(400, &body(25202)), ConnectorError::InvalidInput(m) if m.contains("m25202"))
        );
        assert!(matches!(
            decode(400, &body(20001)),
            ConnectorError::Upstream {
                status: 400,
                code: Some(20001),
                ..
            }
        ));
        let twilio = r#"{"code":20403,"message":"Forbidden","more_info":"x","status":403}"#;
        assert!(matches!(decode(403, twilio), ConnectorError::Forbidden(_)));
    }

    #[test]
    fn a_refused_token_says_what_the_organization_apis_take() {
        let e = decode(
            401,
            r#"{"code":20101,"message":"Invalid access token","status":401}"#,
        );
        assert!(
            matches!(&e, ConnectorError::Unauthorized(m) if m.contains("20101") && m.contains("OAuth")),
            "{e:?}"
        );
        assert!(matches!(
            decode(500, "<html>"),
            ConnectorError::Upstream { status: 500, code: None, message } if message.contains("without an error body")
        ));
    }
}
