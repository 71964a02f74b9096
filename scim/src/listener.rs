//! Where the service listens: plain HTTP (behind a TLS-terminating proxy, or on loopback), or
//! TLS with a certificate and key in PEM files (rustls).

use anyhow::{Context, anyhow};
use axum::Router;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpListener;

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

/// Serve `router` on `listener` until `stop` completes (then let open requests finish).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let Some(tls) = tls else {
        return axum::serve(listener, router)
            .with_graceful_shutdown(stop)
            .await
            .context("the SCIM server stopped");
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    tokio::pin!(stop);
    loop {
        let (tcp, _) = tokio::select! {
            _ = &mut stop => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            // A handshake that fails (a plain-HTTP client, a bad certificate) ends only its
            // own connection.
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(router);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}
