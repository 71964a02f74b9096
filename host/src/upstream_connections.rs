//! Connections to the upstream, kept open and reused: one pool per [`crate::Host`] (HTTP/1.1
//! keep-alive, keyed by scheme, host and port), so a sync pays a TCP connect and, against the
//! real vendor, a TLS handshake per connection instead of per request. A connection carries no
//! credentials: every request brings its own `Authorization`, set by the egress stage from its
//! own tenant, so calls of several tenants may share one. Certificates are checked against the
//! Mozilla roots (`webpki-roots`), as wasi-http's own sender does.
//!
//! Failures come back as wasi-http's error kinds with the same texts, so
//! [`crate::network::NetworkFailure`] explains them as before.

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use wasmtime_wasi_http::Error as HttpError;

/// Idle connections kept per upstream host and port (the host's in-flight cap is 100 by
/// default; a higher one opens more, and those beyond this are closed when they idle).
pub const MAX_IDLE_PER_HOST: usize = 256;

/// How long an idle connection is kept before it is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The pool. Cloning shares it.
#[derive(Clone)]
pub struct UpstreamConnections {
    client: Client<Connector, Full<Bytes>>,
}

impl std::fmt::Debug for UpstreamConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UpstreamConnections")
    }
}

impl UpstreamConnections {
    /// A pool whose new connections (TCP connect, then the TLS handshake) each take at most
    /// `connect_timeout`.
    pub fn new(connect_timeout: Duration) -> Self {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports rustls' default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = Connector {
            tls: tokio_rustls::TlsConnector::from(Arc::new(tls)),
            timeout: connect_timeout,
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(IDLE_TIMEOUT)
            .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
            .pool_timer(TokioTimer::new())
            .build(connector);
        Self { client }
    }

    /// Send `request` (an absolute URI; its `Host` header as the egress stage set it) on an
    /// idle connection to its authority, or a new one.
    pub async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<hyper::body::Incoming>, HttpError> {
        self.client
            .request(request.map(Full::new))
            .await
            .map_err(|e| sending_failed(&e))
    }
}

/// Opens connections: TCP, then TLS for `https`.
#[derive(Clone)]
struct Connector {
    tls: tokio_rustls::TlsConnector,
    timeout: Duration,
}

/// Why a connection could not be opened.
#[derive(Debug)]
enum ConnectError {
    Uri,
    Timeout,
    Connect(io::Error),
    Tls(io::Error),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Uri => f.write_str("the request's URI names no host to connect to"),
            Self::Timeout => f.write_str("connecting timed out"),
            Self::Connect(e) => write!(f, "connect: {e}"),
            Self::Tls(e) => write!(f, "TLS: {e}"),
        }
    }
}

impl std::error::Error for ConnectError {}

impl tower_service::Service<http::Uri> for Connector {
    type Response = Stream;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, ConnectError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ConnectError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { this.open(&uri).await })
    }
}

impl Connector {
    async fn open(&self, uri: &http::Uri) -> Result<Stream, ConnectError> {
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(ConnectError::Uri),
        };
        let host = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string())
            .filter(|h| !h.is_empty())
            .ok_or(ConnectError::Uri)?;
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let tcp = tokio::time::timeout(self.timeout, TcpStream::connect((host.as_str(), port)))
            .await
            .map_err(|_| ConnectError::Timeout)?
            .map_err(ConnectError::Connect)?;
        // Requests are small and written whole: no reason to wait for more to fill a segment.
        let _ = tcp.set_nodelay(true);
        if !tls {
            return Ok(Stream::Plain(TokioIo::new(tcp)));
        }
        let name = rustls::pki_types::ServerName::try_from(host).map_err(|_| ConnectError::Uri)?;
        let stream = tokio::time::timeout(self.timeout, self.tls.connect(name, tcp))
            .await
            .map_err(|_| ConnectError::Timeout)?
            .map_err(ConnectError::Tls)?;
        Ok(Stream::Tls(Box::new(TokioIo::new(stream))))
    }
}

/// One open connection.
enum Stream {
    Plain(TokioIo<TcpStream>),
    Tls(Box<TokioIo<TlsStream<TcpStream>>>),
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl hyper::rt::Read for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl hyper::rt::Write for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A copy of an I/O error that keeps what the classification reads: its kind and its text.
fn copied(e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), e.to_string())
}

/// What failed while sending, as wasi-http names it: the connection's own failure when it
/// could not be opened, else what hyper reported of the exchange.
fn sending_failed(e: &hyper_util::client::legacy::Error) -> HttpError {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(c) = s.downcast_ref::<ConnectError>() {
            return match c {
                ConnectError::Uri => HttpError::HttpRequestUriInvalid,
                ConnectError::Timeout => HttpError::ConnectionTimeout,
                ConnectError::Connect(io) => HttpError::Connect(copied(io)),
                ConnectError::Tls(io) => HttpError::Tls(copied(io)),
            };
        }
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            return exchange_failed(h);
        }
        source = s.source();
    }
    if e.is_connect() {
        HttpError::Connect(io::Error::other(e.to_string()))
    } else {
        HttpError::HttpProtocolError
    }
}

/// What hyper reported of a request or an answer's body.
pub fn exchange_failed(h: &hyper::Error) -> HttpError {
    if h.is_timeout() {
        HttpError::HttpResponseTimeout
    } else if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
        HttpError::ConnectionTerminated
    } else {
        HttpError::HttpProtocolError
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server that answers every request on a connection with `200 ok` and counts the
    /// connections it accepted.
    async fn counting_server() -> (std::net::SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut seen = Vec::new();
                    loop {
                        let Ok(n) = s.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        seen.extend_from_slice(&buf[..n]);
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            seen.drain(..end + 4);
                            let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                            if s.write_all(answer).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (addr, accepted)
    }

    fn get(addr: std::net::SocketAddr) -> http::Request<Bytes> {
        http::Request::get(format!("http://{addr}/x"))
            .header(http::header::HOST, "api.example")
            .body(Bytes::new())
            .unwrap()
    }

    #[tokio::test]
    async fn requests_one_after_another_share_one_connection() {
        let (addr, accepted) = counting_server().await;
        let pool = UpstreamConnections::new(Duration::from_secs(5));
        for _ in 0..20 {
            let answer = pool.send(get(addr)).await.unwrap();
            use http_body_util::BodyExt;
            let body = answer.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"ok");
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    /// A TLS server on loopback whose certificate (for `localhost` and 127.0.0.1) is
    /// self-signed: a throwaway pair made for this test with `openssl req -x509`, trusted by
    /// nobody. Returns its port and whether any request reached it.
    async fn self_signed_server() -> (u16, Arc<std::sync::atomic::AtomicBool>) {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let cert =
            CertificateDer::from_pem_slice(include_bytes!("testdata/self-signed.crt")).unwrap();
        let key =
            PrivateKeyDer::from_pem_slice(include_bytes!("testdata/self-signed.key")).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let reached = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = reached.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, flag) = (acceptor.clone(), flag.clone());
                tokio::spawn(async move {
                    if let Ok(mut tls) = acceptor.accept(tcp).await {
                        let mut buf = [0u8; 64];
                        if matches!(tls.read(&mut buf).await, Ok(n) if n > 0) {
                            flag.store(true, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                });
            }
        });
        (port, reached)
    }

    #[tokio::test]
    async fn an_untrusted_certificate_is_refused_before_the_request_goes() {
        let (port, reached) = self_signed_server().await;
        let pool = UpstreamConnections::new(Duration::from_secs(5));
        let request = http::Request::get(format!("https://localhost:{port}/x"))
            .header(http::header::HOST, "localhost")
            .header(http::header::AUTHORIZATION, "Basic c2VjcmV0")
            .body(Bytes::new())
            .unwrap();
        let err = pool.send(request).await.map(|r| r.status()).unwrap_err();
        let failure = crate::network::NetworkFailure::classify(
            &err,
            "localhost",
            &format!("localhost:{port}"),
            Duration::from_secs(5),
        );
        assert_eq!(
            failure.as_ref().map(|f| f.kind()),
            Some("tls-certificate"),
            "{err}"
        );
        assert!(
            !reached.load(std::sync::atomic::Ordering::SeqCst),
            "nothing (no credentials) was sent to a server that proved nothing"
        );
    }

    #[tokio::test]
    async fn nothing_listening_is_a_refused_connection() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let pool = UpstreamConnections::new(Duration::from_secs(5));
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        match pool.send(get(addr)).await {
            Err(HttpError::Connect(io)) => {
                assert_eq!(io.kind(), io::ErrorKind::ConnectionRefused, "{io}")
            }
            other => panic!("{:?}", other.map(|r| r.status())),
        }
    }
}
