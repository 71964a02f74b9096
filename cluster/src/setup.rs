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
    pub results: object_store::ObjectStore,
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

/// Connect to `url` and find (or create) everything the cluster uses.
pub async fn connect(url: &str, patience: Patience) -> anyhow::Result<Cluster> {
    let mut options = async_nats::ConnectOptions::new().connection_timeout(Duration::from_secs(5));
    if patience == Patience::Worker {
        options = options.retry_on_initial_connect();
    }
    let client = options.connect(url).await.with_context(|| {
        format!("cannot connect to NATS at {url}: start a nats-server with JetStream (-js) there, or pass --nats URL")
    })?;
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
        .context("creating the jobs stream")?;
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
