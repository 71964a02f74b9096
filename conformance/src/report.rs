//! A conformance report: each check with what was expected and what was seen.

use connector_host::CallError;

/// One check's outcome.
#[derive(Debug, Clone)]
pub struct Check {
    /// What is checked, prefixed with the app.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// What a conforming plugin shows.
    pub expected: String,
    /// What this plugin showed.
    pub seen: String,
}

/// All checks of a run.
#[derive(Debug, Default)]
pub struct Report {
    /// Every check, in the order run.
    pub checks: Vec<Check>,
}

impl Report {
    /// Record one check.
    pub fn check(
        &mut self,
        name: impl Into<String>,
        passed: bool,
        expected: impl Into<String>,
        seen: impl Into<String>,
    ) {
        self.checks.push(Check {
            name: name.into(),
            passed,
            expected: expected.into(),
            seen: seen.into(),
        });
    }

    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The failed checks.
    pub fn failures(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| !c.passed).collect()
    }
}

/// A short form of a call's outcome for a check's "seen".
pub fn short<T: std::fmt::Debug>(r: &Result<T, CallError>) -> String {
    match r {
        Ok(v) => {
            let s = format!("{v:?}");
            if s.len() > 160 {
                format!(
                    "{}…",
                    &s[..s.char_indices().nth(160).map_or(s.len(), |(i, _)| i)]
                )
            } else {
                s
            }
        }
        Err(e) => format!("error: {e}"),
    }
}

/// The kind of a call's error, or `ok`.
pub fn kind_of<T>(r: &Result<T, CallError>) -> &'static str {
    r.as_ref().err().map(CallError::kind).unwrap_or("ok")
}
