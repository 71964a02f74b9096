//! Where the service listens: plain HTTP (behind a TLS-terminating proxy, or on loopback), or
//! TLS with a certificate and key in PEM files (rustls). Either way, each connection is
//! bounded: a TLS handshake and a request's headers must arrive within [`HANDSHAKE`], at most
//! [`MAX_CONNECTIONS`] are open at once, and a failed accept pauses before the next, so idle
//! or slow clients cannot hold the server.

use anyhow::{Context, anyhow};
use axum::Router;
use axum::extract::connect_info::ConnectInfo;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long a client has to finish its TLS handshake, and to send a request's headers.
pub const HANDSHAKE: Duration = Duration::from_secs(10);
/// Connections served at once; the next waits to be accepted.
pub const MAX_CONNECTIONS: usize = 1024;
/// How long open requests may take to finish once the server is told to stop.
pub const GRACE: Duration = Duration::from_secs(10);

/// A TLS configuration from a PEM certificate chain and a PEM private key.
pub fn tls_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let certs = rustls_pemfile::certs(&mut std::io::BufReader::new(
        std::fs::File::open(cert)
            .with_context(|| format!("cannot read --tls-cert {}", cert.display()))?,
    ))
    .collect::<Result<Vec<_>, _>>()
    .with_context(|| {
        format!(
            "--tls-cert {} is not a PEM certificate chain",
            cert.display()
        )
    })?;
    if certs.is_empty() {
        return Err(anyhow!(
            "--tls-cert {} holds no certificate",
            cert.display()
        ));
    }
    let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(
        std::fs::File::open(key)
            .with_context(|| format!("cannot read --tls-key {}", key.display()))?,
    ))
    .with_context(|| format!("--tls-key {} is not a PEM private key", key.display()))?
    .ok_or_else(|| anyhow!("--tls-key {} holds no private key", key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS protocol versions")?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .context("the TLS certificate and key do not make a usable pair")?;
    Ok(Arc::new(config))
}

/// Serve one connection: HTTP/1.1 with a header timeout, the peer's address given to the
/// handlers (`ConnectInfo`).
async fn serve_connection<S>(stream: S, peer: SocketAddr, router: Router)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let router = router.layer(axum::Extension(ConnectInfo(peer)));
    let service = hyper_util::service::TowerToHyperService::new(router);
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HANDSHAKE)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .await;
}

/// Serve `router` on `listener` until `stop` completes; open requests then have [`GRACE`]
/// to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(stop);
    loop {
        let slot = tokio::select! {
            _ = &mut stop => break,
            s = slots.clone().acquire_owned() => s.context("the connection limit closed")?,
        };
        let (tcp, peer) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors, say: pause rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        let acceptor = acceptor.clone();
        connections.spawn(async move {
            let _slot = slot;
            match acceptor {
                None => serve_connection(tcp, peer, router).await,
                // A handshake that fails or stalls (a plain-HTTP client, a silent one) ends
                // only its own connection.
                Some(acceptor) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp)).await
                    {
                        serve_connection(stream, peer, router).await;
                    }
                }
            }
        });
        // Reap finished connections as we go.
        while connections.try_join_next().is_some() {}
    }
    let _ = tokio::time::timeout(GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.abort_all();
    Ok(())
}
