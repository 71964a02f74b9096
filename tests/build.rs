//! Builds the guests the end-to-end tests load, once per change of their sources rather than
//! once per test binary at run time (as wasmtime's test-programs artifacts do), and hands
//! their paths to the tests as `CONNECTOR_WASM`, `HOSTILE_WASM` and `LEGACY_WASM` (a plugin
//! of the frozen contract 0.1.0).
//!
//! The guests go to `target/wasm32-wasip2/component/`, the same files `make component`
//! builds; that directory has its own cargo lock, so this nested cargo never waits on the
//! outer one.

use std::path::{Path, PathBuf};
use std::process::Command;

/// (package, artifact file, environment variable, source folders).
const GUESTS: &[(&str, &str, &str, &[&str])] = &[
    (
        "twilio-connector",
        "twilio_connector.wasm",
        "CONNECTOR_WASM",
        &["plugin/src", "plugin/Cargo.toml"],
    ),
    (
        "hostile-plugin",
        "hostile_plugin.wasm",
        "HOSTILE_WASM",
        &[
            "tests/hostile-plugin/src",
            "tests/hostile-plugin/Cargo.toml",
        ],
    ),
    (
        "legacy-plugin",
        "legacy_plugin.wasm",
        "LEGACY_WASM",
        &["tests/legacy-plugin/src", "tests/legacy-plugin/Cargo.toml"],
    ),
];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest.parent().expect("workspace root").to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    for shared in ["wit", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(shared).display());
    }
    for (package, file, var, sources) in GUESTS {
        for s in *sources {
            println!("cargo:rerun-if-changed={}", root.join(s).display());
        }
        let artifact = target.join("wasm32-wasip2/component").join(file);
        build(&root, &target, package);
        assert!(artifact.exists(), "{} was not produced", artifact.display());
        // A deleted artifact builds again.
        println!("cargo:rerun-if-changed={}", artifact.display());
        println!("cargo:rustc-env={var}={}", artifact.display());
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
}

fn build(root: &Path, target: &Path, package: &str) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-q", "-p", package, "--target", "wasm32-wasip2"])
        .args(["--profile", "component", "--target-dir"])
        .arg(target)
        .current_dir(root)
        // What is meant for the outer build (flags, clippy's wrapper) must not reach the guests.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .expect("run cargo for the guests");
    assert!(
        status.success(),
        "building {package} for wasm32-wasip2 failed (is the target installed? `rustup target add wasm32-wasip2`)"
    );
}
