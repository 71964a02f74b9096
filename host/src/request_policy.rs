//! The host's decision on one outbound request, kept apart from sending it: given the kind of
//! call that is running, the egress policy and the connecting account, allow the request or
//! name the rule that denies it. Pure and unit-tested; `egress.rs` applies it.
//!
//! The rules hold whatever the plugin does: reads and dry-runs may only read, nothing may write
//! to the connecting account, only GET/POST/DELETE go out, and routes that mint, reveal or
//! rotate credentials or that send messages or calls are never reached.

use crate::egress::EgressPolicy;
use http::{Method, Uri};

/// Which export of the plugin is running (the host knows: it made the call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// `metadata`.
    Metadata,
    /// `check`.
    Check,
    /// `list-accounts`.
    List,
    /// `get-account`.
    Get,
    /// A status change or a provisioning; `dry_run` ones may only read.
    Action { dry_run: bool },
}

impl CallKind {
    /// Whether this call may send anything but reads.
    pub fn may_write(self) -> bool {
        matches!(self, Self::Action { dry_run: false })
    }

    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Metadata => "metadata",
            Self::Check => "check",
            Self::List => "list-accounts",
            Self::Get => "get-account",
            Self::Action { dry_run: true } => "a dry-run",
            Self::Action { dry_run: false } => "an action",
        }
    }
}

/// Why a request was denied: the rule, and what the request was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// A stable rule name (`read-only-call`, `forbidden-route`, …).
    pub rule: &'static str,
    /// What was refused and why, in words.
    pub detail: String,
}

impl std::fmt::Display for Denial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "denied by rule {}: {}", self.rule, self.detail)
    }
}

/// Methods that ever leave the host.
const METHODS: &[Method] = &[Method::GET, Method::POST, Method::DELETE];

/// Path segments of routes that mint, reveal or rotate credentials, or that send messages or
/// place calls: never reached, whatever a plugin declares.
const FORBIDDEN_SEGMENTS: &[&str] = &[
    "keys",
    "signingkeys",
    "authtokens",
    "secondary",
    "promote",
    "credentials",
    "credentiallists",
    "messages",
    "calls",
    "conferences",
    "faxes",
    "notifications",
    "verifications",
    "tokens",
];

fn deny(rule: &'static str, detail: String) -> Result<(), Denial> {
    Err(Denial { rule, detail })
}

/// Decide one request of `kind` under `policy` for a tenant whose connecting account is
/// `connecting_account` (empty when there is no tenant).
pub fn decide(
    kind: CallKind,
    policy: &EgressPolicy,
    connecting_account: &str,
    method: &Method,
    uri: &Uri,
) -> Result<(), Denial> {
    if !METHODS.contains(method) {
        return deny(
            "method-not-allowed",
            format!("{method} {uri}: only GET, POST and DELETE go out"),
        );
    }
    if let Err(why) = policy.check(uri) {
        return deny("host-not-allowed", format!("{method} {why}"));
    }
    if *method != Method::GET && !kind.may_write() {
        return deny(
            "read-only-call",
            format!("{method} {uri} during {}: it may only read", kind.name()),
        );
    }
    let path = uri.path();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    for (i, raw) in segments.iter().enumerate() {
        if raw.is_empty() && i + 1 < segments.len() {
            return deny("path-not-canonical", format!("{path}: an empty segment"));
        }
        // A segment is judged as the upstream may read it: decoded, and split again where the
        // decoding made separators (an identity may hold `/`, a traversal may not).
        let decoded = percent_decode(raw);
        for piece in decoded.split(['/', '\\']) {
            if piece == "." || piece == ".." {
                return deny(
                    "path-not-canonical",
                    format!("{path}: `.` or `..` segments, plain or encoded"),
                );
            }
            let stem = piece
                .split('.')
                .next()
                .unwrap_or(piece)
                .to_ascii_lowercase();
            if FORBIDDEN_SEGMENTS.contains(&stem.as_str()) {
                return deny(
                    "forbidden-route",
                    format!(
                        "{method} {path}: routes that handle credentials, messages or calls are never reached"
                    ),
                );
            }
            if *method != Method::GET
                && !connecting_account.is_empty()
                && stem.eq_ignore_ascii_case(connecting_account)
            {
                return deny(
                    "connecting-account-write",
                    format!("{method} {path}: the connecting account is never written"),
                );
            }
        }
    }
    Ok(())
}

/// `%XX` escapes decoded (invalid ones kept as they are).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIN: &str = "AC00000000000000000000000000000001";

    fn policy() -> EgressPolicy {
        EgressPolicy::for_hosts(&["api.example.com".into()], &[".example.com".into()], None)
    }

    fn rule(kind: CallKind, method: Method, url: &str) -> Option<&'static str> {
        decide(kind, &policy(), MAIN, &method, &url.parse().unwrap())
            .err()
            .map(|d| d.rule)
    }

    const WRITE: CallKind = CallKind::Action { dry_run: false };
    const DRY: CallKind = CallKind::Action { dry_run: true };

    #[test]
    fn reads_and_dry_runs_only_read() {
        let sub =
            "https://api.example.com/2010-04-01/Accounts/AC00000000000000000000000000000002.json";
        for kind in [
            CallKind::Metadata,
            CallKind::Check,
            CallKind::List,
            CallKind::Get,
            DRY,
        ] {
            assert_eq!(rule(kind, Method::GET, sub), None, "{kind:?}");
            assert_eq!(
                rule(kind, Method::POST, sub),
                Some("read-only-call"),
                "{kind:?}"
            );
            assert_eq!(
                rule(kind, Method::DELETE, sub),
                Some("read-only-call"),
                "{kind:?}"
            );
        }
        assert_eq!(rule(WRITE, Method::POST, sub), None);
    }

    #[test]
    fn the_connecting_account_is_never_written_in_any_case() {
        for id in [MAIN, "ac00000000000000000000000000000001"] {
            let url = format!("https://api.example.com/2010-04-01/Accounts/{id}.json");
            assert_eq!(
                rule(WRITE, Method::POST, &url),
                Some("connecting-account-write")
            );
            assert_eq!(
                rule(CallKind::Get, Method::GET, &url),
                None,
                "reading it is fine"
            );
        }
    }

    #[test]
    fn credential_and_messaging_routes_and_other_representations_are_refused() {
        for url in [
            "https://api.example.com/2010-04-01/Accounts/AC1/Keys.json",
            "https://api.example.com/v1/AuthTokens/Secondary",
            "https://api.example.com/v1/AuthTokens/Promote",
            "https://api.example.com/2010-04-01/Accounts/AC1/SigningKeys.json",
            "https://api.example.com/2010-04-01/Accounts/AC1/Messages.json",
            "https://api.example.com/2010-04-01/Accounts/AC1/Calls.json",
        ] {
            assert_eq!(
                rule(WRITE, Method::POST, url),
                Some("forbidden-route"),
                "{url}"
            );
            assert_eq!(
                rule(CallKind::List, Method::GET, url),
                Some("forbidden-route"),
                "{url}"
            );
        }
        // An identity may hold an encoded `/`; a traversal to a forbidden route may not.
        let user = "https://api.example.com/v1/Users/team%2Flead%40x.example";
        assert_eq!(rule(WRITE, Method::POST, user), None);
        assert_eq!(
            rule(
                CallKind::Get,
                Method::GET,
                "https://api.example.com/v1/Users/x%2F..%2FKeys"
            ),
            Some("path-not-canonical")
        );
        assert_eq!(
            rule(
                CallKind::Get,
                Method::GET,
                "https://api.example.com/v1/Users/a%2FKeys"
            ),
            Some("forbidden-route")
        );
    }

    #[test]
    fn only_three_methods_and_canonical_paths() {
        let ok = "https://api.example.com/v1/Workspaces";
        for m in ["TRACE", "PUT", "PATCH", "OPTIONS", "CONNECT", "HEAD"] {
            let m: Method = m.parse().unwrap();
            assert_eq!(rule(WRITE, m, ok), Some("method-not-allowed"));
        }
        for bad in [
            "https://api.example.com/v1/%2e%2e/x",
            "https://api.example.com/v1/a%2F..%2Fb",
            "https://api.example.com/v1//x",
        ] {
            assert_eq!(
                rule(CallKind::List, Method::GET, bad),
                Some("path-not-canonical"),
                "{bad}"
            );
        }
        assert_eq!(
            rule(CallKind::List, Method::GET, "https://evil.example/x"),
            Some("host-not-allowed")
        );
        assert_eq!(rule(CallKind::List, Method::GET, ok), None);
    }
}
