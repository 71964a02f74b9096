//! A worker's Prometheus metrics (`connector worker --metrics ADDR`) and the last complete sync
//! per tenant in `connector cluster status`: one nats-server, one worker and the simulator on
//! loopback, one sync of one tenant whose name needs escaping in a label.

use crate::cluster::{Nats, TOKEN_ENV, Workers, command, status};
use connector_e2e::{free_port, scratch_dir, sim, text};
use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};
use twilio_sim::Fixture;

/// A name with a double quote and a backslash, which a label value must escape.
const TENANT: &str = r#"metrics "eu"\one"#;

/// `GET /metrics` over a plain TCP connection: (the response's head, its body).
fn scrape(port: u16) -> (String, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("the metrics port");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    (head.to_string(), body.to_string())
}

/// The value of the sample `series` (name and labels, exactly as written), if present.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().expect("a number"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_serves_prometheus_metrics_and_status_shows_each_last_sync() {
    let sim = sim(Fixture::demo()).await;
    let (sid, token) = sim.main_credentials();
    let dir = scratch_dir("cluster-metrics");
    std::fs::create_dir_all(&dir).unwrap();
    let tenants = dir.join("tenants.toml");
    std::fs::write(
        &tenants,
        format!("[[tenant]]\nname = '{TENANT}'\naccount_sid = \"{sid}\"\nauth_token_env = \"{TOKEN_ENV}\"\n"),
    )
    .unwrap();
    let nats = Nats::start(free_port(), &dir);
    let url = nats.url();
    let mut children = Workers(Vec::new());
    let metrics_port = free_port();
    let log = dir.join("w0.log");
    children.0.push(
        command(&token)
            .args([
                "worker",
                "--nats",
                &url,
                "--connect-to",
                &sim.addr().to_string(),
            ])
            .args([
                "--id",
                "w0",
                "--metrics",
                &format!("127.0.0.1:{metrics_port}"),
            ])
            .arg("--tenants")
            .arg(&tenants)
            .env("CONNECTOR_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start a worker"),
    );
    let out = command(&token)
        .args(["enqueue", "--nats", &url, "--tenants"])
        .arg(&tenants)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));

    let deadline = Instant::now() + Duration::from_secs(120);
    let done = loop {
        let s = status(&token, &url);
        if let Some(s) = &s
            && s["snapshots"] == 1
            && s["queued"] == 0
            && s["in_flight"] == 0
        {
            break s.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no snapshot: {s:?}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(300));
    };

    // The status names the tenant's last complete sync and its age.
    let last = done["last_syncs"].as_array().expect("last_syncs");
    assert_eq!(last.len(), 1, "{done}");
    assert_eq!(last[0]["tenant"], TENANT, "{done}");
    assert_eq!(last[0]["app"], "twilio", "{done}");
    let age = last[0]["age_seconds"].as_f64().expect("an age");
    assert!((0.0..120.0).contains(&age), "{done}");
    assert!(
        last[0]["completed_at"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let human = command(&token)
        .args(["cluster", "status", "--nats", &url])
        .output()
        .unwrap();
    let human = text(&human.stdout);
    assert!(
        human.contains(&format!("last sync: tenant {TENANT} (twilio) complete at ")),
        "{human}"
    );

    let (head, body) = scrape(metrics_port);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    assert_eq!(
        sample(&body, r#"connector_jobs_total{kind="sync",outcome="done"}"#),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            r#"connector_job_duration_seconds_count{kind="sync"}"#
        ),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            r#"connector_job_duration_seconds_bucket{kind="sync",le="+Inf"}"#
        ),
        Some(1.0),
        "{body}"
    );
    let ok = sample(&body, r#"connector_upstream_requests_total{status="2xx"}"#);
    assert!(ok.is_some_and(|n| n > 0.0), "{body}");
    let sent = sim.requests().len() as f64;
    assert_eq!(
        ok,
        Some(sent),
        "every request the simulator saw is counted: {body}"
    );
    assert_eq!(
        sample(&body, "connector_upstream_in_flight"),
        Some(0.0),
        "{body}"
    );
    assert_eq!(
        sample(&body, "connector_lease_losses_total"),
        Some(0.0),
        "{body}"
    );
    assert_eq!(
        sample(&body, "connector_redeliveries_total"),
        Some(0.0),
        "{body}"
    );
    let age = sample(
        &body,
        r#"connector_snapshot_age_seconds{tenant="metrics \"eu\"\\one",app="twilio"}"#,
    );
    assert!(age.is_some_and(|a| (0.0..120.0).contains(&a)), "{body}");
    drop(children);
    drop(nats);
    let _ = std::fs::remove_dir_all(dir);
}
