//! Connect, and create (or find) the stream, consumer, buckets and object store.

use crate::names;
use anyhow::Context;
use async_nats::jetstream::{self, consumer, kv, object_store, stream};
use std::time::Duration;

/// How long a worker may hold a job without a sign of progress before it is redelivered
/// (`CONNECTOR_CLUSTER_ACK_WAIT_MS` when the consumer is first created).
pub const ACK_WAIT: Duration = Duration::from_secs(30);
/// Deliveries before a job is given up, its error kept (a job waiting for a tenant's lease
/// comes back every quarter lease, so a dead worker's lease never exhausts them).
pub const MAX_DELIVER: i64 = 20;
/// How long an unrefreshed lease lasts, so a dead worker's lease lapses
/// (`CONNECTOR_CLUSTER_LEASE_TTL_MS` when the bucket is first created).
pub const LEASE_TTL: Duration = Duration::from_secs(20);

/// A duration from the environment (milliseconds), else `default`.
fn env_ms(key: &str, default: Duration) -> Duration {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(default, Duration::from_millis)
}
/// How long an unrefreshed heartbeat counts a worker alive.
pub const HEARTBEAT_TTL: Duration = Duration::from_secs(10);
/// The window in which an action with the same idempotency key is enqueued once.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Everything a cluster command needs.
pub struct Cluster {
    pub js: jetstream::Context,
    pub stream: stream::Stream,
    pub consumer: consumer::PullConsumer,
    pub checkpoints: kv::Store,
    pub leases: kv::Store,
    pub done: kv::Store,
    pub failures: kv::Store,
    pub workers: kv::Store,
    /// Snapshots' pages.
    pub results: object_store::ObjectStore,
    /// The latest complete snapshot of each tenant and app (a pointer to its pages).
    pub snapshots: kv::Store,
    /// Tenants' kept state.
    pub state: object_store::ObjectStore,
    /// The consumer's acknowledgement deadline (a running job shows progress well within it).
    pub ack_wait: Duration,
    /// How long an unrefreshed lease lasts.
    pub lease_ttl: Duration,
}

/// How a command waits for the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// A worker: wait for the server to come up, and reconnect for as long as it runs.
    Worker,
    /// A one-shot command: fail at once when the server cannot be reached.
    Command,
}

/// How long a one-shot command waits for the server to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the cluster's server could not be used, in words: no operating-system error numbers,
/// no cause told twice, never the user or password a URL may hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// The URL is not a NATS server's: why, as a clause to follow what holds it ("must start
    /// with nats://…", "is empty").
    #[error("the NATS server URL {0}")]
    BadUrl(String),
    /// The server could not be reached, or refused the connection.
    #[error("cannot connect to NATS at {server}: {why}")]
    Unreachable {
        /// The server as `scheme://host:port`.
        server: String,
        why: String,
    },
    /// The server answers but has no JetStream, which the cluster needs.
    #[error("the NATS server at {server} has no JetStream")]
    NoJetStream {
        /// The server as `scheme://host:port`.
        server: String,
    },
}

/// `url` as a NATS client reads it (`nats://`, `tls://`, `ws://` or `wss://`; `host[:port]`
/// alone means `nats://host:4222`), shown as `scheme://host:port` without any user or password;
/// or why it is not a NATS server URL, without repeating it.
pub fn server_url(url: &str) -> Result<String, ConnectError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(ConnectError::BadUrl("is empty".into()));
    }
    if let Some((scheme, _)) = url.split_once("://")
        && !["nats", "tls", "ws", "wss"].contains(&scheme.to_ascii_lowercase().as_str())
    {
        let shown = if scheme.len() <= 10 && scheme.bytes().all(|b| b.is_ascii_alphanumeric()) {
            format!("{scheme}://")
        } else {
            "its scheme".into()
        };
        return Err(ConnectError::BadUrl(format!(
            "must start with nats:// (or tls://, ws://, wss://), not {shown}"
        )));
    }
    let addr: async_nats::ServerAddr = url.parse().map_err(|e: std::io::Error| {
        // "NATS server URL is invalid: invalid port number" → "invalid port number".
        let why = e.to_string();
        let why = why
            .rsplit(": ")
            .next()
            .unwrap_or("it does not parse")
            .to_string();
        ConnectError::BadUrl(format!("is not valid ({why})"))
    })?;
    if addr.host().is_empty() {
        return Err(ConnectError::BadUrl("names no host".into()));
    }
    let host = if addr.host().contains(':') {
        format!("[{}]", addr.host())
    } else {
        addr.host().to_string()
    };
    Ok(format!("{}://{host}:{}", addr.scheme(), addr.port()))
}

/// Why a connection failed, in words.
fn unreachable(server: &str, e: &async_nats::ConnectError) -> ConnectError {
    use async_nats::ConnectErrorKind as K;
    let io_words = |e: &async_nats::ConnectError| {
        std::error::Error::source(e)
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .map(|io| match io.kind() {
                std::io::ErrorKind::TimedOut => {
                    format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())
                }
                kind => kind.to_string(),
            })
            .unwrap_or_else(|| "the connection failed".into())
    };
    let why = match e.kind() {
        K::Io => io_words(e),
        K::TimedOut => format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        K::Dns => "its host name does not resolve".into(),
        K::Authentication | K::AuthorizationViolation => {
            "the server refused the user, password or token".into()
        }
        K::Tls => "the TLS handshake failed".into(),
        K::ServerParse => "the URL is not a NATS server URL".into(),
        K::MaxReconnects => "it stopped answering".into(),
    };
    ConnectError::Unreachable {
        server: server.to_string(),
        why,
    }
}

/// Connect to `url` and find (or create) everything the cluster uses.
pub async fn connect(url: &str, patience: Patience) -> anyhow::Result<Cluster> {
    let server = server_url(url)?;
    let mut options = async_nats::ConnectOptions::new().connection_timeout(CONNECT_TIMEOUT);
    if patience == Patience::Worker {
        options = options.retry_on_initial_connect();
    }
    let client = options
        .connect(url.trim())
        .await
        .map_err(|e| unreachable(&server, &e))?;
    let js = jetstream::new(client);
    let ack_wait = env_ms("CONNECTOR_CLUSTER_ACK_WAIT_MS", ACK_WAIT);
    let lease_ttl = env_ms("CONNECTOR_CLUSTER_LEASE_TTL_MS", LEASE_TTL);
    let stream = js
        .get_or_create_stream(stream::Config {
            name: names::STREAM.into(),
            subjects: vec![names::SUBJECTS.into()],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            duplicate_window: DEDUP_WINDOW,
            ..Default::default()
        })
        .await
        .map_err(|e| {
            use async_nats::jetstream::context::CreateStreamErrorKind as K;
            match e.kind() {
                K::JetStreamUnavailable => anyhow::Error::new(ConnectError::NoJetStream {
                    server: server.clone(),
                }),
                _ => anyhow::Error::new(e).context("creating the jobs stream"),
            }
        })?;
    let consumer = stream
        .get_or_create_consumer(
            names::CONSUMER,
            consumer::pull::Config {
                durable_name: Some(names::CONSUMER.into()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait,
                max_deliver: MAX_DELIVER,
                ..Default::default()
            },
        )
        .await
        .context("creating the workers' consumer")?;
    let ack_wait = consumer_ack_wait(&consumer, ack_wait).await;
    let bucket = |name: &str, max_age: Duration| kv::Config {
        bucket: name.into(),
        max_age,
        storage: stream::StorageType::File,
        ..Default::default()
    };
    let checkpoints = kv_bucket(&js, bucket(names::CHECKPOINTS, Duration::ZERO)).await?;
    let leases = kv_bucket(&js, bucket(names::LEASES, lease_ttl)).await?;
    let done = kv_bucket(&js, bucket(names::DONE, DEDUP_WINDOW)).await?;
    let failures = kv_bucket(&js, bucket(names::FAILURES, Duration::ZERO)).await?;
    let workers = kv_bucket(&js, bucket(names::WORKERS, HEARTBEAT_TTL)).await?;
    let snapshots = kv_bucket(&js, bucket(names::SNAPSHOTS, Duration::ZERO)).await?;
    let results = objects(&js, names::RESULTS).await?;
    let state = objects(&js, names::STATE).await?;
    Ok(Cluster {
        js,
        stream,
        consumer,
        checkpoints,
        leases,
        done,
        failures,
        workers,
        results,
        snapshots,
        state,
        ack_wait,
        lease_ttl,
    })
}

async fn kv_bucket(js: &jetstream::Context, config: kv::Config) -> anyhow::Result<kv::Store> {
    if let Ok(store) = js.get_key_value(&config.bucket).await {
        return Ok(store);
    }
    let name = config.bucket.clone();
    js.create_key_value(config)
        .await
        .with_context(|| format!("creating the {name} bucket"))
}

/// The deadline the consumer really has (it may predate this process's setting).
async fn consumer_ack_wait(consumer: &consumer::PullConsumer, wanted: Duration) -> Duration {
    let mut c = consumer.clone();
    match c.info().await {
        Ok(info) => info.config.ack_wait,
        Err(_) => wanted,
    }
}

async fn objects(js: &jetstream::Context, name: &str) -> anyhow::Result<object_store::ObjectStore> {
    if let Ok(s) = js.get_object_store(name).await {
        return Ok(s);
    }
    js.create_object_store(object_store::Config {
        bucket: name.into(),
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .with_context(|| format!("creating the {name} store"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_shown_without_credentials_and_bad_ones_say_why() {
        assert_eq!(
            server_url("nats://127.0.0.1:4299").unwrap(),
            "nats://127.0.0.1:4299"
        );
        assert_eq!(server_url("localhost").unwrap(), "nats://localhost:4222");
        assert_eq!(
            server_url("nats://user:s3cret@10.0.0.1:4222").unwrap(),
            "nats://10.0.0.1:4222"
        );
        assert_eq!(server_url("tls://[::1]:4443").unwrap(), "tls://[::1]:4443");
        let why = |u: &str| server_url(u).unwrap_err().to_string();
        assert_eq!(why(""), "the NATS server URL is empty");
        assert_eq!(
            why("http://127.0.0.1:4222"),
            "the NATS server URL must start with nats:// (or tls://, ws://, wss://), not http://"
        );
        assert_eq!(
            why("nats://127.0.0.1:99999"),
            "the NATS server URL is not valid (invalid port number)"
        );
        let e = why("nats://user:s3cret@:4222");
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_one_cause_in_words() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("nats://127.0.0.1:{port}");
        let e = connect(&url, Patience::Command).await.err().unwrap();
        assert_eq!(
            format!("{e:#}"),
            format!("cannot connect to NATS at {url}: connection refused")
        );
    }
}
