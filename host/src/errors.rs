//! Why a call failed: the plugin's typed connector error, a limit the host enforced, a trap,
//! the whole-call timeout, or the host itself.

use crate::bindings::types::ConnectorError;
pub use crate::limits::LimitExceeded;
use std::fmt;
use std::time::Duration;

/// Why a call failed.
#[derive(Debug, Clone)]
pub enum CallError {
    /// The plugin answered with a typed connector error.
    Connector {
        error: ConnectorError,
        host_notes: Vec<String>,
    },
    /// The host stopped the plugin at a limit.
    Limit {
        limit: LimitExceeded,
        host_notes: Vec<String>,
    },
    /// The plugin trapped; the host stopped it.
    Plugin {
        reason: String,
        host_notes: Vec<String>,
    },
    /// The whole call ran past its wall-clock budget.
    Timeout(Duration),
    /// The plugin's requests got no answer: the host says why, in words.
    Network {
        failure: crate::network::NetworkFailure,
        host_notes: Vec<String>,
    },
    /// The plugin declares routes the vendor policy does not grant: refused at load.
    RoutesNotGranted(Vec<crate::vendor_policy::Ungranted>),
    /// The plugin file is not the approved build.
    NotApproved {
        path: String,
        expected: String,
        found: String,
    },
    /// The caller's [`crate::write_fence::WriteFence`] refused a write, which was not sent
    /// (nor any after it): the caller no longer holds what let it write. `writes_sent`: the
    /// call's writes that had gone out before.
    Fenced { reason: String, writes_sent: u64 },
    /// The host itself could not run the call.
    Host(String),
}

impl CallError {
    /// A stable short name of the error's kind (`unauthorized`, `not-found`, `limit-exceeded`…).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Connector { error, .. } => match error {
                ConnectorError::Unauthorized(_) => "unauthorized",
                ConnectorError::Forbidden(_) => "forbidden",
                ConnectorError::NotFound(_) => "not-found",
                ConnectorError::RateLimited(_) => "rate-limited",
                ConnectorError::InvalidConfig(_) => "invalid-config",
                ConnectorError::InvalidInput(_) => "invalid-input",
                ConnectorError::Unsupported(_) => "unsupported",
                ConnectorError::Refused(_) => "refused",
                ConnectorError::Upstream(_) => "upstream",
                ConnectorError::Transport(_) => "transport",
                ConnectorError::MalformedResponse(_) => "malformed-response",
            },
            Self::Limit { .. } => "limit-exceeded",
            Self::Plugin { .. } => "plugin-stopped",
            Self::Timeout(_) => "timeout",
            Self::Network { .. } => "network",
            Self::RoutesNotGranted(_) => "routes-not-granted",
            Self::NotApproved { .. } => "not-approved",
            Self::Fenced { .. } => "fenced",
            Self::Host(_) => "host-error",
        }
    }

    /// Host-side notes (denied requests, limits reached) gathered during the call.
    pub fn host_notes(&self) -> &[String] {
        match self {
            Self::Connector { host_notes, .. }
            | Self::Network { host_notes, .. }
            | Self::Limit { host_notes, .. }
            | Self::Plugin { host_notes, .. } => host_notes,
            _ => &[],
        }
    }

    /// The connector error the plugin returned, if that is why the call failed.
    pub fn connector_error(&self) -> Option<&ConnectorError> {
        match self {
            Self::Connector { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// One-line description of a connector error; the upstream is whatever service the plugin
/// talks to, so nothing here names a vendor.
pub fn describe(e: &ConnectorError) -> String {
    match e {
        ConnectorError::Unauthorized(m) => format!("authentication failed: {m}"),
        ConnectorError::Forbidden(m) => format!("forbidden: {m}"),
        ConnectorError::NotFound(m) => format!("not found: {m}"),
        ConnectorError::RateLimited(r) => format!(
            "rate limited by the upstream service: {}{}",
            r.message,
            r.retry_after_ms
                .map(|ms| format!(" (retry after {ms} ms)"))
                .unwrap_or_default()
        ),
        ConnectorError::InvalidConfig(m) => format!("invalid configuration: {m}"),
        ConnectorError::InvalidInput(m) => format!("invalid input: {m}"),
        ConnectorError::Unsupported(m) => format!("unsupported: {m}"),
        ConnectorError::Refused(m) => format!("refused: {m}"),
        ConnectorError::Upstream(u) => match u.code {
            Some(c) => format!("upstream error {c} (HTTP {}): {}", u.status, u.message),
            None => format!("upstream answered HTTP {}: {}", u.status, u.message),
        },
        ConnectorError::Transport(m) => format!("network error: {m}"),
        ConnectorError::MalformedResponse(m) => {
            format!("unexpected answer from the upstream service: {m}")
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connector { error, .. } => write!(f, "{}", describe(error))?,
            Self::Limit { limit, .. } => write!(f, "plugin stopped: {limit}")?,
            Self::Plugin { reason, .. } => write!(f, "plugin stopped: {reason}")?,
            Self::Timeout(d) => write!(
                f,
                "plugin call exceeded its {}s time limit and was stopped",
                d.as_secs()
            )?,
            Self::Host(m) => write!(f, "host error: {m}")?,
            Self::Fenced {
                reason,
                writes_sent,
            } => write!(
                f,
                "write not sent: {reason} ({writes_sent} write(s) of this call had been sent)"
            )?,
            Self::Network { failure, .. } => write!(f, "{failure}")?,
            Self::RoutesNotGranted(routes) => {
                write!(
                    f,
                    "plugin refused: it declares {} route(s) the vendor policy does not grant: ",
                    routes.len()
                )?;
                let list: Vec<String> = routes.iter().map(|r| r.to_string()).collect();
                write!(f, "{}", list.join("; "))?
            }
            Self::NotApproved {
                path,
                expected,
                found,
            } => write!(
                f,
                "plugin refused: {path} has SHA-256 {found}, not the approved {expected}"
            )?,
        }
        let notes = self.host_notes();
        if !notes.is_empty() {
            write!(f, " [host: {}]", notes.join("; "))?;
        }
        Ok(())
    }
}

impl std::error::Error for CallError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::types::UpstreamError;

    #[test]
    fn limits_are_typed_and_say_which_limit() {
        let e = CallError::Limit {
            limit: LimitExceeded::Memory {
                asked_mib: 300,
                limit_mib: 256,
            },
            host_notes: vec![],
        };
        assert_eq!(e.kind(), "limit-exceeded");
        assert_eq!(
            e.to_string(),
            "plugin stopped: memory limit exceeded: the plugin asked for 300 MiB, the limit is 256 MiB"
        );
    }

    #[test]
    fn descriptions_name_no_vendor() {
        let e = ConnectorError::Upstream(UpstreamError {
            status: 400,
            code: Some(21211),
            message: "bad".into(),
        });
        let text = describe(&e);
        assert_eq!(text, "upstream error 21211 (HTTP 400): bad");
        assert!(!text.to_lowercase().contains("twilio"));
    }
}
