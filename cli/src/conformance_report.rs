//! `connector conformance`: runs the conformance suite on a plugin and prints its report.

use crate::args::Global;
use crate::setup::{check_approved, plugin_path};
use std::process::ExitCode;

/// `connector conformance`: every check, PASS or FAIL, and an exit code that follows.
pub async fn run(g: &Global) -> anyhow::Result<ExitCode> {
    let path = plugin_path(g)?;
    // The conformance crate loads the plugin itself: hold it to the approved build first.
    check_approved(g, &path)?;
    let report = connector_conformance::run(&path, g.cache_dir.clone()).await?;
    for c in &report.checks {
        if g.json {
            println!(
                "{}",
                serde_json::json!({"check": c.name, "passed": c.passed, "expected": c.expected, "seen": c.seen})
            );
        } else if c.passed {
            println!("PASS  {}", c.name);
        } else {
            println!(
                "FAIL  {}\n        expected: {}\n        seen:     {}",
                c.name, c.expected, c.seen
            );
        }
    }
    let failed = report.failures().len();
    println!(
        "conformance of {}: {} passed, {failed} failed",
        path.display(),
        report.checks.len() - failed
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
