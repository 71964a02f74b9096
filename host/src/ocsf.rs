//! Audit events as OCSF 1.4 (Open Cybersecurity Schema Framework): an action is an Account
//! Change (class 3001, category 3 Identity & Access Management), an outbound request an HTTP
//! Activity (class 4002, category 4 Network Activity). `type_uid` is `class_uid * 100 +
//! activity_id`, as the schema defines it. What OCSF has no attribute for goes in `unmapped`.

use crate::audit_events::{ActionEvent, RequestEvent, ServedEvent};
use serde_json::{Value, json};

/// The OCSF schema version these events follow.
pub const OCSF_VERSION: &str = "1.4.0";
/// Account Change.
pub const ACCOUNT_CHANGE: u32 = 3001;
/// HTTP Activity.
pub const HTTP_ACTIVITY: u32 = 4002;

/// `(connector action, OCSF Account Change activity_id, activity_name)`.
const ACCOUNT_ACTIVITIES: &[(&str, u32, &str)] = &[
    ("provision", 1, "Create"),
    ("reactivate", 2, "Enable"),
    ("suspend", 5, "Disable"),
    ("deprovision", 6, "Delete"),
    ("grant", 7, "Attach Policy"),
    ("revoke", 8, "Detach Policy"),
];

/// `(HTTP method, OCSF HTTP Activity activity_id)`.
const HTTP_ACTIVITIES: &[(&str, u32)] = &[
    ("CONNECT", 1),
    ("DELETE", 2),
    ("GET", 3),
    ("HEAD", 4),
    ("OPTIONS", 5),
    ("POST", 6),
    ("PUT", 7),
    ("TRACE", 8),
    ("PATCH", 9),
];

fn metadata(tenant: &str) -> Value {
    let mut m = json!({
        "version": OCSF_VERSION,
        "product": {
            "name": "governance-connector host",
            "vendor_name": "governance-connector",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "log_name": "connector-audit",
    });
    if !tenant.is_empty() {
        m["tenant_uid"] = json!(tenant);
    }
    m
}

/// An action as an Account Change event. A dry-run changed nothing: its status is Other
/// (99) with the detail "dry run".
pub fn account_change(e: &ActionEvent, time_ms: i64) -> Value {
    let (activity_id, activity_name) = ACCOUNT_ACTIVITIES
        .iter()
        .find(|(a, _, _)| *a == e.action)
        .map(|(_, id, name)| (*id, *name))
        .unwrap_or((99, "Other"));
    let (status_id, status) = match (e.ok, e.dry_run) {
        (false, _) => (2, "Failure"),
        (true, true) => (99, "Other"),
        (true, false) => (1, "Success"),
    };
    let mut v = json!({
        "class_uid": ACCOUNT_CHANGE,
        "class_name": "Account Change",
        "category_uid": 3,
        "category_name": "Identity & Access Management",
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": ACCOUNT_CHANGE * 100 + activity_id,
        "severity_id": if e.ok { 1 } else { 3 },
        "time": time_ms,
        "status_id": status_id,
        "status": status,
        "message": e.result,
        "metadata": metadata(&e.tenant),
        "user": {"uid": e.account, "type_id": 0},
        "unmapped": {
            "app": e.app,
            "action": e.action,
            "entitlement": e.entitlement,
            "dry_run": e.dry_run,
            "warnings": e.warnings,
        },
    });
    if e.dry_run {
        v["status_detail"] = json!("dry run: nothing was changed");
    }
    v
}

/// An outbound request as an HTTP Activity event.
pub fn http_activity(e: &RequestEvent, time_ms: i64) -> Value {
    let activity_id = HTTP_ACTIVITIES
        .iter()
        .find(|(m, _)| m.eq_ignore_ascii_case(&e.method))
        .map(|(_, id)| *id)
        .unwrap_or(99);
    let ok = e.error.is_none() && e.status.is_some_and(|s| s < 400);
    let mut v = json!({
        "class_uid": HTTP_ACTIVITY,
        "class_name": "HTTP Activity",
        "category_uid": 4,
        "category_name": "Network Activity",
        "activity_id": activity_id,
        "type_uid": HTTP_ACTIVITY * 100 + activity_id,
        "severity_id": 1,
        "time": time_ms,
        "duration": e.duration_ms.round() as i64,
        "status_id": if ok { 1 } else { 2 },
        "status": if ok { "Success" } else { "Failure" },
        "metadata": metadata(&e.tenant),
        "http_request": {
            "http_method": e.method,
            "url": {"scheme": "https", "hostname": e.host, "path": e.path, "port": 443},
        },
        "dst_endpoint": {"hostname": e.host, "port": 443},
        "traffic": {"bytes_in": e.bytes},
    });
    if let Some(code) = e.status {
        v["http_response"] = json!({"code": code});
    }
    if let Some(err) = &e.error {
        v["status_detail"] = json!(err);
    }
    v
}

/// A request served to a front's client as an HTTP Activity event whose actor is the client.
pub fn served_activity(e: &ServedEvent, time_ms: i64) -> Value {
    let activity_id = HTTP_ACTIVITIES
        .iter()
        .find(|(m, _)| m.eq_ignore_ascii_case(&e.method))
        .map(|(_, id)| *id)
        .unwrap_or(99);
    let ok = e.status < 400;
    json!({
        "class_uid": HTTP_ACTIVITY,
        "class_name": "HTTP Activity",
        "category_uid": 4,
        "category_name": "Network Activity",
        "activity_id": activity_id,
        "type_uid": HTTP_ACTIVITY * 100 + activity_id,
        "severity_id": 1,
        "time": time_ms,
        "duration": e.duration_ms.round() as i64,
        "status_id": if ok { 1 } else { 2 },
        "status": if ok { "Success" } else { "Failure" },
        "metadata": metadata(&e.tenant),
        "actor": {"user": {"name": e.client, "type_id": 99, "type": "Service client"}},
        "http_request": {"http_method": e.method, "url": {"path": e.path}},
        "http_response": {"code": e.status},
        "unmapped": {"app": e.app, "action": e.action, "account": e.account, "direction": "inbound"},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(name: &str, ok: bool, dry_run: bool) -> ActionEvent {
        ActionEvent {
            tenant: "acme".into(),
            app: "twilio".into(),
            account: "AC1".into(),
            action: name.into(),
            dry_run,
            ok,
            result: "done".into(),
            warnings: vec![],
            entitlement: None,
        }
    }

    #[test]
    fn actions_map_to_account_change_activities() {
        for (name, id) in [
            ("reactivate", 2),
            ("suspend", 5),
            ("deprovision", 6),
            ("provision", 1),
            ("grant", 7),
            ("revoke", 8),
        ] {
            let v = account_change(&action(name, true, false), 0);
            assert_eq!(v["class_uid"], 3001);
            assert_eq!(v["activity_id"], id, "{name}");
            assert_eq!(v["type_uid"], 300100 + id, "{name}");
            assert_eq!(v["status_id"], 1);
        }
        assert_eq!(
            account_change(&action("suspend", false, false), 0)["status_id"],
            2
        );
        assert_eq!(
            account_change(&action("suspend", true, true), 0)["status_id"],
            99
        );
    }

    #[test]
    fn requests_map_to_http_activity() {
        let e = RequestEvent {
            tenant: String::new(),
            method: "POST".into(),
            host: "api.example.com".into(),
            path: "/x".into(),
            status: Some(200),
            duration_ms: 12.4,
            bytes: 10,
            error: None,
        };
        let v = http_activity(&e, 5);
        assert_eq!(v["class_uid"], 4002);
        assert_eq!(v["activity_id"], 6);
        assert_eq!(v["type_uid"], 400206);
        assert_eq!(v["http_response"]["code"], 200);
        assert!(v["metadata"].get("tenant_uid").is_none());
    }
}
