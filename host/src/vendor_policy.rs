//! The vendor policy a front hands the host: every route a connector for that vendor may ever
//! use, and for each write the actions allowed, where the request names the account it changes
//! and what its body may say. The host knows no vendor; this is data (the Twilio front builds
//! it in `cli/src/vendor.rs`). A plugin's declared routes *ask*; [`VendorPolicy::grant`] grants
//! those that stay within the policy and refuses the plugin otherwise (Zed's capability
//! granter: the manifest asks, the host's settings grant).

use crate::answer_hygiene::SecretFields;
pub use connector_routes::{IdShape, Method, Route, RouteSpec, Template, TemplateError};
use std::fmt;
use std::sync::Arc;

/// Where a write names the account it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetAt {
    /// The path segment of this placeholder (`AB` for `{AB}`, `user` for `{user}`).
    Path(String),
    /// This field of the body (dotted for nested JSON: `a.b`).
    BodyField(String),
}

/// How a write's body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEncoding {
    /// No body at all.
    Empty,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `application/json`, an object.
    Json,
}

impl BodyEncoding {
    /// The media type the request must declare.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Empty => "none",
            Self::Form => "application/x-www-form-urlencoded",
            Self::Json => "application/json",
        }
    }
}

/// The values a body field may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    /// One of these exact texts.
    OneOf(Vec<String>),
    /// The account the action is for (or an identity the upstream linked to it in this call).
    Target,
    /// Exactly this text field of the action's request (`username`, `email`, `full_name`).
    Request(String),
    /// The same set of texts as this list field of the request (`roles`), each once.
    RequestSet(String),
    /// A JSON value equal to this field of the request (`attributes`; `{}` when it has none).
    RequestValue(String),
    /// Exactly this field of an answer object of the call that names the write's target and
    /// is linked to the action's account: what the upstream holds for it (its own email or
    /// name, written back as it is).
    Held(String),
    /// A JSON value equal to this one once each string `"$key"` in it is replaced by the
    /// request's `key` (a constant when it names none): a nested body shape, exactly.
    Template(serde_json::Value),
    /// The `index`th part of the request's text field `key` split at `sep` (an entitlement
    /// that names a role and a scope).
    RequestPart {
        key: String,
        sep: String,
        index: usize,
    },
    /// The set of texts `field` holds in an answer object of the call that names the write's
    /// target (as [`Allowed::Held`]), with (`with`) or without the request's text field `key`,
    /// which must be one of `among`: the role set of a grant or a revoke of exactly one role.
    /// Never empty; each text once.
    HeldSet {
        field: String,
        key: String,
        among: Vec<String>,
        with: bool,
    },
}

impl Allowed {
    /// One of these texts.
    pub fn one_of(values: &[&str]) -> Self {
        Self::OneOf(values.iter().map(|v| v.to_string()).collect())
    }

    /// What a value must be, in words (for the permission screen and refusals).
    pub fn describe(&self) -> String {
        match self {
            Allowed::OneOf(v) => v.join(" | "),
            Allowed::Target => "the account acted on".into(),
            Allowed::Request(k) | Allowed::RequestValue(k) => format!("the request's {k}"),
            Allowed::RequestSet(k) => format!("exactly the request's {k}"),
            Allowed::Held(f) => format!("the account's own {f}, as the upstream holds it"),
            Allowed::Template(t) => format!("exactly {t} ($key: the request's key)"),
            Allowed::RequestPart { key, sep, index } => {
                format!("part {} of the request's {key} split at {sep:?}", index + 1)
            }
            Allowed::HeldSet {
                field,
                key,
                among,
                with,
            } => format!(
                "the account's own {field} {} the request's {key} (one of {})",
                if *with { "with" } else { "without" },
                among.join(" | ")
            ),
        }
    }
}

/// One field a body may carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRule {
    /// Field name; for JSON, a dotted path into nested objects (`worker.attributes`).
    pub name: String,
    pub allowed: Allowed,
    /// Whether the body must carry it.
    pub required: bool,
}

/// What one action may send on one write route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRule {
    pub action: String,
    pub target: TargetAt,
    pub encoding: BodyEncoding,
    /// Every field the body may carry; any other is refused.
    pub fields: Vec<FieldRule>,
}

impl WriteRule {
    /// A rule for `action` whose target is the path placeholder `name`, with no body.
    pub fn in_path(action: &str, placeholder: &str) -> Self {
        Self {
            action: action.into(),
            target: TargetAt::Path(placeholder.into()),
            encoding: BodyEncoding::Empty,
            fields: Vec::new(),
        }
    }

    /// A rule for `action` whose target is the body field `field` (a JSON body).
    pub fn in_body(action: &str, field: &str) -> Self {
        Self {
            action: action.into(),
            target: TargetAt::BodyField(field.into()),
            encoding: BodyEncoding::Json,
            fields: Vec::new(),
        }
    }

    /// The body is form-encoded.
    pub fn form(mut self) -> Self {
        self.encoding = BodyEncoding::Form;
        self
    }

    /// The body is a JSON object.
    pub fn json(mut self) -> Self {
        self.encoding = BodyEncoding::Json;
        self
    }

    /// The body must carry `name` with a value `allowed`.
    pub fn requires(mut self, name: &str, allowed: Allowed) -> Self {
        self.fields.push(FieldRule {
            name: name.into(),
            allowed,
            required: true,
        });
        self
    }

    /// The body may carry `name` with a value `allowed`.
    pub fn may(mut self, name: &str, allowed: Allowed) -> Self {
        self.fields.push(FieldRule {
            name: name.into(),
            allowed,
            required: false,
        });
        self
    }
}

impl fmt::Display for WriteRule {
    /// `suspend: writes the account in {AC}; form body: Status = suspended (required)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            TargetAt::Path(p) => write!(f, "{}: writes the account in {{{p}}}", self.action)?,
            TargetAt::BodyField(b) => {
                write!(f, "{}: writes the account named by {b}", self.action)?
            }
        }
        match self.encoding {
            BodyEncoding::Empty => f.write_str("; no body"),
            enc => {
                let fields: Vec<String> = self
                    .fields
                    .iter()
                    .map(|r| {
                        let what = r.allowed.describe();
                        let opt = if r.required { "" } else { " (optional)" };
                        format!("{} = {what}{opt}", r.name)
                    })
                    .collect();
                let kind = if enc == BodyEncoding::Form {
                    "form"
                } else {
                    "JSON"
                };
                write!(f, "; {kind} body: {}", fields.join(", "))
            }
        }
    }
}

/// One route of the vendor policy: a read, or a write with a rule per action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorRoute {
    /// Method, host and template; `actions` are those of `writes`.
    pub route: Route,
    pub writes: Vec<WriteRule>,
}

/// Why a vendor policy could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("vendor route {method} {host}{path}: {error}")]
    Template {
        method: Method,
        host: String,
        path: String,
        error: TemplateError,
    },
    #[error("vendor route {0}: a template made only of placeholders names no resource")]
    PlaceholdersOnly(String),
    #[error("vendor route {route}: the target placeholder {{{placeholder}}} is not in its path")]
    NoSuchPlaceholder { route: String, placeholder: String },
    #[error("vendor route {0}: a read carries no write rules, a write needs at least one")]
    WritesMismatch(String),
    #[error("vendor route {route}: action {action} has two rules")]
    DuplicateAction { route: String, action: String },
}

/// A route a plugin declared that the policy does not grant, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ungranted {
    pub app: String,
    /// The route as declared (`POST host/path (for a, b)`).
    pub route: String,
    pub why: UngrantedWhy,
}

/// Why a declared route is not granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UngrantedWhy {
    /// Its template does not parse.
    Unparsable(TemplateError),
    /// Its method is not one a route may name.
    UnknownMethod(String),
    /// No vendor route covers it (or its template matches more than the one that would).
    NotInPolicy,
    /// A vendor route covers the path, but not for these actions.
    ActionsNotAllowed(Vec<String>),
}

impl Ungranted {
    /// Why, in words.
    pub fn reason(&self) -> String {
        match &self.why {
            UngrantedWhy::Unparsable(e) => format!("does not parse: {e}"),
            UngrantedWhy::UnknownMethod(m) => format!("method {m} is not one a route may use"),
            UngrantedWhy::NotInPolicy => "not a route the vendor policy grants".into(),
            UngrantedWhy::ActionsNotAllowed(a) => {
                format!("the vendor policy does not grant it for {}", a.join(", "))
            }
        }
    }
}

impl fmt::Display for Ungranted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "app {}: {} — {}", self.app, self.route, self.reason())
    }
}

/// One declared route as an operator reviews it before approving a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteReview {
    pub app: String,
    /// As declared (`POST host/path (for a, b)`).
    pub route: String,
    pub granted: bool,
    /// Why not, when not granted.
    pub refusal: Option<String>,
    /// For granted writes: what each action may send (target and body).
    pub constraints: Vec<String>,
}

/// A route as a plugin declared it, in text (from any contract version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub method: String,
    pub host: String,
    pub path: String,
    pub actions: Vec<String>,
}

impl Declared {
    fn describe(&self) -> String {
        let mut s = format!("{} {}{}", self.method, self.host, self.path);
        if !self.actions.is_empty() {
            s.push_str(&format!(" (for {})", self.actions.join(", ")));
        }
        s
    }
}

/// A declared route the policy granted: requests must match `declared`; writes follow the
/// rules of the vendor route it lies within.
#[derive(Debug, Clone)]
pub struct GrantedRoute {
    pub declared: Route,
    pub vendor: Arc<VendorRoute>,
}

impl GrantedRoute {
    /// The rule for `action` on this route, if the route is granted for it.
    pub fn rule_for(&self, action: &str) -> Option<&WriteRule> {
        if !self.declared.actions.iter().any(|a| a == action) {
            return None;
        }
        self.vendor.writes.iter().find(|w| w.action == action)
    }
}

/// What a front gives the host to build its policy from.
#[derive(Debug, Clone)]
pub struct VendorPolicySpec {
    /// Hosts a plugin may ever reach: `.suffix`es or exact names.
    pub trusted_hosts: Vec<String>,
    /// The vendor's identifier shape (what `{AB}` in a template stands for).
    pub id_shape: IdShape,
    /// Every route a connector for this vendor may use.
    pub routes: Vec<(Method, String, String, Vec<WriteRule>)>,
    /// Path segments never reached, whatever a route says (compared decoded, case-insensitive,
    /// before any extension): a second lock on routes that handle credentials or content.
    pub forbidden_segments: Vec<String>,
    /// Fields of an answer's objects that name an account (`id`, `username`…): an object that
    /// names the action's target in one of them links its other values to that target.
    pub identity_fields: Vec<String>,
    /// One step further: an object whose `to` field equals a target object's `from` field is
    /// the same account (a worker's `friendly_name` and a user's `username`). Nothing else
    /// links, so two accounts that merely share a name or an email never do.
    pub identity_links: Vec<(String, String)>,
    /// Response headers that reach the plugin (lower case); every other is dropped.
    pub response_headers: Vec<String>,
    /// Answer fields whose values are the vendor's secrets, blanked wherever they appear
    /// (besides the generic names of `answer_hygiene::GENERIC_SECRET_FIELDS`).
    pub secret_fields: Vec<String>,
    /// The response header in which the upstream reports the account's requests in flight
    /// (a throttled one included), if it has one: each account's gate takes the count on a 429
    /// as the account's ceiling (`upstream_gate.rs`).
    pub concurrency_header: Option<String>,
    /// Where a new account's gate starts when nothing is remembered of the account, once one
    /// of its requests has been answered with a success (before that, at most
    /// `connector_limit::INITIAL`): the vendor's usual per-account limit on concurrent
    /// requests, if it has one (none: `connector_limit::INITIAL`). An account whose limit is
    /// lower has the excess of the first burst refused, once, and the gate then holds to what
    /// the refusals taught it.
    pub first_in_flight: Option<usize>,
    /// Path placeholders that stand for something a tenant configures, each with the plugin
    /// option that holds the tenant's value (a vendor instance, an organization): a write whose
    /// path holds another value, or one the tenant configured none of, is refused.
    pub configured_placeholders: Vec<(String, String)>,
}

/// The policy the host enforces: built once from a [`VendorPolicySpec`], checked, then shared.
/// The default trusts no host and grants no route.
#[derive(Debug, Clone)]
pub struct VendorPolicy {
    trusted_hosts: Vec<String>,
    id_shape: IdShape,
    routes: Vec<Arc<VendorRoute>>,
    forbidden_segments: Vec<String>,
    identity_fields: Vec<String>,
    /// Fields of answer objects whose values a write may have to repeat (every field an
    /// [`Allowed::Held`] or [`Allowed::HeldSet`] names).
    held_fields: Vec<String>,
    identity_links: Vec<(String, String)>,
    response_headers: Vec<String>,
    secret_fields: SecretFields,
    concurrency_header: Option<String>,
    first_in_flight: usize,
    configured_placeholders: Vec<(String, String)>,
}

impl Default for VendorPolicy {
    fn default() -> Self {
        Self {
            trusted_hosts: Vec::new(),
            id_shape: IdShape {
                prefix_len: 0,
                hex_digits: 0,
            },
            routes: Vec::new(),
            forbidden_segments: Vec::new(),
            identity_fields: Vec::new(),
            held_fields: Vec::new(),
            identity_links: Vec::new(),
            response_headers: Vec::new(),
            secret_fields: SecretFields::default(),
            concurrency_header: None,
            first_in_flight: connector_limit::INITIAL,
            configured_placeholders: Vec::new(),
        }
    }
}

/// Response headers any plugin gets, whatever the vendor says: what it needs to read a body.
const ESSENTIAL_RESPONSE_HEADERS: &[&str] = &["content-type", "content-length"];

impl VendorPolicy {
    /// Check and build a policy.
    pub fn new(spec: VendorPolicySpec) -> Result<Self, PolicyError> {
        let mut routes = Vec::new();
        for (method, host, path, writes) in spec.routes {
            let actions: Vec<&str> = writes.iter().map(|w| w.action.as_str()).collect();
            let route =
                Route::parse(method, &host, &path, &actions, spec.id_shape).map_err(|error| {
                    PolicyError::Template {
                        method,
                        host: host.clone(),
                        path: path.clone(),
                        error,
                    }
                })?;
            let name = route.to_string();
            if route.template.is_placeholders_only() {
                return Err(PolicyError::PlaceholdersOnly(name));
            }
            if method.is_read() != writes.is_empty() {
                return Err(PolicyError::WritesMismatch(name));
            }
            for (i, w) in writes.iter().enumerate() {
                if writes[..i].iter().any(|o| o.action == w.action) {
                    return Err(PolicyError::DuplicateAction {
                        route: name,
                        action: w.action.clone(),
                    });
                }
                if let TargetAt::Path(p) = &w.target
                    && !route
                        .template
                        .segments()
                        .iter()
                        .any(|s| s.placeholder() == Some(p.as_str()))
                {
                    return Err(PolicyError::NoSuchPlaceholder {
                        route: name,
                        placeholder: p.clone(),
                    });
                }
            }
            routes.push(Arc::new(VendorRoute { route, writes }));
        }
        let lower = |v: Vec<String>| v.into_iter().map(|s| s.to_ascii_lowercase()).collect();
        let mut held_fields: Vec<String> = Vec::new();
        for r in &routes {
            for w in &r.writes {
                for f in &w.fields {
                    if let Allowed::Held(name) | Allowed::HeldSet { field: name, .. } = &f.allowed
                        && !held_fields.contains(name)
                    {
                        held_fields.push(name.clone());
                    }
                }
            }
        }
        Ok(Self {
            held_fields,
            trusted_hosts: lower(spec.trusted_hosts),
            id_shape: spec.id_shape,
            routes,
            forbidden_segments: lower(spec.forbidden_segments),
            identity_fields: spec.identity_fields,
            identity_links: spec.identity_links,
            response_headers: lower(spec.response_headers),
            secret_fields: SecretFields::new(&spec.secret_fields),
            concurrency_header: spec
                .concurrency_header
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty()),
            first_in_flight: spec.first_in_flight.map_or(connector_limit::INITIAL, |n| {
                n.clamp(1, crate::upstream_gate::MAX_LIMIT)
            }),
            configured_placeholders: spec.configured_placeholders,
        })
    }

    /// The same policy, trusting only the entries of `operator` that lie within it (exact hosts
    /// or `.suffix`es under a trusted entry): an operator can narrow it, never widen it.
    pub fn narrowed(mut self, operator: &[String]) -> Self {
        let kept: Vec<String> = operator
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .filter(|h| is_trusted(h.trim_start_matches('.'), &self.trusted_hosts))
            .collect();
        self.trusted_hosts = kept;
        self
    }

    /// Hosts (or `.suffix`es) a plugin may reach.
    pub fn trusted_hosts(&self) -> &[String] {
        &self.trusted_hosts
    }

    /// The vendor's identifier shape.
    pub fn id_shape(&self) -> IdShape {
        self.id_shape
    }

    /// Every route of the policy.
    pub fn routes(&self) -> &[Arc<VendorRoute>] {
        &self.routes
    }

    /// Segments never reached.
    pub fn forbidden_segments(&self) -> &[String] {
        &self.forbidden_segments
    }

    /// Fields that name an account in an answer.
    pub fn identity_fields(&self) -> &[String] {
        &self.identity_fields
    }

    /// Fields of answer objects a write may have to repeat (see [`Allowed::Held`]).
    pub fn held_fields(&self) -> &[String] {
        &self.held_fields
    }

    /// Field pairs that link a target's object to another object of the same account.
    pub fn identity_links(&self) -> &[(String, String)] {
        &self.identity_links
    }

    /// Path placeholders a write must fill with the tenant's configured value, each with the
    /// option that holds it.
    pub fn configured_placeholders(&self) -> &[(String, String)] {
        &self.configured_placeholders
    }

    /// Answer fields blanked wherever they appear.
    pub fn secret_fields(&self) -> &SecretFields {
        &self.secret_fields
    }

    /// The header in which the upstream reports the account's requests in flight (lower case).
    pub fn concurrency_header(&self) -> Option<&str> {
        self.concurrency_header.as_deref()
    }

    /// Where a new account's gate starts when nothing is remembered of it.
    pub fn first_in_flight(&self) -> usize {
        self.first_in_flight
    }

    /// Whether a response header reaches the plugin.
    pub fn passes_response_header(&self, name: &str) -> bool {
        ESSENTIAL_RESPONSE_HEADERS.contains(&name)
            || self.response_headers.iter().any(|h| h == name)
    }

    /// Grant `declared` routes of `app`: each must lie within a vendor route (same method and
    /// host, a template that matches no more, actions the vendor route allows). All granted, or
    /// the list of those that are not.
    pub fn grant(
        &self,
        app: &str,
        declared: &[Declared],
    ) -> Result<Vec<GrantedRoute>, Vec<Ungranted>> {
        let mut granted = Vec::new();
        let mut refused = Vec::new();
        for d in declared {
            match self.grant_one(d) {
                Ok(g) => granted.push(g),
                Err(why) => refused.push(Ungranted {
                    app: app.into(),
                    route: d.describe(),
                    why,
                }),
            }
        }
        if refused.is_empty() {
            Ok(granted)
        } else {
            Err(refused)
        }
    }

    fn grant_one(&self, d: &Declared) -> Result<GrantedRoute, UngrantedWhy> {
        let method = Method::parse(&d.method.to_ascii_uppercase())
            .ok_or_else(|| UngrantedWhy::UnknownMethod(d.method.clone()))?;
        let actions: Vec<&str> = d.actions.iter().map(String::as_str).collect();
        let route = Route::parse(method, &d.host, &d.path, &actions, self.id_shape)
            .map_err(UngrantedWhy::Unparsable)?;
        let mut covering = self.routes.iter().filter(|v| {
            v.route.method == route.method
                && v.route.host == route.host
                && route.template.within(&v.route.template)
        });
        let mut missing = Vec::new();
        for v in covering.by_ref() {
            missing = route
                .actions
                .iter()
                .filter(|a| !v.route.actions.contains(a))
                .cloned()
                .collect();
            if missing.is_empty() {
                return Ok(GrantedRoute {
                    declared: route,
                    vendor: v.clone(),
                });
            }
        }
        if missing.is_empty() {
            Err(UngrantedWhy::NotInPolicy)
        } else {
            Err(UngrantedWhy::ActionsNotAllowed(missing))
        }
    }

    /// Each declared route of `app` as an operator reviews it: granted or not, why not, and
    /// the constraints the host will hold it to.
    pub fn review(&self, app: &str, declared: &[Declared]) -> Vec<RouteReview> {
        declared
            .iter()
            .map(|d| match self.grant_one(d) {
                Ok(g) => RouteReview {
                    app: app.into(),
                    route: d.describe(),
                    granted: true,
                    refusal: None,
                    constraints: g
                        .vendor
                        .writes
                        .iter()
                        .filter(|w| g.declared.actions.contains(&w.action))
                        .map(|w| w.to_string())
                        .collect(),
                },
                Err(why) => {
                    let refusal = Ungranted {
                        app: app.into(),
                        route: d.describe(),
                        why,
                    };
                    RouteReview {
                        app: app.into(),
                        route: d.describe(),
                        granted: false,
                        refusal: Some(refusal.reason()),
                        constraints: Vec::new(),
                    }
                }
            })
            .collect()
    }

    /// What a plugin that declares no routes (contract 0.1.0) gets: the policy's reads on its
    /// declared hosts, and nothing else.
    pub fn reads_on(&self, hosts: &[String]) -> Vec<GrantedRoute> {
        self.routes
            .iter()
            .filter(|v| {
                v.route.method.is_read()
                    && hosts.iter().any(|h| h.eq_ignore_ascii_case(&v.route.host))
            })
            .map(|v| GrantedRoute {
                declared: v.route.clone(),
                vendor: v.clone(),
            })
            .collect()
    }
}

/// Whether `host` is trusted: under one of the `trusted` suffixes (those starting with a dot:
/// `.example.com` trusts `api.example.com` but not `evilexample.com`) or equal to one of the
/// exact host names.
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const IDS: IdShape = IdShape {
        prefix_len: 2,
        hex_digits: 32,
    };

    /// A small policy in the shape a front supplies (hosts and routes of an example vendor).
    pub(crate) fn example() -> VendorPolicy {
        let h = "api.example.com".to_string();
        let read = |p: &str| (Method::Get, h.clone(), p.to_string(), Vec::new());
        VendorPolicy::new(VendorPolicySpec {
            trusted_hosts: vec![".example.com".into()],
            id_shape: IDS,
            routes: vec![
                read("/v1/Accounts/{AC}.json"),
                read("/v1/Users/{user}"),
                read("/v1/Workspaces"),
                (
                    Method::Post,
                    h.clone(),
                    "/v1/Accounts/{AC}.json".into(),
                    vec![
                        WriteRule::in_path("suspend", "AC")
                            .form()
                            .requires("Status", Allowed::one_of(&["suspended"])),
                        WriteRule::in_path("reactivate", "AC")
                            .form()
                            .requires("Status", Allowed::one_of(&["active"])),
                    ],
                ),
                (
                    Method::Delete,
                    h.clone(),
                    "/v1/Workspaces/{WS}/Workers/{WK}".into(),
                    vec![WriteRule::in_path("deprovision", "WK")],
                ),
                (
                    Method::Post,
                    h.clone(),
                    "/v1/Users/Provision".into(),
                    vec![
                        WriteRule::in_body("provision", "username")
                            .requires("username", Allowed::Request("username".into()))
                            .requires("roles", Allowed::RequestSet("roles".into()))
                            .may(
                                "worker.attributes",
                                Allowed::RequestValue("attributes".into()),
                            ),
                    ],
                ),
                (
                    Method::Post,
                    h,
                    "/v1/Users/Deprovision".into(),
                    vec![
                        WriteRule::in_body("deprovision", "user_id")
                            .requires("user_id", Allowed::Target),
                    ],
                ),
            ],
            forbidden_segments: vec!["keys".into(), "secrets".into()],
            identity_fields: vec![
                "sid".into(),
                "username".into(),
                "user_id".into(),
                "worker_sid".into(),
            ],
            identity_links: vec![],
            response_headers: vec!["retry-after".into(), "x-request-id".into()],
            secret_fields: vec!["auth_token".into()],
            concurrency_header: Some(" X-Concurrent-Requests ".into()),
            first_in_flight: Some(60),
            configured_placeholders: vec![],
        })
        .unwrap()
    }

    /// A spec that trusts, grants and names nothing.
    fn bare_spec() -> VendorPolicySpec {
        VendorPolicySpec {
            trusted_hosts: vec![],
            id_shape: IDS,
            routes: vec![],
            forbidden_segments: vec![],
            identity_fields: vec![],
            identity_links: vec![],
            response_headers: vec![],
            secret_fields: vec![],
            concurrency_header: None,
            first_in_flight: None,
            configured_placeholders: vec![],
        }
    }

    /// A route declared on the example vendor's host.
    pub(crate) fn declared(method: &str, path: &str, actions: &[&str]) -> Declared {
        Declared {
            method: method.into(),
            host: "api.example.com".into(),
            path: path.into(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn a_new_accounts_gate_starts_where_the_vendor_says_within_the_gates_bounds() {
        assert_eq!(example().first_in_flight(), 60);
        assert_eq!(
            VendorPolicy::default().first_in_flight(),
            connector_limit::INITIAL
        );
        let with = |n| VendorPolicySpec {
            first_in_flight: Some(n),
            ..bare_spec()
        };
        let max = crate::upstream_gate::MAX_LIMIT;
        for (asked, got) in [(0, 1), (1, 1), (100, 100), (usize::MAX, max)] {
            let p = VendorPolicy::new(with(asked)).unwrap();
            assert_eq!(p.first_in_flight(), got, "asked {asked}");
        }
    }

    #[test]
    fn the_concurrency_header_is_kept_in_lower_case() {
        assert_eq!(
            example().concurrency_header(),
            Some("x-concurrent-requests")
        );
        assert_eq!(VendorPolicy::default().concurrency_header(), None);
    }

    #[test]
    fn declared_routes_within_the_policy_are_granted_and_greedy_ones_listed() {
        let p = example();
        let ok = [
            declared("GET", "/v1/Accounts/{AC}.json", &[]),
            declared("GET", "/v1/Users/{US}", &[]),
            declared("POST", "/v1/Accounts/{AC}.json", &["suspend"]),
        ];
        assert_eq!(p.grant("app", &ok).unwrap().len(), 3);
        let greedy = [
            declared("GET", "/{a}/{b}/{c}", &[]),
            declared("GET", "/v1/Users/{user}/Recordings", &[]),
            declared("DELETE", "/v1/Workspaces/{WS}", &["deprovision"]),
            declared("POST", "/v1/Accounts/{AC}.json", &["deprovision"]),
            declared("POST", "/v1/Accounts/{x}.json", &["suspend"]),
            declared("GET", "/v1/Keys/{a", &[]),
            declared("TRACE", "/v1/Workspaces", &[]),
        ];
        let refused = p.grant("app", &greedy).unwrap_err();
        assert_eq!(refused.len(), greedy.len(), "{refused:#?}");
        assert!(
            matches!(refused[3].why, UngrantedWhy::ActionsNotAllowed(ref a) if a == &["deprovision"])
        );
        assert!(matches!(refused[5].why, UngrantedWhy::Unparsable(_)));
        assert!(matches!(refused[6].why, UngrantedWhy::UnknownMethod(_)));
        let text = refused[0].to_string();
        assert!(text.contains("GET api.example.com/{a}/{b}/{c}"), "{text}");
        // One bad route refuses them all, and the good ones are not the answer.
        let mixed = [ok[0].clone(), greedy[0].clone()];
        assert_eq!(p.grant("app", &mixed).unwrap_err().len(), 1);
    }

    #[test]
    fn policies_that_name_no_resource_or_miss_their_target_do_not_build() {
        let spec = |path: &str, writes: Vec<WriteRule>| VendorPolicySpec {
            trusted_hosts: vec![],
            id_shape: IDS,
            routes: vec![(
                if writes.is_empty() {
                    Method::Get
                } else {
                    Method::Post
                },
                "h.example".into(),
                path.into(),
                writes,
            )],
            ..bare_spec()
        };
        assert!(matches!(
            VendorPolicy::new(spec("/{a}/{b}", vec![])),
            Err(PolicyError::PlaceholdersOnly(_))
        ));
        assert!(matches!(
            VendorPolicy::new(spec("/v1/{AC}", vec![WriteRule::in_path("suspend", "WK")])),
            Err(PolicyError::NoSuchPlaceholder { .. })
        ));
        assert!(
            VendorPolicy::new(spec("/v1/{AC}", vec![WriteRule::in_path("suspend", "AC")])).is_ok()
        );
    }

    #[test]
    fn operators_narrow_but_never_widen() {
        let p = example().narrowed(&[
            "api.example.com".into(),
            "evil.test".into(),
            ".evil.test".into(),
            "example.com.evil.test".into(),
        ]);
        assert_eq!(p.trusted_hosts(), ["api.example.com".to_string()]);
        assert!(
            example()
                .narrowed(&["evil.test".into()])
                .trusted_hosts()
                .is_empty()
        );
    }

    #[test]
    fn legacy_plugins_get_the_reads_on_their_hosts() {
        let p = example();
        let reads = p.reads_on(&["API.example.com".into()]);
        assert_eq!(reads.len(), 3);
        assert!(reads.iter().all(|g| g.declared.method == Method::Get));
        assert!(p.reads_on(&["other.example.com".into()]).is_empty());
    }
}
