//! Routes as a connector plugin declares them and as a host grants them: a method, a host and
//! a path template. The same type is used by the plugin (to declare, and by its native test
//! transport to refuse what it did not declare) and by the host (to parse what a plugin asks
//! for, to hold its vendor policy, and to decide each request). No wasm, no network, no vendor:
//! the shape of an identifier placeholder (`{XY}`) is an [`IdShape`] the caller supplies.

use std::fmt;

/// The methods a route may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    /// The method named `text` (upper case, as on the wire), if it is one a route may name.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Get, Self::Post, Self::Put, Self::Patch, Self::Delete]
            .into_iter()
            .find(|m| m.as_str() == text)
    }

    /// Whether the method only reads.
    pub fn is_read(self) -> bool {
        self == Self::Get
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an identifier placeholder stands for: `prefix_len` upper-case letters naming the kind
/// (the placeholder's own name, e.g. `{AB}`), then exactly `hex_digits` hexadecimal digits.
/// A placeholder whose name is not `prefix_len` upper-case letters matches any one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdShape {
    pub prefix_len: usize,
    pub hex_digits: usize,
}

impl IdShape {
    /// Whether `name` names an identifier kind under this shape.
    fn names_kind(&self, name: &str) -> bool {
        self.prefix_len > 0
            && name.len() == self.prefix_len
            && name.bytes().all(|b| b.is_ascii_uppercase())
    }

    /// Whether `text` is an identifier of kind `prefix` (case-sensitive prefix).
    pub fn is_id(&self, text: &str, prefix: &str) -> bool {
        text.len() == prefix.len() + self.hex_digits
            && text.starts_with(prefix)
            && text[prefix.len()..].bytes().all(|b| b.is_ascii_hexdigit())
    }
}

/// Why a template or route does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// The path does not start with `/`.
    NotAbsolute,
    /// A segment is empty (`//`, or a trailing `/`).
    EmptySegment,
    /// A brace that does not open a placeholder at the start of a segment and close it once.
    MisplacedBrace(String),
    /// A placeholder with no name.
    UnnamedPlaceholder(String),
    /// A segment that is `.` or `..`.
    DotSegment,
    /// A host that is empty or holds anything but a host name.
    BadHost(String),
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAbsolute => f.write_str("the path must start with /"),
            Self::EmptySegment => f.write_str("the path has an empty segment"),
            Self::MisplacedBrace(s) => write!(
                f,
                "segment {s:?}: a placeholder opens the segment and closes once"
            ),
            Self::UnnamedPlaceholder(s) => write!(f, "segment {s:?}: a placeholder needs a name"),
            Self::DotSegment => f.write_str("the path has a `.` or `..` segment"),
            Self::BadHost(h) => write!(f, "{h:?} is not a host name"),
        }
    }
}

impl std::error::Error for TemplateError {}

/// One segment of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Exactly this text.
    Literal(String),
    /// An identifier of kind `prefix` (see [`IdShape`]), then `suffix` (e.g. `{AB}.json`).
    Id { prefix: String, suffix: String },
    /// Any one non-empty segment, then `suffix`; `name` is the placeholder's name.
    Any { name: String, suffix: String },
}

impl Segment {
    fn parse(text: &str, ids: IdShape) -> Result<Self, TemplateError> {
        if text.is_empty() {
            return Err(TemplateError::EmptySegment);
        }
        if text == "." || text == ".." {
            return Err(TemplateError::DotSegment);
        }
        let Some(rest) = text.strip_prefix('{') else {
            if text.contains(['{', '}']) {
                return Err(TemplateError::MisplacedBrace(text.into()));
            }
            return Ok(Self::Literal(text.into()));
        };
        let (name, suffix) = rest
            .split_once('}')
            .ok_or_else(|| TemplateError::MisplacedBrace(text.into()))?;
        if suffix.contains(['{', '}']) || name.contains('{') {
            return Err(TemplateError::MisplacedBrace(text.into()));
        }
        if name.is_empty() {
            return Err(TemplateError::UnnamedPlaceholder(text.into()));
        }
        let suffix = suffix.to_string();
        Ok(if ids.names_kind(name) {
            Self::Id {
                prefix: name.into(),
                suffix,
            }
        } else {
            Self::Any {
                name: name.into(),
                suffix,
            }
        })
    }

    /// The placeholder's name (`AB` for `{AB}`), or `None` for a literal.
    pub fn placeholder(&self) -> Option<&str> {
        match self {
            Self::Literal(_) => None,
            Self::Id { prefix, .. } => Some(prefix),
            Self::Any { name, .. } => Some(name),
        }
    }

    /// The value this segment of a path gives its placeholder (the text before the suffix).
    fn capture<'p>(&self, segment: &'p str, ids: IdShape) -> Option<&'p str> {
        match self {
            Self::Literal(l) => (l == segment).then_some(segment),
            Self::Id { prefix, suffix } => segment
                .strip_suffix(suffix.as_str())
                .filter(|s| ids.is_id(s, prefix)),
            Self::Any { suffix, .. } => segment
                .strip_suffix(suffix.as_str())
                .filter(|s| !s.is_empty()),
        }
    }

    /// Whether every segment this one matches is also matched by `wider`.
    fn within(&self, wider: &Segment, ids: IdShape) -> bool {
        match (self, wider) {
            (_, Self::Literal(w)) => matches!(self, Self::Literal(l) if l == w),
            (Self::Literal(l), w) => w.capture(l, ids).is_some(),
            (
                Self::Id { prefix, suffix },
                Self::Id {
                    prefix: wp,
                    suffix: ws,
                },
            ) => prefix == wp && suffix == ws,
            // An identifier, then a suffix, is one non-empty text ending in the wider suffix.
            (Self::Id { suffix, .. }, Self::Any { suffix: ws, .. }) => {
                suffix.ends_with(ws.as_str())
            }
            (Self::Any { .. }, Self::Id { .. }) => false,
            // Any text then `suffix` is any text then `ws` only when `suffix` ends in `ws`.
            (Self::Any { suffix, .. }, Self::Any { suffix: ws, .. }) => {
                suffix.ends_with(ws.as_str())
            }
        }
    }
}

/// A path template: `/` then segments, each a literal, `{XY}` (an identifier of kind `XY`) or
/// `{name}` (any one non-empty segment), a placeholder optionally followed by a literal suffix
/// (`{XY}.json`). The query string is not part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    text: String,
    segments: Vec<Segment>,
    ids: IdShape,
}

impl Template {
    /// Parse `text` with identifiers of shape `ids`.
    pub fn parse(text: &str, ids: IdShape) -> Result<Self, TemplateError> {
        let rest = text.strip_prefix('/').ok_or(TemplateError::NotAbsolute)?;
        let segments = rest
            .split('/')
            .map(|s| Segment::parse(s, ids))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            text: text.into(),
            segments,
            ids,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Its segments.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The values a path (without its query) gives each segment, or `None` if it does not match.
    pub fn captures<'p>(&self, path: &'p str) -> Option<Vec<&'p str>> {
        let rest = path.strip_prefix('/')?;
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() != self.segments.len() {
            return None;
        }
        self.segments
            .iter()
            .zip(parts)
            .map(|(s, p)| s.capture(p, self.ids))
            .collect()
    }

    /// Whether a path (without its query) matches.
    pub fn matches(&self, path: &str) -> bool {
        self.captures(path).is_some()
    }

    /// The value a matching path gives the placeholder `name`.
    pub fn capture<'p>(&self, path: &'p str, name: &str) -> Option<&'p str> {
        let index = self
            .segments
            .iter()
            .position(|s| s.placeholder() == Some(name))?;
        self.captures(path).map(|c| c[index])
    }

    /// Whether every path this template matches is also matched by `wider`.
    pub fn within(&self, wider: &Template) -> bool {
        self.segments.len() == wider.segments.len()
            && self
                .segments
                .iter()
                .zip(&wider.segments)
                .all(|(s, w)| s.within(w, self.ids))
    }

    /// Whether the template has no literal segment at all (`/{a}/{b}`): it names no resource.
    pub fn is_placeholders_only(&self) -> bool {
        self.segments
            .iter()
            .all(|s| !matches!(s, Segment::Literal(_)))
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A route as written in a declaration: static text a plugin can keep in a `const`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec<'a> {
    pub method: Method,
    pub host: &'a str,
    pub path: &'a str,
    /// For writes: the actions that may use the route; reads leave it empty.
    pub actions: &'a [&'a str],
}

impl RouteSpec<'static> {
    /// A read.
    pub const fn get(host: &'static str, path: &'static str) -> Self {
        Self {
            method: Method::Get,
            host,
            path,
            actions: &[],
        }
    }

    /// A write used by `actions`.
    pub const fn write(
        method: Method,
        host: &'static str,
        path: &'static str,
        actions: &'static [&'static str],
    ) -> Self {
        Self {
            method,
            host,
            path,
            actions,
        }
    }
}

/// A parsed route: method, host (lower case) and template, and for writes the actions that may
/// use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    pub host: String,
    pub template: Template,
    pub actions: Vec<String>,
}

impl Route {
    /// Parse a route from its parts.
    pub fn parse(
        method: Method,
        host: &str,
        path: &str,
        actions: &[&str],
        ids: IdShape,
    ) -> Result<Self, TemplateError> {
        let host = host.to_ascii_lowercase();
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !host_ok {
            return Err(TemplateError::BadHost(host));
        }
        Ok(Self {
            method,
            host,
            template: Template::parse(path, ids)?,
            actions: actions.iter().map(|a| a.to_string()).collect(),
        })
    }

    /// Parse a declaration.
    pub fn from_spec(spec: &RouteSpec<'_>, ids: IdShape) -> Result<Self, TemplateError> {
        Self::parse(spec.method, spec.host, spec.path, spec.actions, ids)
    }

    /// Whether a request (method, host, path without query) is one this route names.
    pub fn matches(&self, method: Method, host: &str, path: &str) -> bool {
        self.method == method && self.host.eq_ignore_ascii_case(host) && self.template.matches(path)
    }

    /// Whether every request this route names is also named by `wider` (same method and host,
    /// a template within it), and its actions are among `wider`'s.
    pub fn within(&self, wider: &Route) -> bool {
        self.method == wider.method
            && self.host == wider.host
            && self.template.within(&wider.template)
            && self.actions.iter().all(|a| wider.actions.contains(a))
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}{}", self.method, self.host, self.template)?;
        if !self.actions.is_empty() {
            write!(f, " (for {})", self.actions.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: IdShape = IdShape {
        prefix_len: 2,
        hex_digits: 32,
    };
    const AC1: &str = "AC00000000000000000000000000000001";

    fn t(text: &str) -> Template {
        Template::parse(text, IDS).unwrap()
    }

    #[test]
    fn templates_parse_or_say_why_not() {
        let table: &[(&str, Result<(), TemplateError>)] = &[
            ("/2010-04-01/Accounts/{AC}.json", Ok(())),
            ("/v1/Users/{user}", Ok(())),
            ("/v1/Workspaces", Ok(())),
            ("no-slash", Err(TemplateError::NotAbsolute)),
            ("/a//b", Err(TemplateError::EmptySegment)),
            ("/a/", Err(TemplateError::EmptySegment)),
            ("/a/{b", Err(TemplateError::MisplacedBrace("{b".into()))),
            (
                "/a/{b}{c}",
                Err(TemplateError::MisplacedBrace("{b}{c}".into())),
            ),
            ("/a/x{b}", Err(TemplateError::MisplacedBrace("x{b}".into()))),
            ("/a/b}", Err(TemplateError::MisplacedBrace("b}".into()))),
            ("/a/{}", Err(TemplateError::UnnamedPlaceholder("{}".into()))),
            ("/a/../b", Err(TemplateError::DotSegment)),
        ];
        for (text, want) in table {
            assert_eq!(Template::parse(text, IDS).map(|_| ()), *want, "{text}");
        }
    }

    #[test]
    fn paths_match_segment_by_segment() {
        let table: &[(&str, &str, bool)] = &[
            (
                "/2010-04-01/Accounts/{AC}.json",
                "/2010-04-01/Accounts/AC00000000000000000000000000000001.json",
                true,
            ),
            // Wrong prefix, short id, non-hex, no suffix, an extra segment.
            (
                "/2010-04-01/Accounts/{AC}.json",
                "/2010-04-01/Accounts/PN00000000000000000000000000000001.json",
                false,
            ),
            (
                "/2010-04-01/Accounts/{AC}.json",
                "/2010-04-01/Accounts/AC0000000000000000000000000000001.json",
                false,
            ),
            (
                "/2010-04-01/Accounts/{AC}.json",
                "/2010-04-01/Accounts/AC0000000000000000000000000000000g.json",
                false,
            ),
            (
                "/2010-04-01/Accounts/{AC}.json",
                "/2010-04-01/Accounts/AC00000000000000000000000000000001",
                false,
            ),
            (
                "/2010-04-01/Accounts/{AC}.json",
                "/2010-04-01/Accounts/AC00000000000000000000000000000001/Calls.json",
                false,
            ),
            ("/v1/Users/{user}", "/v1/Users/alice%40example.com", true),
            ("/v1/Users/{user}", "/v1/Users/", false),
            ("/v1/Users/{user}", "/v1/Users", false),
            ("/v1/Workspaces", "/v1/Workspaces", true),
            ("/v1/Workspaces", "/v1/workspaces", false),
            ("/v1/Workspaces", "v1/Workspaces", false),
        ];
        for (template, path, want) in table {
            assert_eq!(t(template).matches(path), *want, "{template} vs {path}");
        }
        assert_eq!(
            t("/2010-04-01/Accounts/{AC}.json")
                .capture(&format!("/2010-04-01/Accounts/{AC1}.json"), "AC"),
            Some(AC1)
        );
        assert_eq!(
            t("/v1/Users/{user}").capture("/v1/Users/bob", "user"),
            Some("bob")
        );
    }

    #[test]
    fn a_template_is_within_another_only_when_it_matches_no_more() {
        let table: &[(&str, &str, bool)] = &[
            ("/v1/Users/{user}", "/v1/Users/{user}", true),
            ("/v1/Users/{US}", "/v1/Users/{user}", true),
            ("/v1/Users/bob", "/v1/Users/{user}", true),
            ("/v1/Users/{user}", "/v1/Users/{US}", false),
            ("/v1/Users/{user}", "/v1/Users/bob", false),
            (
                "/2010-04-01/Accounts/{AC}.json",
                "/2010-04-01/Accounts/{AC}.json",
                true,
            ),
            (
                "/2010-04-01/Accounts/{PN}.json",
                "/2010-04-01/Accounts/{AC}.json",
                false,
            ),
            (
                "/2010-04-01/Accounts/{x}.json",
                "/2010-04-01/Accounts/{AC}.json",
                false,
            ),
            // Placeholders everywhere match every path of that length: within nothing narrower.
            (
                "/{a}/{b}/{c}/{d}",
                "/2010-04-01/Accounts/{AC}/Calls.json",
                false,
            ),
            ("/{a}/{b}", "/v1/Workspaces", false),
            ("/v1/Workspaces/{WS}", "/v1/Workspaces", false),
            ("/{a}.json", "/{a}", true),
            ("/{a}", "/{a}.json", false),
            ("/{AC}.json", "/{a}", true),
            ("/{AC}", "/{a}.json", false),
        ];
        for (narrow, wide, want) in table {
            assert_eq!(t(narrow).within(&t(wide)), *want, "{narrow} within {wide}");
        }
        assert!(t("/{a}/{b}/{c}/{d}").is_placeholders_only());
        assert!(!t("/v1/{a}").is_placeholders_only());
    }

    #[test]
    fn routes_compare_method_host_template_and_actions() {
        let r = |m, h: &str, p: &str, a: &[&str]| Route::parse(m, h, p, a, IDS).unwrap();
        let granted = r(
            Method::Post,
            "api.example.com",
            "/v1/Users/{user}",
            &["suspend", "reactivate"],
        );
        assert!(
            r(
                Method::Post,
                "API.example.com",
                "/v1/Users/{user}",
                &["suspend"]
            )
            .within(&granted)
        );
        assert!(
            !r(
                Method::Post,
                "api.example.com",
                "/v1/Users/{user}",
                &["deprovision"]
            )
            .within(&granted)
        );
        assert!(
            !r(
                Method::Delete,
                "api.example.com",
                "/v1/Users/{user}",
                &["suspend"]
            )
            .within(&granted)
        );
        assert!(
            !r(
                Method::Post,
                "other.example.com",
                "/v1/Users/{user}",
                &["suspend"]
            )
            .within(&granted)
        );
        assert!(granted.matches(Method::Post, "api.example.com", "/v1/Users/bob"));
        assert!(!granted.matches(Method::Get, "api.example.com", "/v1/Users/bob"));
        for bad in ["", "a/b", "a:443", "user@a", "a b"] {
            assert!(
                Route::parse(Method::Get, bad, "/x", &[], IDS).is_err(),
                "{bad:?}"
            );
        }
        assert_eq!(
            granted.to_string(),
            "POST api.example.com/v1/Users/{user} (for suspend, reactivate)"
        );
        assert_eq!(Method::parse("PATCH"), Some(Method::Patch));
        assert_eq!(Method::parse("TRACE"), None);
    }
}
