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
/// Latest complete snapshot per tenant and app.
pub const RESULTS: &str = "connector-results";
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
}
