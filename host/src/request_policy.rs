//! The host's decision on one outbound request, kept apart from sending it: given the kind of
//! call that is running, the routes granted to the app, the vendor policy and the tenant's
//! connecting account, allow the request or name the [`Rule`] that denies it. Pure and
//! unit-tested; `egress.rs` applies it.
//!
//! The rules hold whatever the plugin does: reads and dry-runs may only read; nothing may write
//! to the connecting account; only routes the vendor policy grants (and the plugin declared)
//! are reached; a write is for the action that runs, names the account that action is for, and
//! says only what the policy lets that action say.

use crate::action_targets::{ActionTargets, TargetRefusal};
use crate::vendor_policy::{GrantedRoute, Method, VendorPolicy};
use crate::write_rules::{self, percent_decode};
use http::Uri;
use std::fmt;
use std::sync::Arc;

/// Where one tenant's app may send requests.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    /// Hosts this call may reach: the app's declared hosts that the vendor policy trusts.
    pub allowed_hosts: Vec<String>,
    /// Send every allowed request to this address over plain HTTP, keeping `Host` and path.
    pub connect_to: Option<crate::connect_to::ConnectTo>,
    /// The routes granted to the app (declared ∩ vendor policy).
    pub routes: Vec<GrantedRoute>,
    /// The vendor policy they were granted under.
    pub vendor: Arc<VendorPolicy>,
}

impl EgressPolicy {
    /// Policy for an app's declared hosts and granted routes: only hosts the vendor policy
    /// trusts survive, and only routes on them.
    pub fn new(
        vendor: Arc<VendorPolicy>,
        declared_hosts: &[String],
        routes: Vec<GrantedRoute>,
        connect_to: Option<crate::connect_to::ConnectTo>,
    ) -> Self {
        let allowed_hosts: Vec<String> = declared_hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .filter(|h| {
                !h.contains(['/', ':', '@'])
                    && crate::vendor_policy::is_trusted(h, vendor.trusted_hosts())
            })
            .collect();
        let routes = routes
            .into_iter()
            .filter(|r| allowed_hosts.contains(&r.declared.host))
            .collect();
        Self {
            allowed_hosts,
            connect_to,
            routes,
            vendor,
        }
    }

    /// Decide a request's URI: `Ok(host)` when it may go, else the reason it may not.
    pub fn check(&self, uri: &Uri) -> Result<String, String> {
        let host = uri.host().unwrap_or("").to_ascii_lowercase();
        if uri.scheme_str() != Some("https") {
            return Err(format!("{} is not HTTPS", shown(uri)));
        }
        if uri.port_u16().is_some_and(|p| p != 443) {
            return Err(format!("{} uses a non-standard port", shown(uri)));
        }
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(format!("{} carries user info", shown(uri)));
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

/// An action as the host runs it: which, whether a dry-run, for which account, and (for
/// provisioning) what was asked, as a JSON object (`username`, `email`, `full_name`, `roles`,
/// `attributes`).
#[derive(Debug, Clone, PartialEq)]
pub struct ActionCall {
    pub action: String,
    pub dry_run: bool,
    /// The account id the action was called with (a provisioning's username).
    pub target: String,
    pub request: Option<serde_json::Value>,
    /// The path placeholders that stand for something the tenant configures, each with the
    /// tenant's value (none when it configured nothing): filled by the host from the vendor
    /// policy's `configured_placeholders` and the tenant's options.
    pub configured: Vec<(String, Option<String>)>,
}

/// Which export of the plugin is running (the host knows: it made the call).
#[derive(Debug, Clone, PartialEq)]
pub enum CallKind {
    /// `metadata`.
    Metadata,
    /// `check`.
    Check,
    /// `list-accounts`.
    List,
    /// `get-account`.
    Get,
    /// `list-entitlements`.
    Entitlements,
    /// A status change, a provisioning, a grant or a revoke; dry-runs may only read.
    Action(ActionCall),
}

impl CallKind {
    /// Whether this call may send anything but reads.
    pub fn may_write(&self) -> bool {
        matches!(self, Self::Action(a) if !a.dry_run)
    }

    /// The action, when one runs.
    pub fn action(&self) -> Option<&ActionCall> {
        match self {
            Self::Action(a) => Some(a),
            _ => None,
        }
    }

    /// A short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Metadata => "metadata",
            Self::Check => "check",
            Self::List => "list-accounts",
            Self::Get => "get-account",
            Self::Entitlements => "list-entitlements",
            Self::Action(a) if a.dry_run => "a dry-run",
            Self::Action(_) => "an action",
        }
    }
}

/// The rules a request can be denied by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A method no route may use.
    MethodNotAllowed,
    /// Not HTTPS on 443 to a host the app declared and the policy trusts.
    HostNotAllowed,
    /// A write during a read or a dry-run.
    ReadOnlyCall,
    /// `.`/`..` segments, plain or encoded, or empty ones.
    PathNotCanonical,
    /// A segment the vendor policy never lets through.
    ForbiddenRoute,
    /// A write naming the tenant's connecting account.
    ConnectingAccountWrite,
    /// No route granted to the app matches.
    UndeclaredRoute,
    /// A granted write route, but not for the action that runs.
    RouteNotForThisAction,
    /// A write that names another account than the action's.
    WrongTarget,
    /// A second account written by one action.
    SecondTarget,
    /// A body where none may be, or not in the encoding the route takes.
    BodyNotAllowed,
    /// A body field the action may not send.
    BodyFieldNotAllowed,
    /// A body value the action may not send (or a required one missing).
    BodyValueNotAllowed,
    /// A write's path names another instance of what the tenant configured (another Flex
    /// instance, another Organization), or something the tenant configured none of.
    NotTheConfiguredValue,
}

/// Every rule with its stable name, as audit lines and messages spell it.
const RULE_NAMES: &[(Rule, &str)] = &[
    (Rule::MethodNotAllowed, "method-not-allowed"),
    (Rule::HostNotAllowed, "host-not-allowed"),
    (Rule::ReadOnlyCall, "read-only-call"),
    (Rule::PathNotCanonical, "path-not-canonical"),
    (Rule::ForbiddenRoute, "forbidden-route"),
    (Rule::ConnectingAccountWrite, "connecting-account-write"),
    (Rule::UndeclaredRoute, "undeclared-route"),
    (Rule::RouteNotForThisAction, "route-not-for-this-action"),
    (Rule::WrongTarget, "wrong-target"),
    (Rule::SecondTarget, "second-target"),
    (Rule::BodyNotAllowed, "body-not-allowed"),
    (Rule::BodyFieldNotAllowed, "body-field-not-allowed"),
    (Rule::BodyValueNotAllowed, "body-value-not-allowed"),
    (Rule::NotTheConfiguredValue, "not-the-configured-value"),
];

impl Rule {
    /// The rule's stable name (`read-only-call`, `wrong-target`…).
    pub fn name(self) -> &'static str {
        RULE_NAMES
            .iter()
            .find(|(r, _)| *r == self)
            .map(|(_, n)| *n)
            .unwrap_or("unnamed-rule")
    }

    /// Every rule.
    pub fn all() -> impl Iterator<Item = Rule> {
        RULE_NAMES.iter().map(|(r, _)| *r)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a request was denied: the rule, and what the request was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub rule: Rule,
    /// What was refused and why, in words.
    pub detail: String,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "denied by rule {}: {}", self.rule, self.detail)
    }
}

/// One outbound request as the policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct Outbound<'a> {
    pub method: &'a http::Method,
    pub uri: &'a Uri,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
}

/// What an allowed request is: a read, or a write of this target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    Read,
    /// A write of `target`; its body goes out declared as `media_type` (the route's encoding,
    /// as the host read it), so the upstream reads what the host checked.
    Write {
        target: String,
        media_type: Option<&'static str>,
    },
}

/// A request's URI as messages and audit lines show it: host and path, never the query, and
/// at most 256 characters of it.
pub fn shown(uri: &Uri) -> String {
    let text = format!("{}{}", uri.host().unwrap_or(""), uri.path());
    truncated(&text)
}

/// A method as messages show it (a plugin may invent long ones).
fn shown_method(m: &http::Method) -> String {
    truncated(m.as_str())
}

/// At most 256 characters, marked when cut.
pub fn truncated(text: &str) -> String {
    const MAX: usize = 256;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn deny<T>(rule: Rule, detail: String) -> Result<T, Denial> {
    Err(Denial { rule, detail })
}

/// Decide one request of `kind` under `policy` for a tenant whose connecting account is
/// `connecting_account` (empty when there is no tenant); `targets` holds what the action may
/// write. Each stage is its own function, in the order a request meets them.
pub fn decide(
    kind: &CallKind,
    policy: &EgressPolicy,
    connecting_account: &str,
    targets: &ActionTargets,
    req: Outbound<'_>,
) -> Result<Allowed, Denial> {
    let method = known_method(req)?;
    let host = allowed_host(policy, req)?;
    read_only_unless_acting(kind, method, req)?;
    let path = req.uri.path();
    canonical_and_not_forbidden(policy, connecting_account, method, path)?;
    let route = granted_route(policy, method, &host, path)?;
    if method.is_read() {
        if !req.body.is_empty() {
            return deny(
                Rule::BodyNotAllowed,
                format!("{method} {host}{path}: a read carries no body"),
            );
        }
        return Ok(Allowed::Read);
    }
    // What a write says is in its body, where the policy reads it: a query could say more.
    if req.uri.query().is_some_and(|q| !q.is_empty()) {
        return deny(
            Rule::BodyFieldNotAllowed,
            format!("{method} {host}{path}: a write carries its fields in the body, not the query"),
        );
    }
    let Some(action) = kind.action() else {
        return deny(
            Rule::ReadOnlyCall,
            format!("{method} {host}{path} outside an action"),
        );
    };
    let Some(rule) = route.rule_for(&action.action) else {
        return deny(
            Rule::RouteNotForThisAction,
            format!(
                "{method} {host}{path}: granted for {}, not for {}",
                route.declared.actions.join(", "),
                action.action
            ),
        );
    };
    holds_the_configured_values(&route.declared.template, path, action).map_err(|detail| {
        Denial {
            rule: Rule::NotTheConfiguredValue,
            detail: format!("{method} {host}{path}: {detail}"),
        }
    })?;
    let target = write_rules::check(
        rule,
        &route.declared.template,
        path,
        req.content_type,
        req.body,
        action,
        targets,
    )
    .map_err(|(rule, detail)| Denial {
        rule,
        detail: format!("{method} {host}{path}: {detail}"),
    })?;
    bound_to_the_target(targets, action, &target, method, &host, path)?;
    // The body goes out declared as what the host read it as, whatever else was declared.
    let media_type = (!req.body.is_empty()).then(|| rule.encoding.media_type());
    Ok(Allowed::Write { target, media_type })
}

/// Each placeholder of a write's path that stands for something the tenant configures holds
/// the tenant's own value: an action never writes to another Flex instance or Organization
/// than the one its tenant names, even through a route granted for it.
fn holds_the_configured_values(
    template: &crate::vendor_policy::Template,
    path: &str,
    action: &ActionCall,
) -> Result<(), String> {
    for (name, configured) in &action.configured {
        let Some(seen) = template.capture(path, name) else {
            continue;
        };
        let seen = percent_decode(seen);
        match configured {
            Some(value) if *value == seen => {}
            Some(value) => {
                return Err(format!(
                    "{{{name}}} is {seen:?}, not the tenant's configured {value:?}"
                ));
            }
            None => {
                return Err(format!(
                    "{{{name}}} is {seen:?}, and the tenant configured none"
                ));
            }
        }
    }
    Ok(())
}

fn known_method(req: Outbound<'_>) -> Result<Method, Denial> {
    Method::parse(req.method.as_str()).ok_or_else(|| Denial {
        rule: Rule::MethodNotAllowed,
        detail: format!(
            "{} {}: not a method any route may use",
            shown_method(req.method),
            shown(req.uri)
        ),
    })
}

fn allowed_host(policy: &EgressPolicy, req: Outbound<'_>) -> Result<String, Denial> {
    policy.check(req.uri).map_err(|why| Denial {
        rule: Rule::HostNotAllowed,
        detail: format!("{} {why}", req.method),
    })
}

fn read_only_unless_acting(
    kind: &CallKind,
    method: Method,
    req: Outbound<'_>,
) -> Result<(), Denial> {
    if !method.is_read() && !kind.may_write() {
        return deny(
            Rule::ReadOnlyCall,
            format!(
                "{method} {} during {}: it may only read",
                shown(req.uri),
                kind.name()
            ),
        );
    }
    Ok(())
}

/// Segments are judged as the upstream may read them: decoded, and split again where the
/// decoding made separators (an identity may hold `/`, a traversal may not).
fn canonical_and_not_forbidden(
    policy: &EgressPolicy,
    connecting_account: &str,
    method: Method,
    path: &str,
) -> Result<(), Denial> {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    for (i, raw) in segments.iter().enumerate() {
        if raw.is_empty() && i + 1 < segments.len() {
            return deny(Rule::PathNotCanonical, format!("{path}: an empty segment"));
        }
        let decoded = percent_decode(raw);
        for piece in decoded.split(['/', '\\']) {
            if piece == "." || piece == ".." {
                return deny(
                    Rule::PathNotCanonical,
                    format!("{path}: `.` or `..` segments, plain or encoded"),
                );
            }
            let stem = piece
                .split('.')
                .next()
                .unwrap_or(piece)
                .to_ascii_lowercase();
            if policy.vendor.forbidden_segments().contains(&stem) {
                return deny(
                    Rule::ForbiddenRoute,
                    format!("{method} {path}: the vendor policy never lets {piece:?} through"),
                );
            }
            if !method.is_read()
                && !connecting_account.is_empty()
                && stem.eq_ignore_ascii_case(connecting_account)
            {
                return deny(
                    Rule::ConnectingAccountWrite,
                    format!("{method} {path}: the connecting account is never written"),
                );
            }
        }
    }
    Ok(())
}

fn granted_route<'p>(
    policy: &'p EgressPolicy,
    method: Method,
    host: &str,
    path: &str,
) -> Result<&'p GrantedRoute, Denial> {
    policy
        .routes
        .iter()
        .find(|r| {
            r.declared.matches(method, host, path) && r.vendor.route.matches(method, host, path)
        })
        .ok_or_else(|| Denial {
            rule: Rule::UndeclaredRoute,
            detail: format!("{method} {host}{path}: not a route granted to the app"),
        })
}

fn bound_to_the_target(
    targets: &ActionTargets,
    action: &ActionCall,
    target: &str,
    method: Method,
    host: &str,
    path: &str,
) -> Result<(), Denial> {
    match targets.admits(target) {
        Ok(()) => Ok(()),
        Err(TargetRefusal::NotTheTarget) => deny(
            Rule::WrongTarget,
            format!(
                "{method} {host}{path}: writes {target:?}, but {} is for {:?}",
                action.action, action.target
            ),
        ),
        Err(TargetRefusal::SecondAccount) => deny(
            Rule::SecondTarget,
            format!(
                "{method} {host}{path}: {} of {:?} already wrote another account",
                action.action, action.target
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendor_policy::tests::{declared, example};

    const MAIN: &str = "AC00000000000000000000000000000001";
    const SUB: &str = "AC00000000000000000000000000000002";
    const OTHER: &str = "AC00000000000000000000000000000003";

    fn policy() -> EgressPolicy {
        let vendor = Arc::new(example());
        let routes = vendor
            .grant(
                "app",
                &[
                    declared("GET", "/v1/Accounts/{AC}.json", &[]),
                    declared("POST", "/v1/Accounts/{AC}.json", &["suspend", "reactivate"]),
                    declared("GET", "/v1/Workspaces", &[]),
                    declared("GET", "/v1/Users/{user}", &[]),
                    declared(
                        "DELETE",
                        "/v1/Workspaces/{WS}/Workers/{WK}",
                        &["deprovision"],
                    ),
                    declared("POST", "/v1/Users/Provision", &["provision"]),
                    declared("POST", "/v1/Users/Deprovision", &["deprovision"]),
                ],
            )
            .unwrap();
        EgressPolicy::new(
            vendor,
            &["api.example.com".into(), "evil.test".into()],
            routes,
            None,
        )
    }

    fn act(action: &str, target: &str, dry_run: bool) -> CallKind {
        CallKind::Action(ActionCall {
            action: action.into(),
            dry_run,
            target: target.into(),
            request: None,
            configured: Vec::new(),
        })
    }

    fn outcome(
        kind: &CallKind,
        method: &str,
        url: &str,
        ct: Option<&str>,
        body: &[u8],
    ) -> Result<Allowed, Rule> {
        let targets = ActionTargets::new(kind.action().map(|a| a.target.as_str()).unwrap_or(""));
        rule_with(kind, &targets, method, url, ct, body)
    }

    fn rule_with(
        kind: &CallKind,
        targets: &ActionTargets,
        method: &str,
        url: &str,
        ct: Option<&str>,
        body: &[u8],
    ) -> Result<Allowed, Rule> {
        let method: http::Method = method.parse().unwrap();
        let uri: Uri = url.parse().unwrap();
        decide(
            kind,
            &policy(),
            MAIN,
            targets,
            Outbound {
                method: &method,
                uri: &uri,
                content_type: ct,
                body,
            },
        )
        .map_err(|d| d.rule)
    }

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    fn account(id: &str) -> String {
        format!("https://api.example.com/v1/Accounts/{id}.json")
    }

    #[test]
    fn reads_and_dry_runs_only_read() {
        for kind in [
            CallKind::Metadata,
            CallKind::Check,
            CallKind::List,
            CallKind::Get,
            act("suspend", SUB, true),
        ] {
            assert_eq!(
                outcome(&kind, "GET", &account(SUB), None, b""),
                Ok(Allowed::Read),
                "{kind:?}"
            );
            for m in ["POST", "DELETE"] {
                assert_eq!(
                    outcome(&kind, m, &account(SUB), FORM, b"Status=suspended"),
                    Err(Rule::ReadOnlyCall),
                    "{kind:?}"
                );
            }
        }
        assert_eq!(
            outcome(
                &act("suspend", SUB, false),
                "POST",
                &account(SUB),
                FORM,
                b"Status=suspended"
            ),
            Ok(Allowed::Write {
                target: SUB.into(),
                media_type: Some("application/x-www-form-urlencoded")
            })
        );
    }

    #[test]
    fn the_connecting_account_is_never_written_in_any_case() {
        for id in [MAIN, &MAIN.to_ascii_lowercase()] {
            assert_eq!(
                outcome(
                    &act("suspend", id, false),
                    "POST",
                    &account(id),
                    FORM,
                    b"Status=suspended"
                ),
                Err(Rule::ConnectingAccountWrite)
            );
        }
        assert_eq!(
            outcome(&CallKind::Get, "GET", &account(MAIN), None, b""),
            Ok(Allowed::Read)
        );
    }

    #[test]
    fn forbidden_segments_hold_in_every_representation() {
        for url in [
            "https://api.example.com/v1/Keys",
            "https://api.example.com/v1/Users/a%2FKeys",
            "https://api.example.com/v1/Secrets.json",
        ] {
            assert_eq!(
                outcome(&CallKind::List, "GET", url, None, b""),
                Err(Rule::ForbiddenRoute),
                "{url}"
            );
        }
        for bad in [
            "https://api.example.com/v1/%2e%2e/x",
            "https://api.example.com/v1/Users/x%2F..%2FKeys",
            "https://api.example.com/v1//x",
        ] {
            assert_eq!(
                outcome(&CallKind::List, "GET", bad, None, b""),
                Err(Rule::PathNotCanonical),
                "{bad}"
            );
        }
        // An identity may hold an encoded `/`.
        assert_eq!(
            outcome(
                &CallKind::Get,
                "GET",
                "https://api.example.com/v1/Users/team%2Flead",
                None,
                b""
            ),
            Ok(Allowed::Read)
        );
    }

    #[test]
    fn only_granted_routes_methods_and_hosts() {
        for m in ["TRACE", "OPTIONS", "CONNECT", "HEAD"] {
            assert_eq!(
                outcome(
                    &CallKind::List,
                    m,
                    "https://api.example.com/v1/Workspaces",
                    None,
                    b""
                ),
                Err(Rule::MethodNotAllowed)
            );
        }
        assert_eq!(
            outcome(
                &CallKind::List,
                "GET",
                "https://evil.test/v1/Workspaces",
                None,
                b""
            ),
            Err(Rule::HostNotAllowed)
        );
        for bad in [
            "https://api.example.com/v1/Workspaces/WS00000000000000000000000000000001",
            "https://api.example.com/v1/Accounts.json",
            "https://api.example.com/v1/Accounts/PN00000000000000000000000000000002.json",
            "https://api.example.com/v1/Users/u/Recordings",
        ] {
            assert_eq!(
                outcome(&CallKind::List, "GET", bad, None, b""),
                Err(Rule::UndeclaredRoute),
                "{bad}"
            );
        }
        assert_eq!(
            outcome(
                &CallKind::List,
                "GET",
                &format!("{}?PageSize=1", account(SUB)),
                None,
                b""
            ),
            Ok(Allowed::Read),
            "the query is free"
        );
        assert_eq!(
            outcome(&CallKind::List, "GET", &account(SUB), FORM, b"x=1"),
            Err(Rule::BodyNotAllowed),
            "a read carries no body"
        );
    }

    #[test]
    fn writes_are_for_their_action_target_and_body() {
        let suspend = act("suspend", SUB, false);
        let url = account(SUB);
        assert_eq!(
            outcome(&suspend, "POST", &url, FORM, b"Status=closed"),
            Err(Rule::BodyValueNotAllowed)
        );
        assert_eq!(
            outcome(&suspend, "POST", &url, FORM, b"Status=active"),
            Err(Rule::BodyValueNotAllowed)
        );
        assert_eq!(
            outcome(
                &act("reactivate", SUB, false),
                "POST",
                &url,
                FORM,
                b"Status=active"
            ),
            Ok(Allowed::Write {
                target: SUB.into(),
                media_type: Some("application/x-www-form-urlencoded")
            })
        );
        assert_eq!(
            outcome(
                &act("deprovision", SUB, false),
                "POST",
                &url,
                FORM,
                b"Status=closed"
            ),
            Err(Rule::RouteNotForThisAction)
        );
        assert_eq!(
            outcome(&suspend, "POST", &account(OTHER), FORM, b"Status=suspended"),
            Err(Rule::WrongTarget)
        );
        assert_eq!(
            outcome(&suspend, "DELETE", &url, None, b""),
            Err(Rule::UndeclaredRoute)
        );
        assert_eq!(
            outcome(
                &suspend,
                "POST",
                &format!("{url}?Status=closed"),
                FORM,
                b"Status=suspended"
            ),
            Err(Rule::BodyFieldNotAllowed),
            "a query on a write could say more than its body"
        );
    }

    #[test]
    fn a_write_holds_the_tenants_configured_values_in_its_path() {
        const WS: &str = "WS00000000000000000000000000000001";
        const WS2: &str = "WS00000000000000000000000000000002";
        const WK: &str = "WK00000000000000000000000000000001";
        let deprovision = |configured: Option<&str>| {
            CallKind::Action(ActionCall {
                action: "deprovision".into(),
                dry_run: false,
                target: WK.into(),
                request: None,
                configured: vec![("WS".into(), configured.map(str::to_string))],
            })
        };
        let url = |ws: &str| format!("https://api.example.com/v1/Workspaces/{ws}/Workers/{WK}");
        assert!(matches!(
            outcome(&deprovision(Some(WS)), "DELETE", &url(WS), None, b""),
            Ok(Allowed::Write { .. })
        ));
        assert_eq!(
            outcome(&deprovision(Some(WS)), "DELETE", &url(WS2), None, b""),
            Err(Rule::NotTheConfiguredValue),
            "another workspace than the tenant's"
        );
        assert_eq!(
            outcome(&deprovision(None), "DELETE", &url(WS), None, b""),
            Err(Rule::NotTheConfiguredValue),
            "a tenant that configured none"
        );
        // A route without the placeholder is not concerned.
        assert!(matches!(
            outcome(
                &CallKind::Action(ActionCall {
                    configured: vec![("WS".into(), None)],
                    ..match act("reactivate", SUB, false) {
                        CallKind::Action(a) => a,
                        _ => unreachable!(),
                    }
                }),
                "POST",
                &account(SUB),
                FORM,
                b"Status=active"
            ),
            Ok(Allowed::Write { .. })
        ));
    }

    #[test]
    fn a_write_linked_through_an_answer_is_the_same_account_and_only_one() {
        let kind = act("deprovision", "alice", false);
        let mut targets = ActionTargets::new("alice");
        targets.observe(
            br#"{"users":[{"user_id":"FU1","username":"alice"},{"user_id":"FU2","username":"bob"}]}"#,
            example().identity_fields(),
            example().identity_links(),
            example().held_fields(),
        );
        let url = "https://api.example.com/v1/Users/Deprovision";
        let json = Some("application/json");
        assert_eq!(
            rule_with(&kind, &targets, "POST", url, json, br#"{"user_id":"FU1"}"#),
            Ok(Allowed::Write {
                target: "FU1".into(),
                media_type: Some("application/json")
            })
        );
        assert_eq!(
            rule_with(&kind, &targets, "POST", url, json, br#"{"user_id":"FU2"}"#),
            Err(Rule::WrongTarget)
        );
        assert_eq!(
            rule_with(
                &kind,
                &targets,
                "POST",
                url,
                json,
                br#"{"user_id":"FU1","force":true}"#
            ),
            Err(Rule::BodyFieldNotAllowed)
        );
    }

    #[test]
    fn every_rule_has_a_distinct_name() {
        let names: std::collections::HashSet<&str> = Rule::all().map(Rule::name).collect();
        assert_eq!(names.len(), RULE_NAMES.len());
        assert!(!names.contains("unnamed-rule"));
    }
}
