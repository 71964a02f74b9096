//! SCIM error answers (RFC 7644 §3.12): an HTTP status, a `scimType` where the RFC has one,
//! and a detail in words; and how a connector call's failure becomes one.

use crate::resources::ERROR;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use connector_host::CallError;
use connector_host::types::ConnectorError;
use serde_json::json;

/// The media type of every SCIM answer (RFC 7644 §8.1).
pub const SCIM_JSON: &str = "application/scim+json";

/// One SCIM error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
    /// Seconds to wait, for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }

    /// What the app cannot do at all (RFC 7644 §3.12: 501 Not Implemented).
    pub fn not_implemented(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_IMPLEMENTED, None, detail)
    }

    /// An attribute the app cannot change (`mutability`).
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request("mutability", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, None, detail)
    }

    pub fn too_many(retry_after: u64, detail: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, None, detail);
        e.retry_after = Some(retry_after);
        e
    }

    /// The error body.
    pub fn body(&self) -> serde_json::Value {
        let mut v = json!({
            "schemas": [ERROR],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            v["scimType"] = json!(t);
        }
        v
    }

    /// A connector call's failure, for a client that cannot see the connector: its own
    /// request's faults are 4xx, the upstream's and the plugin's are 5xx.
    pub fn from_call(e: &CallError) -> Self {
        let detail = e.to_string();
        match e {
            CallError::Connector { error, .. } => match error {
                ConnectorError::NotFound(_) => Self::not_found(detail),
                ConnectorError::InvalidInput(_) => Self::bad_request("invalidValue", detail),
                ConnectorError::Refused(_) => Self::mutability(detail),
                ConnectorError::Unsupported(_) => Self::not_implemented(detail),
                ConnectorError::RateLimited(r) => {
                    let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, None, detail);
                    e.retry_after = Some(r.retry_after_ms.map_or(5, |ms| ms.div_ceil(1000).max(1)));
                    e
                }
                ConnectorError::Unauthorized(_)
                | ConnectorError::Forbidden(_)
                | ConnectorError::InvalidConfig(_) => Self::new(
                    StatusCode::BAD_GATEWAY,
                    None,
                    format!(
                        "the upstream refused the tenant's configuration or credentials: {detail}"
                    ),
                ),
                ConnectorError::Upstream(_)
                | ConnectorError::Transport(_)
                | ConnectorError::MalformedResponse(_) => {
                    Self::new(StatusCode::BAD_GATEWAY, None, detail)
                }
            },
            CallError::Timeout(_) => Self::new(StatusCode::GATEWAY_TIMEOUT, None, detail),
            CallError::Network { .. } => Self::new(StatusCode::BAD_GATEWAY, None, detail),
            _ => Self::new(StatusCode::BAD_GATEWAY, None, detail),
        }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut r = (self.status, self.body().to_string()).into_response();
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"connector\""),
            );
        }
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_follows_rfc_7644_section_3_12() {
        let b = ScimError::mutability("flex cannot suspend").body();
        assert_eq!(b["schemas"][0], ERROR);
        assert_eq!(b["status"], "400");
        assert_eq!(b["scimType"], "mutability");
        assert!(ScimError::not_found("x").body().get("scimType").is_none());
    }

    #[test]
    fn the_clients_faults_are_4xx_and_the_upstreams_5xx() {
        let c = |error| CallError::Connector {
            error,
            host_notes: vec![],
        };
        let status = |e: ConnectorError| ScimError::from_call(&c(e)).status.as_u16();
        assert_eq!(status(ConnectorError::NotFound("x".into())), 404);
        assert_eq!(status(ConnectorError::Refused("own account".into())), 400);
        assert_eq!(status(ConnectorError::Unsupported("x".into())), 501);
        assert_eq!(status(ConnectorError::Unauthorized("x".into())), 502);
        assert_eq!(
            ScimError::from_call(&CallError::Timeout(std::time::Duration::from_secs(1))).status,
            504
        );
    }
}
