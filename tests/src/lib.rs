//! Shared helpers for the end-to-end tests: build (once) and locate the real artifacts, start
//! the simulator on loopback, and load the component in the real host pointed at it.

pub mod oai;

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

fn cargo(args: &[&str]) {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(root())
        // Flags meant for the test build must not leak into the wasm build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("run cargo");
    assert!(status.success(), "cargo {args:?} failed");
}

fn component(package: &str, file: &str) -> PathBuf {
    cargo(&[
        "build",
        "-q",
        "-p",
        package,
        "--target",
        "wasm32-wasip2",
        "--profile",
        "component",
    ]);
    target_dir().join("wasm32-wasip2/component").join(file)
}

/// The connector component, built once per test binary.
pub fn connector_wasm() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| component("twilio-connector", "twilio_connector.wasm"))
}

/// The hostile test component, built once per test binary.
pub fn hostile_wasm() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| component("hostile-plugin", "hostile_plugin.wasm"))
}

/// The `connector` CLI (debug build), built once per test binary.
pub fn connector_bin() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        cargo(&["build", "-q", "-p", "connector-host", "--bin", "connector"]);
        connector_wasm();
        target_dir().join("debug/connector")
    })
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
        connect_to: Some(sim.addr()),
        cache_dir: Some(cache_dir()),
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

/// Every string that must never appear in output: each account's auth token.
pub fn secrets(sim: &Simulator) -> Vec<String> {
    sim.with_fixture(|f| {
        f.accounts
            .iter()
            .filter_map(|a| a["auth_token"].as_str().map(str::to_string))
            .collect()
    })
}
