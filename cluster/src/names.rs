//! Every stream, consumer, bucket and subject the cluster uses, named once.

/// The work-queue stream of jobs.
pub const STREAM: &str = "CONNECTOR_JOBS";
/// Subjects of jobs: `connector.jobs.<app>`.
pub const SUBJECTS: &str = "connector.jobs.>";
/// The durable pull consumer every worker shares.
pub const CONSUMER: &str = "workers";
/// Sync checkpoints: `<job>` (head) and `<job>.<n>` (page n).
pub const CHECKPOINTS: &str = "connector-checkpoints";
/// Per-tenant leases: one worker at a time works for a tenant.
pub const LEASES: &str = "connector-leases";
/// Finished actions by idempotency key.
pub const DONE: &str = "connector-done";
/// Jobs that failed for good, with their error.
pub const FAILURES: &str = "connector-failures";
/// Worker heartbeats.
pub const WORKERS: &str = "connector-workers";
/// Snapshots' pages, each an object `<tenant>.<app>.<job>.<n>` (JSON lines).
pub const RESULTS: &str = "connector-results";
/// Each tenant's and app's latest complete snapshot: a pointer to its job's pages, switched
/// by compare-and-set when a sync's last page is in.
pub const SNAPSHOTS: &str = "connector-snapshots";
/// Each tenant's kept state (the plugin's `tenant` bucket), per tenant, account and app.
pub const STATE: &str = "connector-state";

/// The subject of a job for `app`.
pub fn job_subject(app: &str) -> String {
    format!("connector.jobs.{}", token(app))
}

/// Text as a key or subject token: letters, digits, `-` and `_` kept, every other byte `=XX`
/// (key-value keys and subjects allow only a few characters; tenant names may hold any).
pub fn token(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => out.push(b as char),
            _ => out.push_str(&format!("={b:02X}")),
        }
    }
    if out.is_empty() { "=".into() } else { out }
}

/// The key of a tenant's lease and snapshot: tenant and app.
pub fn tenant_key(tenant: &str, app: &str) -> String {
    format!("{}.{}", token(tenant), token(app))
}

/// The tenant and app a [`tenant_key`] names (`None` for a key it cannot have made).
pub fn from_tenant_key(key: &str) -> Option<(String, String)> {
    let (tenant, app) = key.split_once('.')?;
    Some((untoken(tenant)?, untoken(app)?))
}

/// The text a [`token`] was made of.
fn untoken(t: &str) -> Option<String> {
    if t == "=" {
        return Some(String::new());
    }
    let mut bytes = Vec::with_capacity(t.len());
    let mut rest = t.as_bytes();
    while let Some((&b, after)) = rest.split_first() {
        if b == b'=' {
            let hex = std::str::from_utf8(after.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &after[2..];
        } else {
            bytes.push(b);
            rest = after;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_safe_and_distinct() {
        assert_eq!(token("acme-eu_1"), "acme-eu_1");
        assert_eq!(token("a.b c"), "a=2Eb=20c");
        assert_ne!(tenant_key("a.b", "c"), tenant_key("a", "b.c"));
        assert_eq!(token(""), "=");
    }

    #[test]
    fn tenant_keys_give_back_their_tenant_and_app() {
        for (t, a) in [
            ("acme-eu_1", "twilio"),
            ("a.b c", "flex"),
            ("", "x"),
            ("é\"\n", ""),
        ] {
            let back = from_tenant_key(&tenant_key(t, a));
            assert_eq!(back, Some((t.to_string(), a.to_string())), "{t:?} {a:?}");
        }
        assert_eq!(from_tenant_key("no-dot"), None);
        assert_eq!(from_tenant_key("a=4.b"), None);
    }
}
