//! Test-only: a plain HTTP/1.1 client over a loopback socket, asking as Twilio's hosts would be
//! asked (Basic auth, `Host` routing, one request per connection).

use base64::Engine;
use serde_json::Value;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One answer: status, headers (names lower-case) and body text.
pub struct Got {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Got {
    /// The first header called `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// The request text of a GET on `api.twilio.com` as `user:secret`.
pub fn request(user: &str, secret: &str, path: &str) -> String {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
    format!(
        "GET {path} HTTP/1.1\r\nHost: api.twilio.com\r\nAuthorization: Basic {auth}\r\nConnection: close\r\n\r\n"
    )
}

/// GET `path` on `api.twilio.com` as `user:secret`.
pub async fn get(addr: SocketAddr, user: &str, secret: &str, path: &str) -> Got {
    ask(connect(addr).await, user, secret, path).await
}

/// A connection to the simulator.
pub async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.expect("connect")
}

/// GET `path` on `api.twilio.com` as `user:secret` on an open connection, and read the answer.
pub async fn ask(mut s: TcpStream, user: &str, secret: &str, path: &str) -> Got {
    s.write_all(request(user, secret, path).as_bytes())
        .await
        .expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8(raw).expect("UTF-8 answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Got {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}
