//! Audit trail: JSON lines for every outbound request and every action. Never a secret: only
//! method, host, path (no query), status, timing and sizes are recorded for requests.

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
    pub result: String,
    pub warnings: Vec<String>,
}

/// An append-only JSON-lines audit file, shared by every call.
#[derive(Clone)]
pub struct AuditLog {
    file: Arc<Mutex<std::fs::File>>,
}

impl AuditLog {
    /// Open (append) or create an audit file.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self {
            file: Arc::new(Mutex::new(file)),
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
        let mut f = lock(&self.file);
        // An audit write failure must be visible, not silently dropped.
        if let Err(e) = writeln!(f, "{line}") {
            tracing::error!("audit log write failed: {e}");
        }
    }

    /// Record an outbound request.
    pub fn request(&self, e: &RequestEvent) {
        self.write("request", e);
    }

    /// Record an action.
    pub fn action(&self, e: &ActionEvent) {
        self.write("action", e);
    }
}
