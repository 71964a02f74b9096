//! The host's decision on one outbound request, kept apart from sending it: given the kind of
//! call that is running, the egress policy and the connecting account, allow the request or
//! name the rule that denies it. Pure and unit-tested; `egress.rs` applies it.
//!
//! The rules hold whatever the plugin does: reads and dry-runs may only read, nothing may write
//! to the connecting account, only GET/POST/DELETE go out, and routes that mint, reveal or
//! rotate credentials or that send messages or calls are never reached.

use http::{Method, Uri};
use std::net::SocketAddr;

/// Where requests may go.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    /// Hosts this call may reach: the app's declared hosts under a trusted suffix.
    pub allowed_hosts: Vec<String>,
    /// Send every allowed request to this address over plain HTTP, keeping `Host` and path.
    pub connect_to: Option<SocketAddr>,
    /// The routes the app declared; `None` for a plugin that declares none (read-only).
    pub routes: Option<Vec<Route>>,
}

impl EgressPolicy {
    /// Policy for a plugin's declared hosts: only hosts under one of the operator's `trusted`
    /// suffixes (the host's vendor policy, e.g. `.example.com`) survive, whatever a plugin declares.
    pub fn for_hosts(
        declared: &[String],
        trusted: &[String],
        connect_to: Option<SocketAddr>,
    ) -> Self {
        let allowed_hosts = declared
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .filter(|h| !h.contains(['/', ':', '@']) && is_trusted(h, trusted))
            .collect();
        Self {
            allowed_hosts,
            connect_to,
            routes: None,
        }
    }

    /// The same policy, limited to `routes` (those on hosts it does not allow are dropped).
    pub fn with_routes(mut self, routes: Vec<Route>) -> Self {
        let allowed = &self.allowed_hosts;
        self.routes = Some(
            routes
                .into_iter()
                .filter(|r| allowed.iter().any(|h| r.is_on(h)))
                .collect(),
        );
        self
    }

    /// Decide a request's URI: `Ok(host)` when it may go, else the reason it may not.
    pub fn check(&self, uri: &Uri) -> Result<String, String> {
        let host = uri.host().unwrap_or("").to_ascii_lowercase();
        if uri.scheme_str() != Some("https") {
            return Err(format!("{uri} is not HTTPS"));
        }
        if uri.port_u16().is_some_and(|p| p != 443) {
            return Err(format!("{uri} uses a non-standard port"));
        }
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(format!("{uri} carries user info"));
        }
        if !self.allowed_hosts.contains(&host) {
            return Err(format!(
                "{host} is not an allowed host (allowed: {})",
                self.allowed_hosts.join(", ")
            ));
        }
        Ok(host)
    }
}

/// Whether `host` is trusted: under one of the `trusted` suffixes (those starting with a dot:
/// `.example.com` trusts `api.example.com` but not `evilexample.com`) or equal to one of the
/// exact host names (an operator narrowing the policy to the hosts it wants).
pub fn is_trusted(host: &str, trusted: &[String]) -> bool {
    let host = host.to_ascii_lowercase();
    trusted.iter().any(|entry| {
        let entry = entry.to_ascii_lowercase();
        match entry.strip_prefix('.') {
            Some(rest) => !rest.is_empty() && host.ends_with(&entry),
            None => !entry.is_empty() && host == entry,
        }
    })
}

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
    /// A status change or a provisioning (`action` names it); `dry_run` ones may only read.
    Action { action: &'static str, dry_run: bool },
}

impl CallKind {
    /// Whether this call may send anything but reads.
    pub fn may_write(self) -> bool {
        matches!(self, Self::Action { dry_run: false, .. })
    }

    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Metadata => "metadata",
            Self::Check => "check",
            Self::List => "list-accounts",
            Self::Get => "get-account",
            Self::Action { dry_run: true, .. } => "a dry-run",
            Self::Action { dry_run: false, .. } => "an action",
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

/// One segment of a route's path template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// This exact text.
    Literal(String),
    /// A SID with this two-letter prefix, then `suffix` (e.g. `{AC}.json`).
    Sid { prefix: String, suffix: String },
    /// Any non-empty segment, then `suffix`.
    Any { suffix: String },
}

impl Segment {
    fn parse(text: &str) -> Result<Self, String> {
        let Some(rest) = text.strip_prefix('{') else {
            if text.contains(['{', '}']) {
                return Err(format!("segment {text:?}: braces only around a whole name"));
            }
            return Ok(Self::Literal(text.to_string()));
        };
        let (name, suffix) = rest
            .split_once('}')
            .ok_or_else(|| format!("segment {text:?}: an unclosed brace"))?;
        if suffix.contains(['{', '}']) || name.is_empty() {
            return Err(format!("segment {text:?}: one placeholder per segment"));
        }
        let suffix = suffix.to_string();
        if name.len() == 2 && name.chars().all(|c| c.is_ascii_uppercase()) {
            Ok(Self::Sid {
                prefix: name.to_string(),
                suffix,
            })
        } else {
            Ok(Self::Any { suffix })
        }
    }

    fn matches(&self, segment: &str) -> bool {
        match self {
            Self::Literal(l) => l == segment,
            Self::Sid { prefix, suffix } => {
                segment.strip_suffix(suffix.as_str()).is_some_and(|s| {
                    s.len() == 34
                        && s.starts_with(prefix.as_str())
                        && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
                })
            }
            Self::Any { suffix } => segment
                .strip_suffix(suffix.as_str())
                .is_some_and(|s| !s.is_empty()),
        }
    }
}

/// A request an app declared it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    method: Method,
    host: String,
    segments: Vec<Segment>,
    /// For writes: the actions that may use it.
    actions: Vec<String>,
}

impl Route {
    /// A route from its declared parts; refuses templates it cannot match safely.
    pub fn parse(
        method: Method,
        host: &str,
        path: &str,
        actions: &[String],
    ) -> Result<Self, String> {
        let segments = path
            .strip_prefix('/')
            .ok_or_else(|| format!("route {method} {host} {path}: the path starts with /"))?
            .split('/')
            .map(Segment::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("route {method} {host} {path}: {e}"))?;
        Ok(Self {
            method,
            host: host.to_ascii_lowercase(),
            segments,
            actions: actions.to_vec(),
        })
    }

    /// Whether the route is on `host`.
    pub fn is_on(&self, host: &str) -> bool {
        self.host.eq_ignore_ascii_case(host)
    }

    fn matches(&self, method: &Method, host: &str, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').skip(1).collect();
        self.method == *method
            && self.host.eq_ignore_ascii_case(host)
            && parts.len() == self.segments.len()
            && self.segments.iter().zip(&parts).all(|(s, p)| s.matches(p))
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
    let host = match policy.check(uri) {
        Ok(h) => h,
        Err(why) => return deny("host-not-allowed", format!("{method} {why}")),
    };
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
    match &policy.routes {
        // A plugin that declares no routes (contract 0.1.0) may read, and only read: never
        // more than a plugin that declares its routes gets.
        None if *method != Method::GET => deny(
            "undeclared-route",
            format!("{method} {path}: a plugin that declares no routes may only read"),
        ),
        None => Ok(()),
        Some(routes) => {
            let Some(route) = routes.iter().find(|r| r.matches(method, &host, path)) else {
                return deny(
                    "undeclared-route",
                    format!("{method} {host}{path}: not a route the app declared"),
                );
            };
            match kind {
                CallKind::Action { action, .. }
                    if *method != Method::GET && !route.actions.iter().any(|a| a == action) =>
                {
                    deny(
                        "route-not-for-this-action",
                        format!(
                            "{method} {host}{path}: declared for {:?}, not for {action}",
                            route.actions
                        ),
                    )
                }
                _ => Ok(()),
            }
        }
    }
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
        let route = |m: Method, path: &str, actions: &[&str]| {
            let actions: Vec<String> = actions.iter().map(|a| a.to_string()).collect();
            Route::parse(m, "api.example.com", path, &actions).unwrap()
        };
        EgressPolicy::for_hosts(&["api.example.com".into()], &[".example.com".into()], None)
            .with_routes(vec![
                route(Method::GET, "/2010-04-01/Accounts/{AC}.json", &[]),
                route(Method::POST, "/2010-04-01/Accounts/{AC}.json", &["suspend"]),
                route(Method::GET, "/v1/Workspaces", &[]),
                route(Method::GET, "/v1/Users/{user}", &[]),
                route(Method::POST, "/v1/Users/{user}", &["suspend"]),
                // Declared, yet never granted.
                route(Method::GET, "/2010-04-01/Accounts/{AC}/Keys.json", &[]),
                route(
                    Method::POST,
                    "/2010-04-01/Accounts/{AC}/Keys.json",
                    &["suspend"],
                ),
                route(Method::POST, "/v1/AuthTokens/Secondary", &["suspend"]),
                route(Method::GET, "/v1/{any}", &[]),
            ])
    }

    fn rule(kind: CallKind, method: Method, url: &str) -> Option<&'static str> {
        decide(kind, &policy(), MAIN, &method, &url.parse().unwrap())
            .err()
            .map(|d| d.rule)
    }

    const WRITE: CallKind = CallKind::Action {
        action: "suspend",
        dry_run: false,
    };
    const DRY: CallKind = CallKind::Action {
        action: "suspend",
        dry_run: true,
    };

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
        // Its SID in any case: `ac…` and `AC…` name the same account.
        for id in [MAIN, "ac00000000000000000000000000000001"] {
            let url = format!("https://api.example.com/2010-04-01/Accounts/{id}.json");
            assert_eq!(
                rule(WRITE, Method::POST, &url),
                Some("connecting-account-write")
            );
        }
        let url = format!("https://api.example.com/2010-04-01/Accounts/{MAIN}.json");
        assert_eq!(
            rule(CallKind::Get, Method::GET, &url),
            None,
            "reading it is fine"
        );
    }

    #[test]
    fn credential_and_messaging_routes_and_other_representations_are_refused() {
        for url in [
            "https://api.example.com/2010-04-01/Accounts/AC00000000000000000000000000000002/Keys.json",
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

    #[test]
    fn only_declared_routes_and_writes_only_for_their_actions() {
        let sub =
            "https://api.example.com/2010-04-01/Accounts/AC00000000000000000000000000000002.json";
        let deprovision = CallKind::Action {
            action: "deprovision",
            dry_run: false,
        };
        assert_eq!(rule(WRITE, Method::POST, sub), None);
        assert_eq!(
            rule(deprovision, Method::POST, sub),
            Some("route-not-for-this-action")
        );
        assert_eq!(rule(WRITE, Method::DELETE, sub), Some("undeclared-route"));
        for bad in [
            "https://api.example.com/2010-04-01/Accounts/AC0000000000000000000000000000002.json",
            "https://api.example.com/2010-04-01/Accounts/WK00000000000000000000000000000002.json",
            "https://api.example.com/2010-04-01/Accounts.json",
            "https://api.example.com/v1/Workspaces/WS1",
        ] {
            assert_eq!(
                rule(CallKind::List, Method::GET, bad),
                Some("undeclared-route"),
                "{bad}"
            );
        }
        assert_eq!(
            rule(CallKind::List, Method::GET, &format!("{sub}?PageSize=1")),
            None,
            "the query is free"
        );
        // Without declared routes (contract 0.1.0): reads only.
        let legacy =
            EgressPolicy::for_hosts(&["api.example.com".into()], &[".example.com".into()], None);
        let uri: Uri = sub.parse().unwrap();
        assert!(decide(CallKind::List, &legacy, MAIN, &Method::GET, &uri).is_ok());
        assert_eq!(
            decide(WRITE, &legacy, MAIN, &Method::POST, &uri)
                .unwrap_err()
                .rule,
            "undeclared-route"
        );
    }

    #[test]
    fn templates_that_cannot_match_safely_are_refused() {
        for bad in ["no-slash", "/a/{b", "/a/{b}{c}", "/a/x{b}"] {
            assert!(Route::parse(Method::GET, "h", bad, &[]).is_err(), "{bad}");
        }
    }
}
