//! Audit trail: JSON lines for every outbound request and every action, in the connector's own
//! shape or as OCSF events (see `ocsf.rs`). Never a secret: only method, host, path (no query),
//! status, timing and sizes are recorded for requests.

pub use crate::audit_events::{ActionEvent, RequestEvent, ServedEvent};
use crate::sync::lock;
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

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

    /// Record a request a front served to its client.
    pub fn served(&self, e: &ServedEvent) {
        match self.format {
            AuditFormat::Connector => self.write("served", e),
            AuditFormat::Ocsf => self.write_line(&crate::ocsf::served_activity(e, now_ms())),
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
