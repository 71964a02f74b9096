//! `make bench`: measures, in one run, the sync against the latency floor, the component
//! against the native build of the same logic, against Twilio's Python helper library, and the
//! host's instantiation costs and memory. Prints a Markdown table and appends it, with the
//! command, machine facts and date, to BENCHMARKS.md.

mod native;

use connector_host::{Credentials, Host, HostOptions, Tenant};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use twilio_sim::{Fixture, Simulator};

fn env_usize(k: &str, default: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Median, min and max of samples.
fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    (median, v[0], v[v.len() - 1])
}

fn fmt_s((m, lo, hi): (f64, f64, f64)) -> String {
    format!("{m:.3} s ({lo:.3}–{hi:.3})")
}

fn fmt_us((m, lo, hi): (f64, f64, f64)) -> String {
    if m >= 1000.0 {
        format!(
            "{:.2} ms ({:.2}–{:.2})",
            m / 1000.0,
            lo / 1000.0,
            hi / 1000.0
        )
    } else {
        format!("{m:.1} µs ({lo:.1}–{hi:.1})")
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn plugin() -> PathBuf {
    root().join("target/wasm32-wasip2/component/twilio_connector.wasm")
}

fn tenant(sim: &Simulator, app: &str) -> Tenant {
    let (sid, token) = sim.main_credentials();
    Tenant::new(
        "bench",
        app,
        Credentials::AuthToken {
            account_sid: sid,
            auth_token: token,
        },
    )
}

async fn load(sim: &Simulator, cache: &Path) -> anyhow::Result<Host> {
    let opts = HostOptions {
        connect_to: Some(sim.addr()),
        cache_dir: Some(cache.to_path_buf()),
        trusted_host_suffixes: vec![twilio_sim::hosts::TRUSTED_SUFFIX.to_string()],
        ..HostOptions::default()
    };
    Ok(Host::load(&plugin(), opts).await?)
}

/// Component sync: (seconds per run, requests per run, accounts).
async fn component_sync(
    host: &Host,
    sim: &Simulator,
    t: &Tenant,
    runs: usize,
) -> anyhow::Result<(Vec<f64>, usize, usize)> {
    let mut times = Vec::new();
    let (mut requests, mut accounts) = (0, 0);
    for _ in 0..runs {
        sim.clear_requests();
        let started = Instant::now();
        accounts = host.list_all(t, |_| {}).await?.len();
        times.push(started.elapsed().as_secs_f64());
        requests = sim.requests().len();
    }
    Ok((times, requests, accounts))
}

fn native_sync(
    sim: &Simulator,
    app: &str,
    options: &'static [(&'static str, &'static str)],
    runs: usize,
) -> anyhow::Result<Vec<f64>> {
    let (sid, token) = sim.main_credentials();
    let addr = sim.addr();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut t = native::NativeTransport::new(addr, &sid, &token);
            let mut times = Vec::new();
            for _ in 0..runs {
                let started = Instant::now();
                native::sync(&mut t, app, &sid, options)
                    .map_err(|e| anyhow::anyhow!("native sync: {e}"))?;
                times.push(started.elapsed().as_secs_f64());
            }
            Ok(times)
        })
        .join()
        .expect("native thread")
    })
}

/// Run the Python SDK script; `(seconds, requests, accounts)` or why it could not run.
fn sdk_sync(sim: &Simulator) -> Result<(f64, usize, usize), String> {
    let (sid, token) = sim.main_credentials();
    let out = std::process::Command::new("python3")
        .arg(root().join("bench/sdk_sync.py"))
        .arg(sim.addr().to_string())
        .env("TWILIO_ACCOUNT_SID", sid)
        .env("TWILIO_AUTH_TOKEN", token)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or("failed")
            .to_string());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<&str> = text.split_whitespace().collect();
    Ok((
        f[2].parse().unwrap_or(f64::NAN),
        f[1].parse().unwrap_or(0),
        f[0].parse().unwrap_or(0),
    ))
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Subprocess mode: sync `n` tenants concurrently and print peak RSS in KiB.
async fn rss_mode(n: usize) -> anyhow::Result<()> {
    let sim = Simulator::start(Fixture::generate(50, 21), "127.0.0.1:0").await?;
    let cache = root().join("target/bench-cache");
    let host = Arc::new(load(&sim, &cache).await?);
    let before = vm_hwm_kib();
    let tenants: Vec<Tenant> = (0..n)
        .map(|i| Tenant {
            name: format!("t{i}"),
            ..tenant(&sim, "twilio")
        })
        .collect();
    let results = host.sync_tenants(tenants, n).await;
    let ok = results.iter().filter(|r| r.result.is_ok()).count();
    println!(
        "{} {} {} {}",
        vm_hwm_kib(),
        before,
        ok,
        host.peak_guest_memory()
    );
    Ok(())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|k| format!("{:.0} GiB", k as f64 / 1048576.0))
        .unwrap_or_default();
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!("{cores} cores, {mem}, {cpu}; {rustc}; wasmtime 48.0.8; release build")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--rss-tenants") {
        return rss_mode(args.get(2).and_then(|n| n.parse().ok()).unwrap_or(100)).await;
    }
    let accounts = env_usize("BENCH_ACCOUNTS", 2000);
    let workers = env_usize("BENCH_WORKERS", 2000);
    let runs = env_usize("BENCH_RUNS", 3);
    let sdk_slow_accounts = env_usize("BENCH_SDK_SLOW_ACCOUNTS", 200);
    let cache = root().join("target/bench-cache");
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    let fixture = Fixture::generate(accounts, 42).with_generated_workers(workers);
    let sim = Simulator::start(fixture, "127.0.0.1:0").await?;
    let host = load(&sim, &cache).await?;
    let flex = tenant(&sim, "flex");
    let twilio = tenant(&sim, "twilio");
    let concurrency = 16.0;

    for latency_ms in [0u64, 100] {
        sim.faults().latency = Duration::from_millis(latency_ms);
        for (label, t, n) in [
            ("subaccounts", &twilio, accounts),
            ("Flex workers", &flex, workers),
        ] {
            eprintln!("component sync of {n} {label} at {latency_ms} ms …");
            let (times, requests, got) = component_sync(&host, &sim, t, runs).await?;
            let s = stats(times);
            let floor = requests as f64 * latency_ms as f64 / 1000.0 / concurrency;
            let ratio = if floor > 0.0 {
                format!("{:.2}× floor ({floor:.2} s)", s.0 / floor)
            } else {
                "floor 0 at 0 ms".into()
            };
            rows.push((
                format!("sync {got} {label}, {latency_ms} ms latency (component)"),
                format!("{}; {requests} requests; {ratio}", fmt_s(s)),
            ));
            if latency_ms == 0 {
                let app = if label == "subaccounts" {
                    "twilio"
                } else {
                    "flex"
                };
                eprintln!("native sync of {n} {label} at 0 ms …");
                let native = stats(native_sync(&sim, app, &[], runs)?);
                rows.push((
                    format!("sync {got} {label}, 0 ms (native build, same logic)"),
                    format!(
                        "{}; component/native = {:.2}×",
                        fmt_s(native),
                        s.0 / native.0
                    ),
                ));
            }
        }
    }

    // Twilio's Python helper library, the way a user would write the job (sequential).
    sim.faults().latency = Duration::ZERO;
    let pip = std::process::Command::new("python3")
        .args(["-c", "import twilio"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !pip {
        notes.push(
            "Twilio's Python library is not installed; `make bench` installs it with pip".into(),
        );
    } else {
        eprintln!("Python SDK at 0 ms …");
        sim.clear_requests();
        match sdk_sync(&sim) {
            Ok((secs, req, got)) => {
                let ours = rows
                    .iter()
                    .find(|r| r.0.contains("subaccounts, 0 ms latency (component)"))
                    .map(|r| r.1.clone())
                    .unwrap_or_default();
                let ours_s: f64 = ours
                    .split(' ')
                    .next()
                    .and_then(|x| x.parse().ok())
                    .unwrap_or(f64::NAN);
                rows.push((
                    format!("same job with Twilio's Python SDK, {got} subaccounts, 0 ms"),
                    format!(
                        "{secs:.3} s; {req} requests; ours is {:.1}× faster",
                        secs / ours_s
                    ),
                ));
            }
            Err(e) => notes.push(format!("Python SDK run failed: {e}")),
        }
        let small =
            Simulator::start(Fixture::generate(sdk_slow_accounts, 43), "127.0.0.1:0").await?;
        small.faults().latency = Duration::from_millis(100);
        let small_host = load(&small, &cache).await?;
        eprintln!("component and Python SDK on {sdk_slow_accounts} subaccounts at 100 ms …");
        let (times, requests, got) =
            component_sync(&small_host, &small, &tenant(&small, "twilio"), 1).await?;
        match sdk_sync(&small) {
            Ok((secs, req, _)) => rows.push((
                format!("{got} subaccounts at 100 ms: component vs Python SDK"),
                format!(
                    "{:.2} s ({requests} requests) vs {secs:.2} s ({req} requests): {:.1}× faster",
                    times[0],
                    secs / times[0]
                ),
            )),
            Err(e) => notes.push(format!("Python SDK run at 100 ms failed: {e}")),
        }
    }

    // Instantiation and calls.
    let engine = connector_host::engine::new_engine(host.limits())?;
    let bytes = std::fs::read(plugin())?;
    let cold: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            wasmtime::component::Component::new(&engine, &bytes).expect("compiles");
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let compiled = engine
        .precompile_component(&bytes)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let cached: Vec<f64> = (0..50)
        .map(|_| {
            let t = Instant::now();
            // SAFETY: bytes produced just above by the same engine.
            unsafe { wasmtime::component::Component::deserialize(&engine, &compiled) }
                .expect("deserializes");
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let mut warm = Vec::new();
    let mut call = Vec::new();
    for _ in 0..500 {
        let t = Instant::now();
        host.instantiate_only().await?;
        warm.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        host.call_metadata().await?;
        call.push(t.elapsed().as_secs_f64() * 1e6);
    }
    rows.push((
        "instantiate cold (compile the component)".into(),
        fmt_us(stats(cold)),
    ));
    rows.push((
        "instantiate cached (deserialize precompiled)".into(),
        fmt_us(stats(cached)),
    ));
    rows.push((
        "instantiate warm (InstancePre, new Store)".into(),
        fmt_us(stats(warm)),
    ));
    rows.push((
        "one call (instantiate + metadata)".into(),
        fmt_us(stats(call)),
    ));
    rows.push((
        "guest linear memory per tenant instance (peak)".into(),
        format!("{:.1} MiB", host.peak_guest_memory() as f64 / 1048576.0),
    ));

    eprintln!("100 tenants concurrently …");
    let exe = std::env::current_exe()?;
    let out = std::process::Command::new(exe)
        .args(["--rss-tenants", "100"])
        .output()?;
    let f: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    if f.len() == 4 {
        rows.push((
            "peak RSS, 100 tenants synced concurrently (51 accounts each)".into(),
            format!(
                "{:.0} MiB ({} of 100 ok; {:.0} MiB before the syncs)",
                f[0] as f64 / 1024.0,
                f[2],
                f[1] as f64 / 1024.0
            ),
        ));
    } else {
        notes.push(format!(
            "100-tenant run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    rows.push((
        "component size".into(),
        format!("{:.0} KiB", bytes.len() as f64 / 1024.0),
    ));

    let mut table = String::from("| measure | result (median, min–max) |\n|---|---|\n");
    for (k, v) in &rows {
        table.push_str(&format!("| {k} | {v} |\n"));
    }
    for n in &notes {
        table.push_str(&format!("\n- {n}"));
    }
    let section = format!(
        "\n## {}\n\nCommand: `make bench` (BENCH_ACCOUNTS={accounts}, BENCH_WORKERS={workers}, BENCH_RUNS={runs}); machine: {}.\n\n{table}\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine()
    );
    println!("{section}");
    let path = root().join("BENCHMARKS.md");
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    text.push_str(&section);
    std::fs::write(&path, text)?;
    eprintln!("appended to {}", path.display());
    Ok(())
}
