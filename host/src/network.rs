//! Why a request never got an answer, in words an operator can act on: the name did not
//! resolve, the connection was refused or timed out, the TLS certificate was not trusted, the
//! connection closed early. Each names the host or address that failed; none carries a Rust
//! error's debug text. The egress hooks classify what wasi-http reports; a call that failed
//! because of it fails with [`crate::CallError::Network`].

use std::fmt;
use std::time::Duration;
use wasmtime_wasi_http::Error as HttpError;

/// A request that got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkFailure {
    /// The host name did not resolve.
    Dns { host: String },
    /// Nothing listens there (or a firewall refused).
    Refused { target: String },
    /// No connection, or no answer, within the time allowed.
    Timeout { target: String, after: Duration },
    /// The TLS certificate was not trusted for the host.
    UntrustedCertificate { host: String },
    /// TLS could not be negotiated.
    Tls { host: String },
    /// The connection closed before a whole answer came.
    Closed { target: String },
    /// The network or host could not be reached at all.
    Unreachable { target: String },
}

impl fmt::Display for NetworkFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns { host } => write!(f, "could not resolve {host}"),
            Self::Refused { target } => write!(f, "connection to {target} refused"),
            Self::Timeout { target, after } if after.as_secs() == 0 => {
                write!(f, "{target} timed out after {} ms", after.as_millis())
            }
            Self::Timeout { target, after } => {
                write!(f, "{target} timed out after {} s", after.as_secs())
            }
            Self::UntrustedCertificate { host } => {
                write!(f, "TLS certificate of {host} not trusted")
            }
            Self::Tls { host } => write!(f, "TLS handshake with {host} failed"),
            Self::Closed { target } => {
                write!(
                    f,
                    "the connection to {target} closed before a whole answer came"
                )
            }
            Self::Unreachable { target } => write!(f, "{target} could not be reached"),
        }
    }
}

impl NetworkFailure {
    /// A stable short name (`dns`, `refused`, `timeout`, `tls-certificate`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Dns { .. } => "dns",
            Self::Refused { .. } => "refused",
            Self::Timeout { .. } => "timeout",
            Self::UntrustedCertificate { .. } => "tls-certificate",
            Self::Tls { .. } => "tls",
            Self::Closed { .. } => "closed",
            Self::Unreachable { .. } => "unreachable",
        }
    }

    /// What a failed send means, for a request to `host` that really went to `target`
    /// (`host:443`, or `--connect-to`'s address) with `timeout` allowed; `None` when the
    /// failure is not the network's (a denial, a limit, a bad answer).
    pub fn classify(
        error: &HttpError,
        host: &str,
        target: &str,
        timeout: Duration,
    ) -> Option<Self> {
        let target = target.to_string();
        let name = target
            .rsplit_once(':')
            .map(|(h, _)| h.to_string())
            .unwrap_or_else(|| host.to_string());
        Some(match error {
            HttpError::DnsError { .. } | HttpError::DnsTimeout => Self::Dns { host: name },
            HttpError::ConnectionRefused => Self::Refused { target },
            HttpError::ConnectionTimeout
            | HttpError::ConnectionReadTimeout
            | HttpError::ConnectionWriteTimeout
            | HttpError::HttpResponseTimeout => Self::Timeout {
                target,
                after: timeout,
            },
            HttpError::TlsCertificateError => Self::UntrustedCertificate { host: name },
            HttpError::TlsProtocolError | HttpError::TlsAlertReceived { .. } => {
                Self::Tls { host: name }
            }
            HttpError::ConnectionTerminated | HttpError::HttpResponseIncomplete => {
                Self::Closed { target }
            }
            HttpError::DestinationNotFound => Self::Dns { host: name },
            HttpError::DestinationUnavailable
            | HttpError::DestinationIpProhibited
            | HttpError::DestinationIpUnroutable => Self::Unreachable { target },
            HttpError::Connect(io) => Self::from_connect(io, name, target, timeout),
            HttpError::Tls(io) => {
                let text = io.to_string().to_ascii_lowercase();
                if text.contains("certificate") || text.contains("issuer") {
                    Self::UntrustedCertificate { host: name }
                } else {
                    Self::Tls { host: name }
                }
            }
            HttpError::Hyper(e) if e.is_incomplete_message() || e.is_closed() => {
                Self::Closed { target }
            }
            HttpError::Hyper(e) if e.is_timeout() => Self::Timeout {
                target,
                after: timeout,
            },
            _ => return None,
        })
    }

    fn from_connect(io: &std::io::Error, name: String, target: String, timeout: Duration) -> Self {
        use std::io::ErrorKind;
        match io.kind() {
            ErrorKind::ConnectionRefused => Self::Refused { target },
            ErrorKind::TimedOut => Self::Timeout {
                target,
                after: timeout,
            },
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => Self::Closed { target },
            _ => {
                // The resolver's failures come as plain errors whose text says so.
                let text = io.to_string().to_ascii_lowercase();
                if text.contains("lookup")
                    || text.contains("resolve")
                    || text.contains("name or service not known")
                    || text.contains("no address")
                    || text.contains("nodename")
                {
                    Self::Dns { host: name }
                } else {
                    Self::Unreachable { target }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error, ErrorKind};

    #[test]
    fn each_failure_in_words_with_what_failed() {
        let t = Duration::from_secs(60);
        let c = |e: HttpError| {
            NetworkFailure::classify(&e, "api.example.com", "api.example.com:443", t)
                .map(|f| f.to_string())
        };
        assert_eq!(
            c(HttpError::Connect(Error::other(
                "failed to lookup address information: Name or service not known"
            ))),
            Some("could not resolve api.example.com".into())
        );
        assert_eq!(
            c(HttpError::Connect(Error::from(
                ErrorKind::ConnectionRefused
            ))),
            Some("connection to api.example.com:443 refused".into())
        );
        assert_eq!(
            c(HttpError::ConnectionTimeout),
            Some("api.example.com:443 timed out after 60 s".into())
        );
        assert_eq!(
            c(HttpError::Tls(Error::other(
                "invalid peer certificate: UnknownIssuer"
            ))),
            Some("TLS certificate of api.example.com not trusted".into())
        );
        assert_eq!(c(HttpError::HttpRequestDenied), None);
        assert_eq!(c(HttpError::HttpResponseBodySize(None)), None);
        for text in [
            c(HttpError::ConnectionRefused),
            c(HttpError::ConnectionTerminated),
        ]
        .into_iter()
        .flatten()
        {
            assert!(
                !text.contains("ErrorCode") && !text.contains("os error"),
                "{text}"
            );
        }
        // Through --connect-to, the address that really failed is named.
        let f = NetworkFailure::classify(
            &HttpError::ConnectionRefused,
            "api.example.com",
            "127.0.0.1:9",
            t,
        );
        assert_eq!(f.unwrap().to_string(), "connection to 127.0.0.1:9 refused");
    }
}
