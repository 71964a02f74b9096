//! Audit trail: JSON lines for every outbound request and every action, in the connector's own
//! shape or as OCSF events (see `ocsf.rs`). Never a secret: only method, host, path (no query),
//! status, timing and sizes are recorded for requests.

use crate::sync::lock;
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// One outbound request.
#[derive(Debug, Clone, Serialize)]
pub struct RequestEvent {
    pub tenant: String,
    pub method: String,
    pub host: String,
    pub path: String,
    pub status: Option<u16>,
    pub duration_ms: f64,
    pub bytes: usize,
    pub error: Option<String>,
}

/// One action on an account.
#[derive(Debug, Clone, Serialize)]
pub struct ActionEvent {
    pub tenant: String,
    pub app: String,
    pub account: String,
    pub action: String,
    pub dry_run: bool,
    /// Whether the action (or its dry-run) succeeded.
    pub ok: bool,
    pub result: String,
    pub warnings: Vec<String>,
}

/// The shape of audit lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuditFormat {
    /// `{"ts", "event": "request"|"action", ...fields}`.
    #[default]
    Connector,
    /// OCSF events a SIEM ingests as they are.
    Ocsf,
}

/// An append-only JSON-lines audit file, shared by every call.
#[derive(Clone)]
pub struct AuditLog {
    file: Arc<Mutex<std::fs::File>>,
    format: AuditFormat,
}

impl AuditLog {
    /// Open (append) or create an audit file in the connector's own format.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        Self::open_with(path, AuditFormat::Connector)
    }

    /// Open (append) or create an audit file whose lines have `format`.
    pub fn open_with(path: &Path, format: AuditFormat) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self {
            file: Arc::new(Mutex::new(file)),
            format,
        })
    }

    fn write(&self, kind: &str, value: impl Serialize) {
        let mut line = serde_json::json!({
            "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "event": kind,
        });
        if let (Some(obj), Ok(serde_json::Value::Object(extra))) =
            (line.as_object_mut(), serde_json::to_value(value))
        {
            obj.extend(extra);
        }
        self.write_line(&line);
    }

    fn write_line(&self, line: &serde_json::Value) {
        let mut f = lock(&self.file);
        // An audit write failure must be visible, not silently dropped.
        if let Err(e) = writeln!(f, "{line}") {
            tracing::error!("audit log write failed: {e}");
        }
    }

    /// Record an outbound request.
    pub fn request(&self, e: &RequestEvent) {
        match self.format {
            AuditFormat::Connector => self.write("request", e),
            AuditFormat::Ocsf => self.write_line(&crate::ocsf::http_activity(e, now_ms())),
        }
    }

    /// Record an action.
    pub fn action(&self, e: &ActionEvent) {
        match self.format {
            AuditFormat::Connector => self.write("action", e),
            AuditFormat::Ocsf => self.write_line(&crate::ocsf::account_change(e, now_ms())),
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
