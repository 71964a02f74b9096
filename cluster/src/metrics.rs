//! A worker's metrics, in Prometheus' text exposition format (0.0.4), served on
//! `connector worker --metrics ADDR` at `http://ADDR/metrics`: jobs by kind and outcome, job
//! durations, upstream requests by status and in flight (from the host's
//! [`RequestObserver`]), lease losses, redeliveries, and the age of each snapshot this worker
//! published. Counters are atomics; only the snapshot table takes a lock (once per snapshot).

use connector_host::RequestObserver;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The exposition's media type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A job's kind, as labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sync,
    Action,
}

const KINDS: [(Kind, &str); 2] = [(Kind::Sync, "sync"), (Kind::Action, "action")];

/// How a job's handling ended, as labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// Its result stored; acknowledged.
    Done,
    /// Given back for later (or another worker).
    Retried,
    /// Given up for good (recorded in the failures).
    Failed,
    /// Handed back because the worker is stopping.
    HandedBack,
    /// Its tenant's lease was lost: the job is another worker's now.
    Lost,
}

const OUTCOMES: [(JobOutcome, &str); 5] = [
    (JobOutcome::Done, "done"),
    (JobOutcome::Retried, "retried"),
    (JobOutcome::Failed, "failed"),
    (JobOutcome::HandedBack, "handed_back"),
    (JobOutcome::Lost, "lost"),
];

/// Upstream request classes: 429 apart from the other 4xx; `error` is no answer at all;
/// `other` any status outside 2xx, 4xx and 5xx.
const STATUSES: [&str; 6] = ["2xx", "4xx", "429", "5xx", "error", "other"];

fn status_class(status: Option<u16>) -> usize {
    match status {
        Some(200..=299) => 0,
        Some(429) => 2,
        Some(400..=499) => 1,
        Some(500..=599) => 3,
        None => 4,
        Some(_) => 5,
    }
}

/// Upper bounds (seconds) of the job duration histogram's buckets (`+Inf` follows).
pub const DURATION_BUCKETS: [f64; 9] = [0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0];

/// A histogram of durations: per-bucket counts (cumulated when rendered; the last is `+Inf`)
/// and the sum in nanoseconds.
#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; DURATION_BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = DURATION_BUCKETS
            .iter()
            .position(|le| secs <= *le)
            .unwrap_or(DURATION_BUCKETS.len());
        self.buckets[i].fetch_add(1, Relaxed);
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Relaxed);
    }
}

/// What one worker counts.
#[derive(Default)]
pub struct Metrics {
    jobs: [[AtomicU64; OUTCOMES.len()]; KINDS.len()],
    durations: [Histogram; KINDS.len()],
    upstream: [AtomicU64; STATUSES.len()],
    in_flight: AtomicI64,
    lease_losses: AtomicU64,
    redeliveries: AtomicU64,
    /// When this worker last published each (tenant, app)'s snapshot.
    snapshots: Mutex<BTreeMap<(String, String), Instant>>,
}

fn kind_index(kind: Kind) -> usize {
    KINDS.iter().position(|(k, _)| *k == kind).unwrap_or(0)
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// A job's handling ended with `outcome` after `took`.
    pub fn job_finished(&self, kind: Kind, outcome: JobOutcome, took: Duration) {
        let k = kind_index(kind);
        let o = OUTCOMES
            .iter()
            .position(|(x, _)| *x == outcome)
            .unwrap_or(0);
        self.jobs[k][o].fetch_add(1, Relaxed);
        self.durations[k].observe(took);
    }

    /// A job found its tenant's lease lost (once per job).
    pub fn lease_lost(&self) {
        self.lease_losses.fetch_add(1, Relaxed);
    }

    /// A message delivered more than once was taken.
    pub fn redelivered(&self) {
        self.redeliveries.fetch_add(1, Relaxed);
    }

    /// This worker has just published the snapshot of `tenant` and `app`.
    pub fn snapshot_published(&self, tenant: &str, app: &str) {
        lock(&self.snapshots).insert((tenant.into(), app.into()), Instant::now());
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        family(
            &mut out,
            "connector_jobs_total",
            "counter",
            "Jobs this worker handled, by kind and how their handling ended.",
        );
        for (k, (_, kind)) in KINDS.iter().enumerate() {
            for (o, (_, outcome)) in OUTCOMES.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "connector_jobs_total{{kind=\"{kind}\",outcome=\"{outcome}\"}} {}",
                    self.jobs[k][o].load(Relaxed)
                );
            }
        }
        family(
            &mut out,
            "connector_job_duration_seconds",
            "histogram",
            "How long this worker took to handle a job, by kind.",
        );
        for (k, (_, kind)) in KINDS.iter().enumerate() {
            let h = &self.durations[k];
            let mut cumulative = 0;
            for (i, bucket) in h.buckets.iter().enumerate() {
                cumulative += bucket.load(Relaxed);
                let le = DURATION_BUCKETS
                    .get(i)
                    .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
                let _ = writeln!(
                    out,
                    "connector_job_duration_seconds_bucket{{kind=\"{kind}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let sum = h.sum_nanos.load(Relaxed) as f64 / 1e9;
            let _ = writeln!(
                out,
                "connector_job_duration_seconds_sum{{kind=\"{kind}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "connector_job_duration_seconds_count{{kind=\"{kind}\"}} {cumulative}"
            );
        }
        family(
            &mut out,
            "connector_upstream_requests_total",
            "counter",
            "Requests sent upstream, by the answer's status class (429 apart; error: no answer).",
        );
        for (i, status) in STATUSES.iter().enumerate() {
            let _ = writeln!(
                out,
                "connector_upstream_requests_total{{status=\"{status}\"}} {}",
                self.upstream[i].load(Relaxed)
            );
        }
        family(
            &mut out,
            "connector_upstream_in_flight",
            "gauge",
            "Requests sent upstream and not answered yet.",
        );
        let _ = writeln!(
            out,
            "connector_upstream_in_flight {}",
            self.in_flight.load(Relaxed)
        );
        family(
            &mut out,
            "connector_lease_losses_total",
            "counter",
            "Jobs that found their tenant's lease lost (taken over by another worker).",
        );
        let _ = writeln!(
            out,
            "connector_lease_losses_total {}",
            self.lease_losses.load(Relaxed)
        );
        family(
            &mut out,
            "connector_redeliveries_total",
            "counter",
            "Jobs this worker took that had been delivered before.",
        );
        let _ = writeln!(
            out,
            "connector_redeliveries_total {}",
            self.redeliveries.load(Relaxed)
        );
        family(
            &mut out,
            "connector_snapshot_age_seconds",
            "gauge",
            "Seconds since this worker published each tenant's and app's snapshot.",
        );
        let now = Instant::now();
        for ((tenant, app), at) in lock(&self.snapshots).iter() {
            let _ = writeln!(
                out,
                "connector_snapshot_age_seconds{{tenant=\"{}\",app=\"{}\"}} {:.3}",
                escape(tenant),
                escape(app),
                now.saturating_duration_since(*at).as_secs_f64()
            );
        }
        out
    }
}

impl RequestObserver for Metrics {
    fn started(&self) {
        self.in_flight.fetch_add(1, Relaxed);
    }

    fn finished(&self, status: Option<u16>) {
        self.in_flight.fetch_sub(1, Relaxed);
        self.upstream[status_class(status)].fetch_add(1, Relaxed);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value as the exposition format writes it: backslash, double quote and line feed
/// escaped.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Listen on `addr` (a bad or taken address fails here) and serve `GET /metrics` until the
/// process ends; the address actually bound is returned (port 0 picks one).
pub async fn serve(
    metrics: std::sync::Arc<Metrics>,
    addr: SocketAddr,
) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("--metrics {addr}: cannot listen there ({e})"))?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let text = metrics.render();
            async move { ([(axum::http::header::CONTENT_TYPE, CONTENT_TYPE)], text) }
        }),
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!("the metrics endpoint stopped: {e}");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.starts_with(prefix)).collect()
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape("line\nnext"), "line\\nnext");
        assert_eq!(escape("plain é"), "plain é");
        let m = Metrics::new();
        m.snapshot_published("acme \"eu\"\\\n2", "twilio");
        let text = m.render();
        let age = lines_of(&text, "connector_snapshot_age_seconds{");
        assert_eq!(age.len(), 1, "{text}");
        assert!(
            age[0].starts_with(
                r#"connector_snapshot_age_seconds{tenant="acme \"eu\"\\\n2",app="twilio"} "#
            ),
            "{}",
            age[0]
        );
        let value: f64 = age[0].rsplit(' ').next().unwrap().parse().unwrap();
        assert!((0.0..5.0).contains(&value), "{value}");
        // Every line is a comment or one sample: no raw line feed escaped a label.
        for l in text.lines() {
            assert!(l.starts_with('#') || l.starts_with("connector_"), "{l:?}");
        }
    }

    #[test]
    fn histogram_buckets_are_cumulative_with_sum_and_count() {
        let m = Metrics::new();
        for ms in [50, 100, 700, 3_000, 400_000] {
            m.job_finished(Kind::Sync, JobOutcome::Done, Duration::from_millis(ms));
        }
        m.job_finished(Kind::Action, JobOutcome::Lost, Duration::from_secs(1));
        let text = m.render();
        let bucket = |kind: &str, le: &str| -> u64 {
            let prefix =
                format!("connector_job_duration_seconds_bucket{{kind=\"{kind}\",le=\"{le}\"}} ");
            let l = lines_of(&text, &prefix);
            assert_eq!(l.len(), 1, "{prefix} in {text}");
            l[0][prefix.len()..].parse().unwrap()
        };
        // 0.05 and 0.1 are at most 0.1 (bounds are inclusive); 0.7 within 1; 3 within 5;
        // 400 only within +Inf.
        let expected = [
            ("0.1", 2),
            ("0.5", 2),
            ("1", 3),
            ("2", 3),
            ("5", 4),
            ("10", 4),
            ("30", 4),
            ("60", 4),
            ("300", 4),
            ("+Inf", 5),
        ];
        for (le, n) in expected {
            assert_eq!(bucket("sync", le), n, "le={le}");
        }
        assert_eq!(bucket("action", "0.5"), 0);
        assert_eq!(bucket("action", "1"), 1);
        assert!(text.contains("connector_job_duration_seconds_count{kind=\"sync\"} 5\n"));
        assert!(text.contains("connector_job_duration_seconds_sum{kind=\"sync\"} 403.85\n"));
        assert!(text.contains("connector_job_duration_seconds_count{kind=\"action\"} 1\n"));
        assert!(text.contains("# TYPE connector_job_duration_seconds histogram\n"));
        assert!(text.contains("connector_jobs_total{kind=\"sync\",outcome=\"done\"} 5\n"));
        assert!(text.contains("connector_jobs_total{kind=\"action\",outcome=\"lost\"} 1\n"));
        assert!(text.contains("connector_jobs_total{kind=\"sync\",outcome=\"handed_back\"} 0\n"));
    }

    #[test]
    fn upstream_requests_by_class_and_in_flight() {
        let m = Metrics::new();
        for s in [
            Some(200),
            Some(204),
            Some(404),
            Some(429),
            Some(503),
            None,
            Some(302),
        ] {
            m.started();
            m.finished(s);
        }
        m.started();
        let text = m.render();
        for (class, n) in [
            ("2xx", 2),
            ("4xx", 1),
            ("429", 1),
            ("5xx", 1),
            ("error", 1),
            ("other", 1),
        ] {
            let line = format!("connector_upstream_requests_total{{status=\"{class}\"}} {n}\n");
            assert!(text.contains(&line), "{line} in {text}");
        }
        assert!(text.contains("connector_upstream_in_flight 1\n"));
        m.lease_lost();
        m.redelivered();
        m.redelivered();
        let text = m.render();
        assert!(text.contains("connector_lease_losses_total 1\n"));
        assert!(text.contains("connector_redeliveries_total 2\n"));
    }
}
