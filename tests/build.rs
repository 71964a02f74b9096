//! Builds the guests the end-to-end tests load, once per change of their sources rather than
//! once per test binary at run time (as wasmtime's test-programs artifacts do), and hands
//! their paths to the tests as `CONNECTOR_WASM`, `HOSTILE_WASM`, `GREEDY_WASM` (the hostile
//! component with its `greedy` feature: it declares routes the vendor policy never grants),
//! `LEGACY_WASM`, `LEGACY_V0_2_0_WASM` and `LEGACY_V0_3_0_WASM` (plugins of the frozen
//! contracts 0.1.0, 0.2.0 and 0.3.0).
//!
//! The guests go to `target/wasm32-wasip2/component/`, the same files `make component`
//! builds; that directory has its own cargo lock, so this nested cargo never waits on the
//! outer one.

use std::path::{Path, PathBuf};
use std::process::Command;

/// (package, features, artifact file, environment variable, source folders). Guests of the
/// same package build in this order, each copied under its own name (its default build last,
/// so the package's own file is the one `make` builds).
const GUESTS: &[(&str, &str, &str, &str, &[&str])] = &[
    (
        "twilio-connector",
        "",
        "twilio_connector.wasm",
        "CONNECTOR_WASM",
        &["plugin/src", "plugin/Cargo.toml"],
    ),
    (
        "hostile-plugin",
        "greedy",
        "hostile_plugin.wasm",
        "GREEDY_WASM",
        &[
            "tests/hostile-plugin/src",
            "tests/hostile-plugin/Cargo.toml",
        ],
    ),
    (
        "hostile-plugin",
        "",
        "hostile_plugin.wasm",
        "HOSTILE_WASM",
        &[
            "tests/hostile-plugin/src",
            "tests/hostile-plugin/Cargo.toml",
        ],
    ),
    (
        "legacy-plugin",
        "contract-0-3-0",
        "legacy_plugin.wasm",
        "LEGACY_V0_3_0_WASM",
        &["tests/legacy-plugin/src", "tests/legacy-plugin/Cargo.toml"],
    ),
    (
        "legacy-plugin",
        "contract-0-2-0",
        "legacy_plugin.wasm",
        "LEGACY_V0_2_0_WASM",
        &["tests/legacy-plugin/src", "tests/legacy-plugin/Cargo.toml"],
    ),
    (
        "legacy-plugin",
        "",
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
    for (package, features, file, var, sources) in GUESTS {
        for s in *sources {
            println!("cargo:rerun-if-changed={}", root.join(s).display());
        }
        let built = target.join("wasm32-wasip2/component").join(file);
        build(&root, &target, package, features);
        assert!(built.exists(), "{} was not produced", built.display());
        // Each variable names its own copy, so a later build of the package keeps it.
        let artifact = built.with_file_name(format!("{}.wasm", var.to_ascii_lowercase()));
        std::fs::copy(&built, &artifact).expect("copy the guest artifact");
        // A deleted artifact builds again.
        println!("cargo:rerun-if-changed={}", artifact.display());
        println!("cargo:rustc-env={var}={}", artifact.display());
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
}

fn build(root: &Path, target: &Path, package: &str, features: &str) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["build", "-q", "-p", package, "--target", "wasm32-wasip2"]);
    if !features.is_empty() {
        command.args(["--features", features]);
    }
    let status = command
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
