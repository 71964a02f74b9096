//! Where `--connect-to` sends every allowed request (over plain HTTP, keeping `Host` and path):
//! a host name or address and a port, checked when it is given and resolved when a request goes
//! out, so a name that does not resolve fails that request in words like any other host.

use std::fmt;
use std::net::SocketAddr;

/// `HOST:PORT` (a name, an IPv4 address, or `[IPv6]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTo {
    host: String,
    port: u16,
}

/// Why a `HOST:PORT` is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectToError {
    #[error("it has no port: write HOST:PORT, e.g. 127.0.0.1:8787")]
    NoPort,
    #[error("its port is not a number from 1 to 65535")]
    BadPort,
    #[error("its host is empty or holds characters a host name cannot have")]
    BadHost,
}

impl ConnectTo {
    /// Parse `HOST:PORT`.
    pub fn parse(spec: &str) -> Result<Self, ConnectToError> {
        let spec = spec.trim();
        let (host, port) = spec.rsplit_once(':').ok_or(ConnectToError::NoPort)?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or(ConnectToError::BadPort)?;
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let ipv6 = bare != host && bare.parse::<std::net::Ipv6Addr>().is_ok();
        let name_ok = !bare.is_empty()
            && bare
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !(ipv6 || name_ok && bare == host) {
            return Err(ConnectToError::BadHost);
        }
        Ok(Self {
            host: host.to_string(),
            port,
        })
    }

    /// The URI authority requests go to.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

impl From<SocketAddr> for ConnectTo {
    fn from(addr: SocketAddr) -> Self {
        let host = match addr {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        };
        Self {
            host,
            port: addr.port(),
        }
    }
}

impl fmt::Display for ConnectTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.authority())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_or_why_not() {
        let table: &[(&str, Result<&str, ConnectToError>)] = &[
            ("127.0.0.1:8787", Ok("127.0.0.1:8787")),
            ("localhost:9", Ok("localhost:9")),
            ("nonexistent.invalid:443", Ok("nonexistent.invalid:443")),
            ("[::1]:8787", Ok("[::1]:8787")),
            ("127.0.0.1", Err(ConnectToError::NoPort)),
            ("127.0.0.1:0", Err(ConnectToError::BadPort)),
            ("127.0.0.1:99999", Err(ConnectToError::BadPort)),
            ("127.0.0.1:x", Err(ConnectToError::BadPort)),
            (":80", Err(ConnectToError::BadHost)),
            ("a b:80", Err(ConnectToError::BadHost)),
            ("user@h:80", Err(ConnectToError::BadHost)),
            ("h/x:80", Err(ConnectToError::BadHost)),
            ("[nope]:80", Err(ConnectToError::BadHost)),
        ];
        for (spec, want) in table {
            assert_eq!(
                ConnectTo::parse(spec).map(|c| c.authority()),
                want.clone().map(str::to_string),
                "{spec}"
            );
        }
        let addr: SocketAddr = "[::1]:80".parse().unwrap();
        assert_eq!(ConnectTo::from(addr).authority(), "[::1]:80");
    }
}
