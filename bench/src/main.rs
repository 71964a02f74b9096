//! `make bench`: measures, in one run, the sync against the latency floor, the component
//! against the native build of the same logic, against Twilio's Python helper library, and the
//! host's instantiation costs and memory. Prints a Markdown table and appends it, with the
//! command, machine facts and date, to BENCHMARKS.md.

mod native;

use connector_host::{Credentials, Host, HostOptions, Tenant};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use twilio_sim::{Fixture, History, Simulator};

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

/// A simulator on a thread of its own (a one-thread runtime), so its CPU time can be read
/// beside each figure: a figure is the connector's only while the simulator is not busy.
struct SimThread {
    sim: Simulator,
    tid: String,
}

impl SimThread {
    fn start(fixture: Fixture) -> anyhow::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("simulator".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    let tid = std::fs::read_link("/proc/thread-self")
                        .ok()
                        .and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
                        .unwrap_or_default();
                    let started = Simulator::start(fixture, "127.0.0.1:0").await;
                    let _ = tx.send(started.map(|sim| SimThread { sim, tid }));
                    // Serve until the process ends.
                    std::future::pending::<()>().await;
                });
            })?;
        rx.recv()?
    }

    /// CPU time the simulator's thread has used, in seconds.
    fn cpu_s(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/self/task/{}/schedstat", self.tid))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
            .map(|ns| ns / 1e9)
            .unwrap_or(f64::NAN)
    }
}

impl std::ops::Deref for SimThread {
    type Target = Simulator;
    fn deref(&self) -> &Simulator {
        &self.sim
    }
}

/// One sync of the ceiling section.
#[derive(Clone)]
struct CeilingSync {
    wall: f64,
    /// Requests the simulator received, refused ones included.
    sent: u64,
    throttled: u64,
    peak: u64,
    same: Listed,
    connector_cpu: f64,
    sim_cpu: f64,
}

/// How a sync's accounts compare with the section's first sync.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Listed {
    Reference,
    Alike,
    Different,
}

/// A ceiling row: the median of its syncs (each figure's own median), with the range when
/// there are several.
fn ceiling_row(syncs: &[CeilingSync], n: usize, limit: usize) -> String {
    let median = |f: &dyn Fn(&CeilingSync) -> f64| stats(syncs.iter().map(f).collect());
    let range = |(m, lo, hi): (f64, f64, f64), digits: usize, unit: &str| {
        if syncs.len() > 1 {
            format!("{m:.digits$}{unit} ({lo:.digits$}–{hi:.digits$})")
        } else {
            format!("{m:.digits$}{unit}")
        }
    };
    let needed = |s: &CeilingSync| (s.sent - s.throttled) as f64;
    let floor_of = |s: &CeilingSync| needed(s) * 0.1 / limit as f64;
    // The rounds no concurrency shortens: the first call's page of accounts is read alone,
    // and its last Daily reads wait for the last Monthly answers; each further call (a page,
    // the list's last page joining the one before it) starts with the page the call before
    // read ahead, and adds its own Monthly and Daily tail.
    let pages = (n + 1).div_ceil(1000);
    let calls = pages.saturating_sub(1).max(1);
    let chain_extra = 0.1 * (2 + 2 * (calls - 1)) as f64;
    let (floor, _, _) = median(&floor_of);
    let (needed_m, _, _) = median(&needed);
    let throttled = median(&|s| s.throttled as f64);
    let share = median(&|s| 100.0 * s.throttled as f64 / s.sent.max(1) as f64);
    let ratio = median(&|s| s.wall / floor_of(s));
    let chained = median(&|s| s.wall / (floor_of(s) + chain_extra));
    let peak = syncs.iter().map(|s| s.peak).max().unwrap_or(0);
    let same = if syncs.iter().any(|s| s.same == Listed::Different) {
        "**different accounts**"
    } else if syncs.iter().any(|s| s.same == Listed::Reference) {
        "reference, the others the same accounts"
    } else {
        "same accounts"
    };
    let rounds = if syncs.len() > 1 {
        format!("median of {} rounds; ", syncs.len())
    } else {
        String::new()
    };
    format!(
        "{rounds}{}; {needed_m:.0} requests + {} throttled (**{}**); **{} the floor at {limit}** ({floor:.2} s), {:.2}× it with the dependency chain of {calls} call(s) ({:.2} s); peak {peak} in flight; {same}; connector CPU {:.2} s, simulator CPU {:.2} s",
        range(median(&|s| s.wall), 2, " s"),
        range(throttled, 0, ""),
        range(share, 1, " %"),
        range(ratio, 2, "×"),
        chained.0,
        floor + chain_extra,
        median(&|s| s.connector_cpu).0,
        median(&|s| s.sim_cpu).0,
    )
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The component measured: `make component`'s, or `BENCH_PLUGIN` (`make profile-guest` points
/// it at a build that keeps its function names, so a profile can name them).
fn plugin() -> PathBuf {
    std::env::var_os("BENCH_PLUGIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/wasm32-wasip2/component/twilio_connector.wasm"))
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
        connect_to: Some(sim.addr().into()),
        cache_dir: Some(cache.to_path_buf()),
        vendor_policy: std::sync::Arc::new(
            twilio_policy::policy().expect("the Twilio vendor policy builds"),
        ),
        ..HostOptions::default()
    };
    Ok(Host::load(&plugin(), opts).await?)
}

/// One measured sync: wall times, requests and accounts of the last run, and the simulator's
/// CPU time per run (median).
struct Measured {
    times: Vec<f64>,
    requests: usize,
    accounts: usize,
    sim_cpu: f64,
    /// The simulator's mean time from a request's arrival to its answer (its latency
    /// included), in ms, over the last run.
    sim_answer_ms: f64,
    /// The same, for each run (in `times`' order).
    answer_ms: Vec<f64>,
}

impl Measured {
    /// The median over runs of the wall time against the floor at the round trip the
    /// simulator actually gave that run (`requests × its mean answer / in flight`): what is
    /// left is the connector's, whatever the machine did to the simulator's timing.
    fn vs_answered_floor(&self, in_flight: f64) -> f64 {
        let ratios = self
            .times
            .iter()
            .zip(&self.answer_ms)
            .map(|(t, ms)| t / (self.requests as f64 * ms / 1000.0 / in_flight))
            .collect();
        stats(ratios).0
    }

    /// The simulator's share, for the table.
    fn sim_note(&self) -> String {
        let wall = stats(self.times.clone()).0;
        format!(
            "simulator CPU {:.2} s ({:.0}% of wall), its mean answer {:.2} ms",
            self.sim_cpu,
            100.0 * self.sim_cpu / wall,
            self.sim_answer_ms
        )
    }
}

/// Mean time from arrival to answer of the requests the simulator logged, in ms.
fn mean_answer_ms(sim: &Simulator) -> f64 {
    let log = sim.requests();
    let total: f64 = log
        .iter()
        .map(|r| (r.answered - r.received).as_secs_f64())
        .sum();
    1000.0 * total / log.len().max(1) as f64
}

/// Component sync, `runs` times; each a full sync (`full`: kept state cleared first) or a
/// re-sync from the state the previous run kept.
async fn component_sync(
    host: &Host,
    sim: &SimThread,
    t: &Tenant,
    runs: usize,
    full: bool,
) -> anyhow::Result<Measured> {
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    let (mut requests, mut accounts, mut sim_answer_ms) = (0, 0, 0.0);
    let mut answer_ms = Vec::new();
    for _ in 0..runs {
        if full {
            host.clear_state(t).await?;
        }
        sim.clear_requests();
        let cpu0 = sim.cpu_s();
        let started = Instant::now();
        accounts = host.list_all(t, |_| {}).await?.len();
        let wall = started.elapsed().as_secs_f64();
        times.push(wall);
        if std::env::var_os("BENCH_TRACE").is_some() {
            let reqs = sim.requests();
            let first = reqs.iter().map(|r| r.received).min();
            let last = reqs.iter().map(|r| r.answered).max();
            if let (Some(first), Some(last)) = (first, last) {
                eprintln!(
                    "first request at {:.3} s, last answer at {:.3} s, call done at {wall:.3} s; in flight every 50 ms: {}",
                    (first - started).as_secs_f64(),
                    (last - started).as_secs_f64(),
                    in_flight_trace(&reqs, started, wall)
                );
            }
        }
        cpu.push(sim.cpu_s() - cpu0);
        requests = sim.requests().len();
        sim_answer_ms = mean_answer_ms(sim);
        answer_ms.push(sim_answer_ms);
    }
    Ok(Measured {
        times,
        requests,
        accounts,
        sim_cpu: stats(cpu).0,
        sim_answer_ms,
        answer_ms,
    })
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

/// CPU time of the whole process (every thread), in seconds.
fn process_cpu_s() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .sum::<f64>()
        / 1e9
}

/// Subprocess mode: sync `n` tenants of `size` subaccounts, `concurrency` at a time, and
/// print peak RSS in KiB.
async fn rss_mode(n: usize, size: usize, concurrency: usize) -> anyhow::Result<()> {
    let sim = Simulator::start(Fixture::generate(size, 21), "127.0.0.1:0").await?;
    let cache = root().join("target/bench-cache");
    let host = Arc::new(load(&sim, &cache).await?);
    let before = vm_hwm_kib();
    let tenants: Vec<Tenant> = (0..n)
        .map(|i| Tenant {
            name: format!("t{i}"),
            ..tenant(&sim, "twilio")
        })
        .collect();
    let results = host.sync_tenants(tenants, concurrency).await;
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
    if args.get(1).map(String::as_str) == Some("--rss") {
        let arg = |i: usize| args.get(i).and_then(|n| n.parse().ok()).unwrap_or(1);
        return rss_mode(arg(2), arg(3), arg(4)).await;
    }
    let accounts = env_usize("BENCH_ACCOUNTS", 2000);
    let workers = env_usize("BENCH_WORKERS", 2000);
    let runs = env_usize("BENCH_RUNS", 3);
    let sdk_slow_accounts = env_usize("BENCH_SDK_SLOW_ACCOUNTS", 200);
    let floor_accounts = env_usize("BENCH_FLOOR_ACCOUNTS", 500);
    // `BENCH_ONLY=floor,flex,…` runs only those sections (floor, flex, native, sdk, host, rss).
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let run = |section: &str| only.is_empty() || only.split(',').any(|s| s.trim() == section);
    let big_tenant = env_usize("BENCH_BIG_TENANT", 10_000);
    let cache = root().join("target/bench-cache");
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    let fixture = Fixture::generate(accounts, 42).with_generated_workers(workers);
    let sim = SimThread::start(fixture)?;
    let host = load(&sim, &cache).await?;
    let flex = tenant(&sim, "flex");
    let twilio = tenant(&sim, "twilio");
    let concurrency = 16.0;

    // Realistic volumes: every active subaccount carries two years of Monthly usage, a dozen
    // categories a month (zeros listed), as Twilio answers an active account.
    let realistic =
        |n: usize, seed: u64| Fixture::generate_with_history(n, seed, History::TWO_YEARS);

    // CPU per answer byte: a full sync at 0 ms, the answer bytes the simulator served over the
    // CPU the connector's side of the process used (the process's minus the simulator thread's).
    if run("bytes") {
        let bytes_accounts = env_usize("BENCH_BYTES_ACCOUNTS", 300);
        let sim = SimThread::start(realistic(bytes_accounts, 45))?;
        let host = load(&sim, &cache).await?;
        let t = tenant(&sim, "twilio");
        host.list_all(&t, |_| {}).await?; // warm: compiled, connections, allocator
        let mut rates = Vec::new();
        let (mut mb, mut records) = (0.0, 0usize);
        for _ in 0..runs {
            host.clear_state(&t).await?;
            sim.clear_requests();
            let (cpu0, sim0) = (process_cpu_s(), sim.cpu_s());
            host.list_all(&t, |_| {}).await?;
            let connector_cpu = (process_cpu_s() - cpu0) - (sim.cpu_s() - sim0);
            mb = sim.bytes_served() as f64 / 1e6;
            records = sim.requests().len();
            rates.push(mb / connector_cpu);
        }
        let shape = sim.with_fixture(|f| {
            let active: Vec<usize> = f
                .usage_history
                .values()
                .map(Vec::len)
                .filter(|n| *n > 100)
                .collect();
            format!(
                "{} subaccounts, {} with a two-year history of {} records on average",
                f.accounts.len() - 1,
                active.len(),
                active.iter().sum::<usize>() / active.len().max(1)
            )
        });
        let r = stats(rates);
        rows.push((
            format!("CPU per answer byte, full sync at 0 ms ({shape})"),
            format!(
                "**{:.0} MB of answers per connector CPU second** ({:.0}–{:.0}); {mb:.1} MB in {records} answers per sync",
                r.0, r.1, r.2
            ),
        ));
    }

    // The pipelined executor against the latency floor (requests × RTT / in-flight limit), at
    // the in-flight limit of the issue that measured it (16), on realistic volumes.
    let hist = SimThread::start(realistic(floor_accounts, 44))?;
    let hist_host = load(&hist, &cache).await?;
    let hist_tenant = tenant(&hist, "twilio").with_option("concurrency", "16");
    // `BENCH_FLOOR_LATENCIES=0,40` measures other round trips (ms).
    let latencies: Vec<u64> = std::env::var("BENCH_FLOOR_LATENCIES")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![40, 100]);
    for latency_ms in latencies {
        if !run("floor") {
            break;
        }
        let (sim, host, t) = (&hist, &hist_host, hist_tenant.clone());
        sim.faults().latency = Duration::from_millis(latency_ms);
        eprintln!("full sync of the subaccounts at {latency_ms} ms …");
        let m = component_sync(host, sim, &t, runs, true).await?;
        let s = stats(m.times.clone());
        let floor = m.requests as f64 * latency_ms as f64 / 1000.0 / concurrency;
        rows.push((
            format!(
                "full sync, {} subaccounts with two-year usage, {latency_ms} ms RTT, 16 in flight",
                m.accounts
            ),
            format!(
                "{}; {} requests ({:.2} per account); **{:.2}× the floor** ({floor:.2} s), {:.2}× it at the simulator's mean answer; {}",
                fmt_s(s),
                m.requests,
                m.requests as f64 / m.accounts as f64,
                s.0 / floor,
                m.vs_answered_floor(concurrency),
                m.sim_note()
            ),
        ));
        // A re-sync one day later, from the state the full sync kept.
        eprintln!("re-sync of the subaccounts at {latency_ms} ms …");
        host.clear_state(&t).await?;
        host.list_all(&t, |_| {}).await?;
        let r = component_sync(host, sim, &t, runs, false).await?;
        let rs = stats(r.times.clone());
        let rfloor = r.requests as f64 * latency_ms as f64 / 1000.0 / concurrency;
        rows.push((
            format!(
                "re-sync from kept state, {} subaccounts, {latency_ms} ms RTT, 16 in flight",
                r.accounts
            ),
            format!(
                "{}; {} requests ({:.3} per account, full: {:.2}); **{:.2}× the floor** ({rfloor:.2} s), {:.2}× it at the simulator's mean answer; {}",
                fmt_s(rs),
                r.requests,
                r.requests as f64 / r.accounts as f64,
                m.requests as f64 / m.accounts as f64,
                rs.0 / rfloor,
                r.vs_answered_floor(concurrency),
                r.sim_note()
            ),
        ));
    }
    drop((hist_host, hist));

    // Adaptive concurrency against an upstream that allows `limit` requests in process per
    // account (429/20429 above it, `Twilio-Concurrent-Requests` on every answer): the floor
    // at that limit (the requests the sync needed × RTT / limit) and the share throttled.
    if run("ceiling") {
        let n = env_usize("BENCH_CEILING_ACCOUNTS", 1000);
        // The same realistic volumes as the floor: two years of Monthly usage per active
        // subaccount, so each answer costs the connector what Twilio's would.
        // The simulator writes each usage page once and answers it again from the same text
        // (`reuse_usage_answers`), after one unmeasured sync: at 200 in flight its rendering
        // of two-year histories would otherwise take a core of this 2-core machine from the
        // connector being measured.
        let mut fixture = realistic(n, 46);
        fixture.behaviour.reuse_usage_answers = true;
        let sim = SimThread::start(fixture)?;
        // A fresh host per limit: a host's gate keeps what it learned of an account, and each
        // limit here stands for another upstream. `memory`: where the host keeps each
        // account's learned limit between processes (a CLI's `--state-dir`), if anywhere.
        let fresh = |memory: Option<std::path::PathBuf>| async {
            let opts = HostOptions {
                gate_memory: memory.map(|dir| {
                    Arc::new(connector_host::gate_memory::GateMemoryDir::new(dir))
                        as Arc<dyn connector_host::gate_memory::GateMemory>
                }),
                connect_to: Some(sim.addr().into()),
                cache_dir: Some(cache.clone()),
                vendor_policy: Arc::new(
                    twilio_policy::policy().expect("the Twilio vendor policy builds"),
                ),
                limits: connector_host::Limits {
                    max_in_flight: 256,
                    ..connector_host::Limits::default()
                },
                ..HostOptions::default()
            };
            Host::load(&plugin(), opts).await
        };
        let t = tenant(&sim, "twilio");
        fresh(None).await?.list_all(&t, |_| {}).await?;
        sim.faults().latency = Duration::from_millis(100);
        let mut expected = None;
        // `BENCH_CEILING_LIMITS=200` measures only some limits.
        let limits: Vec<usize> = std::env::var("BENCH_CEILING_LIMITS")
            .ok()
            .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
            .unwrap_or_else(|| vec![50, 100, 200, 8]);
        for limit in limits {
            sim.faults().concurrency_limit = Some(limit);
            let memory = root().join(format!("target/bench-limits/{limit}"));
            // The first sync of a process finds the account's limit; a second one (a worker's
            // or a server's next job) starts from what the host's gate learned; a new process
            // keeping state where the first did (a CLI's next run) starts from what the first
            // remembered. At 8 a sync takes 24 s: one first sync is enough to show there is
            // no storm.
            let passes: &[(&str, bool)] = if limit == 8 {
                &[("first sync", false)]
            } else {
                &[
                    ("first sync", false),
                    ("next sync, same process", false),
                    (
                        "first sync of a new process that remembers the account",
                        true,
                    ),
                ]
            };
            // `BENCH_RUNS` rounds of those passes, each from a fresh host with no memory of
            // the account: one sync on a shared machine varies by a third from one minute to
            // the next, so each row is the median round with the range beside it.
            let rounds = if limit == 8 { 1 } else { runs.max(1) };
            let mut measured: Vec<Vec<CeilingSync>> = vec![Vec::new(); passes.len()];
            for _ in 0..rounds {
                let _ = std::fs::remove_dir_all(&memory);
                let mut host = fresh(Some(memory.clone())).await?;
                for (i, &(pass, new_process)) in passes.iter().enumerate() {
                    if new_process {
                        drop(host);
                        if std::env::var_os("BENCH_TRACE").is_some() {
                            let remembered =
                                connector_host::gate_memory::GateMemoryDir::new(memory.clone())
                                    .remembered_for_account(t.credentials.account_sid());
                            eprintln!("the memory holds: {remembered:?}");
                        }
                        host = fresh(Some(memory.clone())).await?;
                    }
                    // A full sync each time: what the first kept for a re-sync is dropped.
                    host.clear_state(&t).await?;
                    sim.clear_requests();
                    eprintln!("{pass} of {n} subaccounts at 100 ms, upstream limit {limit} …");
                    let (cpu0, process0) = (sim.cpu_s(), process_cpu_s());
                    let started = Instant::now();
                    let mut accounts = host.list_all(&t, |_| {}).await?;
                    let wall = started.elapsed().as_secs_f64();
                    let sim_cpu = sim.cpu_s() - cpu0;
                    let connector_cpu = process_cpu_s() - process0 - sim_cpu;
                    let stats_now = sim.concurrency_stats();
                    // `BENCH_TRACE=1`: the simulator's count of requests in flight every 50 ms
                    // of the sync, on stderr (where a sync loses time: its start, bursts, its
                    // tail).
                    if std::env::var_os("BENCH_TRACE").is_some() {
                        eprintln!(
                            "in flight every 50 ms: {}",
                            in_flight_trace(&sim.requests(), started, wall)
                        );
                    }
                    let sent = sim.requests().len() as u64;
                    accounts.sort_by(|a, b| a.id.cmp(&b.id));
                    let listed = format!("{accounts:?}");
                    let same = match &expected {
                        None => {
                            expected = Some(listed);
                            Listed::Reference
                        }
                        Some(e) if *e == listed => Listed::Alike,
                        Some(_) => Listed::Different,
                    };
                    measured[i].push(CeilingSync {
                        wall,
                        sent,
                        throttled: stats_now.throttled,
                        peak: stats_now.peak_in_flight,
                        same,
                        connector_cpu,
                        sim_cpu,
                    });
                }
            }
            for (&(pass, _), syncs) in passes.iter().zip(&measured) {
                rows.push((
                    format!(
                        "{pass}, {n} subaccounts, 100 ms RTT, upstream allows {limit} in flight"
                    ),
                    ceiling_row(syncs, n, limit),
                ));
            }
        }
        sim.faults().concurrency_limit = None;
    }

    // Flex: every worker's attributes need a fetch (lists hide them). The dependency chain:
    // the workspace list, then each workspace's worker pages one after another (a page per
    // call), each page's fetches as many at a time as the host lets a call have in flight.
    sim.faults().latency = Duration::from_millis(100);
    if run("flex") {
        eprintln!("Flex sync of {workers} workers at 100 ms …");
        let m = component_sync(&host, &sim, &flex, runs, true).await?;
        let s = stats(m.times.clone());
        let pages = sim.with_fixture(|f| {
            f.workers
                .values()
                .map(|w| w.len().div_ceil(500).max(1))
                .sum::<usize>()
        });
        let fetches = m.requests.saturating_sub(pages + 1);
        let cap = host.limits().max_in_flight as f64;
        let chain = 0.1 * (1 + pages) as f64 + 0.1 * (fetches as f64 / cap).ceil();
        rows.push((
        format!("Flex sync, {} workers with one fetch each, 100 ms RTT", m.accounts),
        format!(
            "{}; {} requests; **{:.2}× the floor of its dependency chain** ({chain:.2} s: {} sequential list reads + {fetches} fetches / {cap}); {}",
            fmt_s(s),
            m.requests,
            s.0 / chain,
            1 + pages,
            m.sim_note()
        ),
    ));
    }

    // The sandbox's cost: the same logic compiled natively, no latency.
    sim.faults().latency = Duration::ZERO;
    let mut zero_ms_subaccounts = f64::NAN;
    for (label, t, app) in [
        ("subaccounts", &twilio, "twilio"),
        ("Flex workers", &flex, "flex"),
    ] {
        if !run("native") {
            break;
        }
        eprintln!("component and native sync of the {label} at 0 ms …");
        let m = component_sync(&host, &sim, t, runs, true).await?;
        let s = stats(m.times.clone());
        let native = stats(native_sync(&sim, app, &[], runs)?);
        if app == "twilio" {
            zero_ms_subaccounts = s.0;
        }
        rows.push((
            format!(
                "sync {} {label}, 0 ms: component vs native build",
                m.accounts
            ),
            format!(
                "{} vs {}: component/native = {:.2}×; {}",
                fmt_s(s),
                fmt_s(native),
                s.0 / native.0,
                m.sim_note()
            ),
        ));
    }

    // Twilio's Python helper library, the way a user would write the job (sequential).
    sim.faults().latency = Duration::ZERO;
    let pip = std::process::Command::new("python3")
        .args(["-c", "import twilio"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !run("sdk") {
    } else if !pip {
        notes.push(
            "Twilio's Python library is not installed; `make bench` installs it with pip".into(),
        );
    } else {
        eprintln!("Python SDK at 0 ms …");
        sim.clear_requests();
        match sdk_sync(&sim) {
            Ok((secs, req, got)) => {
                let ours_s = zero_ms_subaccounts;
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
        let small = SimThread::start(Fixture::generate(sdk_slow_accounts, 43))?;
        small.faults().latency = Duration::from_millis(100);
        let small_host = load(&small, &cache).await?;
        eprintln!("component and Python SDK on {sdk_slow_accounts} subaccounts at 100 ms …");
        let m = component_sync(&small_host, &small, &tenant(&small, "twilio"), 1, true).await?;
        let (times, requests, got) = (m.times, m.requests, m.accounts);
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

    if run("host") {
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
    }
    for (label, n, size, concurrency) in [
        ("100 tenants of 121 subaccounts, 16 at a time", 100, 120, 16),
        ("one tenant of 10,000 subaccounts", 1, big_tenant, 1),
    ] {
        if !run("rss") {
            break;
        }
        eprintln!("peak RSS: {label} …");
        let exe = std::env::current_exe()?;
        let out = std::process::Command::new(exe)
            .args([
                "--rss",
                &n.to_string(),
                &size.to_string(),
                &concurrency.to_string(),
            ])
            .output()?;
        let f: Vec<u64> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if f.len() == 4 {
            rows.push((
                format!("peak RSS, {label}"),
                format!(
                    "**{:.0} MiB** ({} of {n} synced; {:.0} MiB before the syncs; largest guest memory {:.1} MiB)",
                    f[0] as f64 / 1024.0,
                    f[2],
                    f[1] as f64 / 1024.0,
                    f[3] as f64 / 1048576.0
                ),
            ));
        } else {
            notes.push(format!(
                "peak RSS run ({label}) failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    rows.push((
        "component size".into(),
        format!(
            "{:.0} KiB",
            std::fs::metadata(plugin())?.len() as f64 / 1024.0
        ),
    ));

    let mut table = String::from("| measure | result (median, min–max) |\n|---|---|\n");
    for (k, v) in &rows {
        table.push_str(&format!("| {k} | {v} |\n"));
    }
    for n in &notes {
        table.push_str(&format!("\n- {n}"));
    }
    let section = format!(
        "\n## {}\n\nCommand: `make bench` (BENCH_ACCOUNTS={accounts}, BENCH_WORKERS={workers}, BENCH_RUNS={runs}, BENCH_FLOOR_ACCOUNTS={floor_accounts}, BENCH_BIG_TENANT={big_tenant}); machine: {}. The simulator runs on a thread of its own; its CPU time is shown beside each sync.\n\n{table}\n",
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

/// Requests the simulator held in flight at each 50 ms of a sync started at `started`.
fn in_flight_trace(
    requests: &[twilio_sim::RecordedRequest],
    started: Instant,
    wall: f64,
) -> String {
    (0..(wall / 0.05).ceil() as usize)
        .map(|i| {
            let at = started + Duration::from_secs_f64(i as f64 * 0.05);
            requests
                .iter()
                .filter(|r| r.received <= at && at < r.answered)
                .count()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sync(wall: f64, throttled: u64, same: Listed) -> CeilingSync {
        CeilingSync {
            wall,
            sent: 2408 + throttled,
            throttled,
            peak: 200,
            same,
            connector_cpu: wall / 2.0,
            sim_cpu: 0.3,
        }
    }

    #[test]
    fn a_ceiling_row_is_the_median_round_with_its_range() {
        // 2408 requests at 200 in flight, 100 ms: a floor of 1.204 s.
        let row = ceiling_row(
            &[
                sync(2.4, 30, Listed::Reference),
                sync(1.8, 10, Listed::Alike),
                sync(1.5, 60, Listed::Alike),
            ],
            1000,
            200,
        );
        assert!(
            row.starts_with("median of 3 rounds; 1.80 s (1.50–2.40);"),
            "{row}"
        );
        assert!(
            row.contains("2408 requests + 30 (10–60) throttled"),
            "{row}"
        );
        assert!(
            row.contains("**1.50× (1.25–1.99) the floor at 200** (1.20 s)"),
            "{row}"
        );
        assert!(
            row.contains("reference, the others the same accounts"),
            "{row}"
        );
        assert!(row.contains("connector CPU 0.90 s"), "{row}");
    }

    #[test]
    fn one_round_has_no_range_and_a_different_listing_is_flagged() {
        let one = ceiling_row(&[sync(1.5, 0, Listed::Alike)], 1000, 200);
        assert!(
            one.starts_with("1.50 s; 2408 requests + 0 throttled (**0.0 %**)"),
            "{one}"
        );
        assert!(one.contains("; same accounts;"), "{one}");
        let odd = ceiling_row(
            &[sync(1.5, 0, Listed::Alike), sync(1.6, 0, Listed::Different)],
            1000,
            200,
        );
        assert!(odd.contains("**different accounts**"), "{odd}");
    }
}
