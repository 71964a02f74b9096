//! Shared helpers for the end-to-end tests: locate the real artifacts (the guests come from the
//! build script), start
//! the simulator on loopback, and load the component in the real host pointed at it.

pub mod oai;

use connector_host::types::{Account, EntitlementKind};
use connector_host::{Credentials, Host, HostOptions, Limits, Tenant};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use twilio_sim::{Fixture, Simulator};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// `target/`, honouring `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// The connector component, built by this crate's build script.
pub fn connector_wasm() -> &'static Path {
    Path::new(env!("CONNECTOR_WASM"))
}

/// The hostile test component, built by this crate's build script.
pub fn hostile_wasm() -> &'static Path {
    Path::new(env!("HOSTILE_WASM"))
}

/// The hostile component built with its `greedy` feature: besides the routes it needs, it
/// declares routes the vendor policy never grants, so the host must refuse to load it.
pub fn greedy_wasm() -> &'static Path {
    Path::new(env!("GREEDY_WASM"))
}

/// A plugin built against the frozen contract 0.1.0, built by this crate's build script.
pub fn legacy_wasm() -> &'static Path {
    Path::new(env!("LEGACY_WASM"))
}

/// A plugin built against the frozen contract 0.2.0.
pub fn legacy_v0_2_0_wasm() -> &'static Path {
    Path::new(env!("LEGACY_V0_2_0_WASM"))
}

/// A plugin built against the frozen contract 0.3.0 (whose world also imports
/// `wasi:keyvalue/store`, which this plugin never opens).
pub fn legacy_v0_3_0_wasm() -> &'static Path {
    Path::new(env!("LEGACY_V0_3_0_WASM"))
}

/// The `connector` CLI (debug build): `make test` builds it before the tests; otherwise it is
/// built once here.
pub fn connector_bin() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let bin = target_dir().join("debug/connector");
        if !bin.exists() {
            let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["build", "-q", "-p", "connector-cli", "--bin", "connector"])
                .current_dir(root())
                .status()
                .expect("run cargo");
            assert!(status.success(), "building the connector CLI failed");
        }
        bin
    })
}

/// The vendor policy the tests' hosts run with: the suffix the simulated hosts share.
pub fn trusted() -> Vec<String> {
    vec![twilio_sim::hosts::TRUSTED_SUFFIX.to_string()]
}

/// Twilio's vendor policy, as the CLI hands it to the host.
pub fn vendor_policy() -> std::sync::Arc<connector_host::VendorPolicy> {
    std::sync::Arc::new(twilio_policy::policy().expect("the Twilio vendor policy builds"))
}

/// A cache directory for precompiled components shared by the tests.
pub fn cache_dir() -> PathBuf {
    target_dir().join("test-cache")
}

/// Start a simulator on an ephemeral loopback port.
pub async fn sim(fixture: Fixture) -> Simulator {
    Simulator::start(fixture, "127.0.0.1:0")
        .await
        .expect("simulator starts")
}

/// Host options aimed at `sim`.
pub fn options(sim: &Simulator) -> HostOptions {
    HostOptions {
        connect_to: Some(sim.addr().into()),
        cache_dir: Some(cache_dir()),
        vendor_policy: vendor_policy(),
        ..HostOptions::default()
    }
}

/// Load `plugin` with `limits`, aimed at `sim`.
pub async fn host_with(sim: &Simulator, plugin: &Path, limits: Limits) -> Host {
    let opts = HostOptions {
        limits,
        ..options(sim)
    };
    Host::load(plugin, opts).await.expect("plugin loads")
}

/// The connector component in the host, aimed at `sim`.
pub async fn host(sim: &Simulator) -> Host {
    host_with(sim, connector_wasm(), Limits::default()).await
}

/// The simulator's main account as a tenant of `app`.
pub fn tenant(sim: &Simulator, app: &str) -> Tenant {
    let (sid, token) = sim.main_credentials();
    Tenant::new(
        "test",
        app,
        Credentials::AuthToken {
            account_sid: sid,
            auth_token: token,
        },
    )
}

/// The option key the Twilio front sets for the Flex instance (`--flex-instance`, a tenants
/// file's `flex_instance_sid`).
pub use twilio_policy::FLEX_INSTANCE;

/// The clock the Flex tests fix (an available worker's last activity is this instant).
pub const NOW: &str = "2025-11-23T12:00:00Z";
/// The demo fixture's Flex instance.
pub const FLEX_INSTANCE_SID: &str = "GO0000000000000000000000000000e001";

/// The connector component in the host, aimed at `sim`, with the clock fixed at [`NOW`].
pub async fn host_at_now(sim: &Simulator) -> Host {
    let opts = HostOptions {
        now: Some(NOW.parse().expect("RFC 3339")),
        ..options(sim)
    };
    Host::load(connector_wasm(), opts)
        .await
        .expect("plugin loads")
}

/// The main account as a `flex` tenant, with or without the demo Flex instance.
pub fn flex_tenant(sim: &Simulator, with_instance: bool) -> Tenant {
    let t = tenant(sim, "flex");
    if with_instance {
        t.with_option(FLEX_INSTANCE, FLEX_INSTANCE_SID)
    } else {
        t
    }
}

/// The account `id` of a listing (panics naming it when missing).
pub fn find<'a>(list: &'a [Account], id: &str) -> &'a Account {
    list.iter()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("{id} missing"))
}

/// An account's role names, in order.
pub fn roles(a: &Account) -> Vec<&str> {
    a.entitlements
        .iter()
        .filter(|e| e.kind == EntitlementKind::Role)
        .map(|e| e.name.as_str())
        .collect()
}

/// An account's services with their last activity.
pub fn services(a: &Account) -> Vec<(String, Option<String>)> {
    a.entitlements
        .iter()
        .filter(|e| e.kind == EntitlementKind::Service)
        .map(|e| (e.name.clone(), e.last_activity.clone()))
        .collect()
}

/// Every request the simulator saw that was not a read, as `METHOD path`.
pub fn writes(sim: &Simulator) -> Vec<String> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// A port on 127.0.0.1 where nothing listens (just now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind a loopback port")
        .local_addr()
        .expect("its address")
        .port()
}

/// Run the `connector` CLI with only PATH, the test cache and `env` in its environment.
pub fn run_clean(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(connector_bin());
    c.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CONNECTOR_CACHE_DIR", cache_dir());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run connector")
}

/// Run the `connector` CLI with only PATH, the test cache and the simulator's main account in
/// its environment (`token` replaces the auth token when given).
pub fn run_cli(sim: &Simulator, token: Option<&str>, args: &[&str]) -> std::process::Output {
    let (sid, real) = sim.main_credentials();
    let mut c = Command::new(connector_bin());
    c.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CONNECTOR_CACHE_DIR", cache_dir())
        .env("TWILIO_ACCOUNT_SID", sid)
        .env("TWILIO_AUTH_TOKEN", token.unwrap_or(&real));
    c.output().expect("run connector")
}

/// Bytes as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A fresh, empty directory under the target directory for one test (`name` and the process
/// id keep concurrent tests apart).
pub fn scratch_dir(name: &str) -> PathBuf {
    let d = target_dir().join(format!("test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Write `text` to `path`, readable by its owner only (as a tenants file's secret file must be).
pub fn owner_only_file(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// `plugin` in a host aimed at `sim` that audits every request and action to its own file
/// (in a fresh scratch directory `name`): the host and the audit file's path.
pub async fn audited_host(
    sim: &Simulator,
    plugin: &Path,
    name: &str,
) -> (Host, std::path::PathBuf) {
    let dir = scratch_dir(name);
    std::fs::create_dir_all(&dir).unwrap();
    let audit = dir.join("audit.jsonl");
    let host = Host::load(
        plugin,
        HostOptions {
            audit: Some(connector_host::audit::AuditLog::open(&audit).unwrap()),
            ..options(sim)
        },
    )
    .await
    .expect("the plugin loads");
    (host, audit)
}
