//! SCIM filters (RFC 7644 §3.4.2.2): parsing, a canonical printed form, and evaluation against a
//! resource in its JSON form.
//!
//! # Grammar
//!
//! ```text
//! filter     = or
//! or         = and *("or" and)                    ; left-associative
//! and        = atom *("and" atom)                 ; left-associative
//! atom       = "(" filter ")" / "not" "(" filter ")" / attrExp / valuePath
//! valuePath  = attrPath "[" valFilter "]"         ; valFilter: a filter without valuePath
//! attrExp    = attrPath "pr" / attrPath compareOp compValue
//! compareOp  = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "ge" / "lt" / "le"
//! compValue  = "false" / "null" / "true" / JSON number / JSON string
//! attrPath   = [URN ":"] ATTRNAME ["." ATTRNAME]
//! ATTRNAME   = ALPHA *("-" / "_" / DIGIT / ALPHA) / "$ref"
//! ```
//!
//! Precedence is `not` > `and` > `or`. Operators, the logical keywords, `true`/`false`/`null`
//! and attribute names are case-insensitive. The URN of an attribute path is everything up to
//! the last `:`. `not` is always a keyword and must be followed by `(`.
//!
//! Hostile input is bounded: a filter longer than [`MAX_FILTER_LEN`] bytes, or nesting more
//! than [`MAX_DEPTH`] levels of `(`, `not (` and `[`, is refused with a [`FilterError`]. The
//! parser recurses only on nesting, so it never overflows the stack; it never panics.
//!
//! # Evaluation semantics (choices made where RFC 7644 leaves room)
//!
//! * Attribute names (and URNs) are matched case-insensitively against the JSON keys.
//! * A path whose URN is a core schema (`urn:ietf:params:scim:schemas:core:2.0:<Type>`) resolves
//!   at the top level of the resource; any other URN resolves inside the object stored under
//!   that URN key (an extension).
//! * Multi-valued attributes (JSON arrays) match when any element matches. A complex value
//!   compared without a sub-attribute compares its `value` sub-attribute
//!   (`emails eq "a@x.com"`).
//! * JSON `null` counts as absent. An attribute is *present* (`pr`) when it is not null, not an
//!   empty string, not an empty array and not an empty object.
//! * `attr eq null` holds exactly when `attr pr` does not; `attr ne null` exactly when it does.
//! * `ne` is exactly `not (eq)`: it holds on absent attributes, on values of another type, and
//!   on a multi-valued attribute when no element is equal. Every other comparison (`eq`, `co`,
//!   `sw`, `ew`, `gt`, `ge`, `lt`, `le`) is false on an absent attribute and on a value of
//!   another JSON type (no coercion).
//! * Strings compare case-insensitively, except for the attributes the `case_exact` predicate of
//!   [`Filter::matches_with`] accepts; [`Filter::matches`] uses [`default_case_exact`] (`id` and
//!   `meta.version`).
//! * When both strings parse as RFC 3339 date-times they are compared as instants (for `eq`,
//!   `ne` and the ordering operators); otherwise the ordering operators compare strings
//!   lexicographically (by code point, after lowercasing unless case-exact).
//! * Numbers compare numerically. Booleans support `eq`/`ne` only: ordering them is false.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Number, Value};

/// Longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 8192;

/// Most comparisons (`attr op value` and `attr pr`) one filter may hold: what a request
/// costs per resource stays small whatever a client sends.
pub const MAX_TERMS: usize = 64;

/// Deepest nesting accepted: levels of `(`, `not (` and `[`.
pub const MAX_DEPTH: usize = 32;

/// The prefix of the core schema URNs (`...:User`, `...:Group`, ...): paths under them resolve
/// at the top level of a resource.
pub const CORE_SCHEMA_PREFIX: &str = "urn:ietf:params:scim:schemas:core:2.0:";

/// Longest piece of the input quoted back in an error message, in characters.
const QUOTE_MAX: usize = 40;

/// Why a filter was refused. Offsets are 0-based character (not byte) offsets into the filter.
/// Every variant maps to the SCIM error type `invalidFilter` ([`FilterError::scim_type`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("invalid filter: it is {len} bytes long, the longest accepted is {max}")]
    TooLong { len: usize, max: usize },
    #[error(
        "invalid filter at offset {offset}: nested deeper than {max} levels of `(`, `not (` and `[`"
    )]
    TooDeep { offset: usize, max: usize },
    #[error("invalid filter at offset {offset}: expected {expected}, found {found}")]
    Unexpected {
        offset: usize,
        expected: &'static str,
        found: String,
    },
    #[error("invalid filter at offset {offset}: unterminated string (no closing `\"`)")]
    UnterminatedString { offset: usize },
    #[error("invalid filter at offset {offset}: invalid string: {reason}")]
    InvalidString { offset: usize, reason: String },
    #[error("invalid filter at offset {offset}: invalid number `{text}`")]
    InvalidNumber { offset: usize, text: String },
    #[error("invalid filter at offset {offset}: invalid attribute path `{path}`: {reason}")]
    InvalidPath {
        offset: usize,
        path: String,
        reason: String,
    },
    #[error("invalid filter at offset {offset}: a value filter `[...]` cannot contain another")]
    NestedValuePath { offset: usize },
    #[error("invalid filter: it has {count} comparisons, the most accepted is {max}")]
    TooManyTerms { count: usize, max: usize },
}

impl FilterError {
    /// The SCIM `scimType` for this error: always `invalidFilter`.
    pub fn scim_type(&self) -> &'static str {
        "invalidFilter"
    }

    /// Where in the filter (0-based character offset) the problem is, if it is at one place.
    pub fn offset(&self) -> Option<usize> {
        match self {
            FilterError::TooLong { .. } | FilterError::TooManyTerms { .. } => None,
            FilterError::TooDeep { offset, .. }
            | FilterError::Unexpected { offset, .. }
            | FilterError::UnterminatedString { offset }
            | FilterError::InvalidString { offset, .. }
            | FilterError::InvalidNumber { offset, .. }
            | FilterError::InvalidPath { offset, .. }
            | FilterError::NestedValuePath { offset } => Some(*offset),
        }
    }
}

/// Why an attribute path is malformed; `offset` is a 0-based character offset into the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at offset {offset}: {reason}")]
pub struct PathError {
    pub offset: usize,
    pub reason: String,
}

/// An attribute path: `[urn ":"] name ["." sub]`, spelled as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN prefix, without the trailing `:`.
    pub urn: Option<String>,
    /// The attribute name.
    pub name: String,
    /// The sub-attribute name.
    pub sub: Option<String>,
}

impl AttrPath {
    /// Parses an attribute path (the same syntax as in filters).
    pub fn parse(text: &str) -> Result<AttrPath, PathError> {
        if text.is_empty() {
            return Err(PathError {
                offset: 0,
                reason: "empty attribute path".into(),
            });
        }
        let (urn, rest, rest_offset) = match text.rfind(':') {
            Some(colon) => {
                let urn = &text[..colon];
                check_urn(urn)?;
                (
                    Some(urn.to_string()),
                    &text[colon + 1..],
                    urn.chars().count() + 1,
                )
            }
            None => (None, text, 0),
        };
        let (name, sub) = match rest.split_once('.') {
            Some((name, sub)) => (name, Some(sub)),
            None => (rest, None),
        };
        check_name(name, rest_offset)?;
        if let Some(sub) = sub {
            let sub_offset = rest_offset + name.chars().count() + 1;
            if let Some(dot) = sub.find('.') {
                return Err(PathError {
                    offset: sub_offset + sub[..dot].chars().count(),
                    reason: "at most one `.` (one sub-attribute) is allowed".into(),
                });
            }
            check_name(sub, sub_offset)?;
        }
        Ok(AttrPath {
            urn,
            name: name.to_string(),
            sub: sub.map(str::to_string),
        })
    }

    /// A path with no URN and no sub-attribute.
    pub fn simple(name: &str) -> AttrPath {
        AttrPath {
            urn: None,
            name: name.to_string(),
            sub: None,
        }
    }

    /// Whether the path resolves at the top level of a resource (no URN, or a core one).
    pub fn is_core(&self) -> bool {
        self.urn.as_deref().is_none_or(is_core_schema)
    }

    /// The lowercased path without a core URN: `emails.value`, `meta.version`, and for an
    /// extension `urn:...:2.0:user:lastactivity`.
    pub fn normalized(&self) -> String {
        let mut out = String::new();
        if let Some(urn) = self.urn.as_deref().filter(|u| !is_core_schema(u)) {
            out.push_str(urn);
            out.push(':');
        }
        out.push_str(&self.name);
        if let Some(sub) = &self.sub {
            out.push('.');
            out.push_str(sub);
        }
        out.to_lowercase()
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Whether `urn` is a core schema URN (`urn:ietf:params:scim:schemas:core:2.0:<Type>`),
/// case-insensitively.
pub fn is_core_schema(urn: &str) -> bool {
    let n = CORE_SCHEMA_PREFIX.len();
    match (urn.get(..n), urn.get(n..)) {
        (Some(prefix), Some(rest)) => {
            prefix.eq_ignore_ascii_case(CORE_SCHEMA_PREFIX)
                && !rest.is_empty()
                && !rest.contains(':')
        }
        _ => false,
    }
}

/// Whether `text` has the shape of a schema URN as accepted in attribute paths.
pub fn is_valid_urn(text: &str) -> bool {
    check_urn(text).is_ok()
}

fn check_urn(urn: &str) -> Result<(), PathError> {
    let starts_urn = urn.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
    if !starts_urn || urn.len() <= 4 {
        return Err(PathError {
            offset: 0,
            reason: "a schema prefix must be a URN (`urn:...`) followed by `:` and the attribute \
                     name"
                .into(),
        });
    }
    if urn.ends_with(':') {
        return Err(PathError {
            offset: urn.chars().count() - 1,
            reason: "empty URN segment (`::`)".into(),
        });
    }
    for (i, c) in urn.chars().enumerate() {
        let ok = c.is_ascii_alphanumeric() || "-._~:%+=@!$&'*;/?#,".contains(c);
        if !ok {
            return Err(PathError {
                offset: i,
                reason: format!("character `{}` is not allowed in a URN", c.escape_default()),
            });
        }
    }
    Ok(())
}

fn check_name(name: &str, offset: usize) -> Result<(), PathError> {
    if name.eq_ignore_ascii_case("$ref") {
        return Ok(());
    }
    let mut chars = name.chars();
    match chars.next() {
        None => {
            return Err(PathError {
                offset,
                reason: "expected an attribute name".into(),
            });
        }
        Some(c) if !c.is_ascii_alphabetic() => {
            return Err(PathError {
                offset,
                reason: format!(
                    "an attribute name starts with a letter, not `{}`",
                    c.escape_default()
                ),
            });
        }
        Some(_) => {}
    }
    for (i, c) in chars.enumerate() {
        if !(c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(PathError {
                offset: offset + 1 + i,
                reason: format!(
                    "character `{}` is not allowed in an attribute name",
                    c.escape_default()
                ),
            });
        }
    }
    Ok(())
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    /// The operator's keyword, lowercase.
    pub fn keyword(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    fn from_keyword(word: &str) -> Option<CompareOp> {
        CompareOp::ALL
            .into_iter()
            .find(|op| op.keyword().eq_ignore_ascii_case(word))
    }

    /// Whether an ordering between the attribute's value and the filter's value satisfies the
    /// operator (`co`, `sw`, `ew` and `ne` are not orderings: false).
    fn holds(self, ord: Ordering) -> bool {
        match self {
            CompareOp::Eq => ord == Ordering::Equal,
            CompareOp::Gt => ord == Ordering::Greater,
            CompareOp::Ge => ord != Ordering::Less,
            CompareOp::Lt => ord == Ordering::Less,
            CompareOp::Le => ord != Ordering::Greater,
            CompareOp::Ne | CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
        }
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// A comparison value.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::String(s) => {
                // Serialising a string to JSON cannot fail.
                let quoted = serde_json::to_string(s).map_err(|_| fmt::Error)?;
                f.write_str(&quoted)
            }
        }
    }
}

/// A parsed filter. `And`/`Or` are binary and built left-associatively by [`parse`].
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr pr`
    Present(AttrPath),
    /// `attr op value`
    Compare(AttrPath, CompareOp, CompValue),
    /// `attr[filter]`: some element (or the single complex value) of `attr` matches the inner
    /// filter, whose paths are relative to the element.
    ValuePath(AttrPath, Box<Filter>),
}

/// The default case-exact attributes: `id` and `meta.version` (lowercased full paths).
pub fn default_case_exact(path: &str) -> bool {
    matches!(path, "id" | "meta.version")
}

impl Filter {
    /// How many comparisons the filter holds (walked without recursion).
    pub fn terms(&self) -> usize {
        let mut count = 0;
        let mut stack = vec![self];
        while let Some(f) = stack.pop() {
            match f {
                Filter::And(a, b) | Filter::Or(a, b) => {
                    stack.push(a);
                    stack.push(b);
                }
                Filter::Not(inner) | Filter::ValuePath(_, inner) => stack.push(inner),
                Filter::Present(_) | Filter::Compare(..) => count += 1,
            }
        }
        count
    }

    /// Whether `resource` matches, with [`default_case_exact`] as the case-exact set.
    pub fn matches(&self, resource: &Value) -> bool {
        self.matches_with(resource, &default_case_exact)
    }

    /// Whether `resource` matches. `case_exact` is asked, with the lowercased full attribute
    /// path without a core URN (`id`, `meta.version`, `emails.value`, `urn:...:user:status`),
    /// whether that attribute's strings compare case-sensitively.
    pub fn matches_with(&self, resource: &Value, case_exact: &dyn Fn(&str) -> bool) -> bool {
        self.eval(resource, "", case_exact)
    }

    /// When the whole filter is exactly `attr eq "string"`: the attribute's lowercased path
    /// without a core URN (see [`AttrPath::normalized`]) and the string.
    pub fn simple_eq(&self) -> Option<(String, String)> {
        match self {
            Filter::Compare(path, CompareOp::Eq, CompValue::String(value)) => {
                Some((path.normalized(), value.clone()))
            }
            _ => None,
        }
    }

    fn eval(&self, ctx: &Value, prefix: &str, case_exact: &dyn Fn(&str) -> bool) -> bool {
        match self {
            Filter::And(a, b) => a.eval(ctx, prefix, case_exact) && b.eval(ctx, prefix, case_exact),
            Filter::Or(a, b) => a.eval(ctx, prefix, case_exact) || b.eval(ctx, prefix, case_exact),
            Filter::Not(inner) => !inner.eval(ctx, prefix, case_exact),
            Filter::Present(path) => resolve(ctx, path).into_iter().any(is_present),
            Filter::Compare(path, op, value) => compare(ctx, path, *op, value, prefix, case_exact),
            Filter::ValuePath(path, inner) => {
                let full = join_path(prefix, path);
                resolve(ctx, path)
                    .into_iter()
                    .filter(|v| v.is_object())
                    .any(|element| inner.eval(element, &full, case_exact))
            }
        }
    }

    fn fmt_prec(&self, f: &mut fmt::Formatter<'_>, prec: u8) -> fmt::Result {
        // prec: 0 = an `or` operand may appear as is, 1 = an `and` operand, 2 = an atom.
        match self {
            Filter::Or(a, b) => {
                if prec > 0 {
                    f.write_str("(")?;
                }
                a.fmt_prec(f, 0)?;
                f.write_str(" or ")?;
                b.fmt_prec(f, 1)?;
                if prec > 0 {
                    f.write_str(")")?;
                }
                Ok(())
            }
            Filter::And(a, b) => {
                if prec > 1 {
                    f.write_str("(")?;
                }
                a.fmt_prec(f, 1)?;
                f.write_str(" and ")?;
                b.fmt_prec(f, 2)?;
                if prec > 1 {
                    f.write_str(")")?;
                }
                Ok(())
            }
            Filter::Not(inner) => {
                f.write_str("not (")?;
                inner.fmt_prec(f, 0)?;
                f.write_str(")")
            }
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::Compare(path, op, value) => write!(f, "{path} {op} {value}"),
            Filter::ValuePath(path, inner) => {
                write!(f, "{path}[")?;
                inner.fmt_prec(f, 0)?;
                f.write_str("]")
            }
        }
    }
}

/// The canonical form: lowercase keywords, single spaces, JSON-escaped strings, and parentheses
/// only where the tree needs them. `parse(&f.to_string()) == Ok(f)` for every parsed `f`.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_prec(f, 0)
    }
}

impl std::str::FromStr for Filter {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Filter, FilterError> {
        parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation helpers

/// The value under `key` in `v` when `v` is an object, matching the key case-insensitively.
pub(crate) fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let obj: &Map<String, Value> = v.as_object()?;
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The object a path's attribute name is looked up in: the resource itself for no URN or a
/// core URN, else the extension object under the URN.
pub(crate) fn base_of<'a>(ctx: &'a Value, path: &AttrPath) -> Option<&'a Value> {
    match path.urn.as_deref() {
        None => Some(ctx),
        Some(urn) if is_core_schema(urn) => Some(ctx),
        Some(urn) => get_ci(ctx, urn),
    }
}

fn push_flat<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Null => {}
        Value::Array(items) => out.extend(items.iter().filter(|i| !i.is_null())),
        other => out.push(other),
    }
}

/// The non-null values a path designates, multi-valued attributes flattened to their elements.
fn resolve<'a>(ctx: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let mut out = Vec::new();
    let Some(value) = base_of(ctx, path).and_then(|base| get_ci(base, &path.name)) else {
        return out;
    };
    match &path.sub {
        None => push_flat(value, &mut out),
        Some(sub) => {
            let mut parents = Vec::new();
            push_flat(value, &mut parents);
            for parent in parents {
                if let Some(v) = get_ci(parent, sub) {
                    push_flat(v, &mut out);
                }
            }
        }
    }
    out
}

fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn join_path(prefix: &str, path: &AttrPath) -> String {
    if prefix.is_empty() {
        path.normalized()
    } else {
        format!("{prefix}.{}", path.normalized())
    }
}

fn compare(
    ctx: &Value,
    path: &AttrPath,
    op: CompareOp,
    value: &CompValue,
    prefix: &str,
    case_exact: &dyn Fn(&str) -> bool,
) -> bool {
    let resolved = resolve(ctx, path);
    if *value == CompValue::Null {
        let present = resolved.into_iter().any(is_present);
        return match op {
            CompareOp::Eq => !present,
            CompareOp::Ne => present,
            _ => false,
        };
    }
    // A complex value compared without a sub-attribute compares its `value` sub-attribute.
    let candidates = resolved.into_iter().filter_map(|v| {
        if path.sub.is_none() && v.is_object() {
            get_ci(v, "value").filter(|v| !v.is_null())
        } else {
            Some(v)
        }
    });
    let exact = case_exact(&join_path(prefix, path));
    match op {
        CompareOp::Ne => !candidates
            .into_iter()
            .any(|c| test(CompareOp::Eq, c, value, exact)),
        _ => candidates.into_iter().any(|c| test(op, c, value, exact)),
    }
}

fn test(op: CompareOp, candidate: &Value, value: &CompValue, exact: bool) -> bool {
    match (candidate, value) {
        (Value::String(a), CompValue::String(b)) => test_strings(op, a, b, exact),
        (Value::Number(a), CompValue::Number(b)) => {
            compare_numbers(a, b).is_some_and(|ord| op.holds(ord))
        }
        (Value::Bool(a), CompValue::Bool(b)) => op == CompareOp::Eq && a == b,
        _ => false,
    }
}

fn test_strings(op: CompareOp, a: &str, b: &str, exact: bool) -> bool {
    match op {
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
            let (a, b) = if exact {
                (a.to_string(), b.to_string())
            } else {
                (a.to_lowercase(), b.to_lowercase())
            };
            match op {
                CompareOp::Co => a.contains(&b),
                CompareOp::Sw => a.starts_with(&b),
                _ => a.ends_with(&b),
            }
        }
        _ => op.holds(compare_strings(a, b, exact)),
    }
}

fn parse_datetime(s: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    // Every RFC 3339 date-time starts with a four-digit year: skip the parse for other strings.
    if !s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    chrono::DateTime::parse_from_rfc3339(s).ok()
}

fn compare_strings(a: &str, b: &str, exact: bool) -> Ordering {
    if let (Some(x), Some(y)) = (parse_datetime(a), parse_datetime(b)) {
        return x.cmp(&y);
    }
    if exact {
        a.cmp(b)
    } else {
        a.to_lowercase().cmp(&b.to_lowercase())
    }
}

fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

// ---------------------------------------------------------------------------------------------
// Lexing

#[derive(Debug)]
enum Tok<'a> {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Str(String),
    Word(&'a str),
    End,
}

#[derive(Debug)]
struct Token<'a> {
    tok: Tok<'a>,
    /// 0-based character offset of the token's start.
    pos: usize,
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '(' | ')' | '[' | ']' | '"')
}

fn quote(text: &str) -> String {
    let mut out: String = text.chars().take(QUOTE_MAX).collect();
    if text.chars().nth(QUOTE_MAX).is_some() {
        out.push_str("...");
    }
    out
}

fn lex(text: &str) -> Result<Vec<Token<'_>>, FilterError> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte_at = |i: usize| chars.get(i).map_or(text.len(), |&(b, _)| b);
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].1;
        let simple = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            _ => None,
        };
        if let Some(tok) = simple {
            toks.push(Token { tok, pos: i });
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '"' {
            let (s, next) = lex_string(&chars, i)?;
            toks.push(Token {
                tok: Tok::Str(s),
                pos: i,
            });
            i = next;
        } else {
            let start = i;
            while i < chars.len() && is_word_char(chars[i].1) {
                i += 1;
            }
            toks.push(Token {
                tok: Tok::Word(&text[byte_at(start)..byte_at(i)]),
                pos: start,
            });
        }
    }
    toks.push(Token {
        tok: Tok::End,
        pos: chars.len(),
    });
    Ok(toks)
}

fn hex4(chars: &[(usize, char)], at: usize) -> Option<u32> {
    let mut value = 0;
    for k in 0..4 {
        let digit = chars.get(at + k)?.1.to_digit(16)?;
        value = value * 16 + digit;
    }
    Some(value)
}

/// Lexes the JSON string starting at the `"` at `start`; returns it and the index after it.
fn lex_string(chars: &[(usize, char)], start: usize) -> Result<(String, usize), FilterError> {
    let mut out = String::new();
    let mut i = start + 1;
    loop {
        let Some(&(_, c)) = chars.get(i) else {
            return Err(FilterError::UnterminatedString { offset: start });
        };
        match c {
            '"' => return Ok((out, i + 1)),
            '\\' => {
                let Some(&(_, e)) = chars.get(i + 1) else {
                    return Err(FilterError::UnterminatedString { offset: start });
                };
                let simple = match e {
                    '"' => Some('"'),
                    '\\' => Some('\\'),
                    '/' => Some('/'),
                    'b' => Some('\u{8}'),
                    'f' => Some('\u{c}'),
                    'n' => Some('\n'),
                    'r' => Some('\r'),
                    't' => Some('\t'),
                    _ => None,
                };
                if let Some(ch) = simple {
                    out.push(ch);
                    i += 2;
                } else if e == 'u' {
                    let (ch, next) = lex_unicode_escape(chars, i)?;
                    out.push(ch);
                    i = next;
                } else {
                    return Err(FilterError::InvalidString {
                        offset: i,
                        reason: format!("unknown escape `\\{}`", e.escape_default()),
                    });
                }
            }
            c if u32::from(c) < 0x20 => {
                return Err(FilterError::InvalidString {
                    offset: i,
                    reason: format!("unescaped control character `{}`", c.escape_default()),
                });
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
}

/// Decodes `\uXXXX` (and a following `\uXXXX` low surrogate) at `at` (the backslash).
fn lex_unicode_escape(chars: &[(usize, char)], at: usize) -> Result<(char, usize), FilterError> {
    let bad = |reason: &str| FilterError::InvalidString {
        offset: at,
        reason: reason.to_string(),
    };
    let Some(high) = hex4(chars, at + 2) else {
        return Err(bad("`\\u` must be followed by four hexadecimal digits"));
    };
    let next = at + 6;
    if (0xDC00..0xE000).contains(&high) {
        return Err(bad("lone low surrogate in `\\u` escape"));
    }
    if !(0xD800..0xDC00).contains(&high) {
        // Not a surrogate: always a valid scalar value.
        let ch = char::from_u32(high).ok_or_else(|| bad("invalid `\\u` escape"))?;
        return Ok((ch, next));
    }
    let follows_escape = chars.get(next).is_some_and(|c| c.1 == '\\')
        && chars.get(next + 1).is_some_and(|c| c.1 == 'u');
    let low = if follows_escape {
        hex4(chars, next + 2)
    } else {
        None
    };
    match low {
        Some(low) if (0xDC00..0xE000).contains(&low) => {
            let scalar = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
            let ch = char::from_u32(scalar).ok_or_else(|| bad("invalid `\\u` escape"))?;
            Ok((ch, next + 6))
        }
        _ => Err(bad(
            "a high surrogate `\\u` escape must be followed by a low surrogate one",
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// Parses a SCIM filter.
pub fn parse(text: &str) -> Result<Filter, FilterError> {
    if text.len() > MAX_FILTER_LEN {
        return Err(FilterError::TooLong {
            len: text.len(),
            max: MAX_FILTER_LEN,
        });
    }
    let mut parser = Parser {
        toks: lex(text)?,
        i: 0,
    };
    let filter = parser.parse_or(0, false)?;
    if !matches!(parser.peek().tok, Tok::End) {
        return Err(parser.unexpected("`and`, `or` or the end of the filter"));
    }
    let count = filter.terms();
    if count > MAX_TERMS {
        return Err(FilterError::TooManyTerms {
            count,
            max: MAX_TERMS,
        });
    }
    Ok(filter)
}

struct Parser<'a> {
    toks: Vec<Token<'a>>,
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &Token<'a> {
        // The token list always ends with `End`, and `i` never moves past it.
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn advance(&mut self) {
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek().tok, Tok::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    fn unexpected(&self, expected: &'static str) -> FilterError {
        let token = self.peek();
        let found = match &token.tok {
            Tok::LParen => "`(`".to_string(),
            Tok::RParen => "`)`".to_string(),
            Tok::LBracket => "`[`".to_string(),
            Tok::RBracket => "`]`".to_string(),
            Tok::Str(s) => format!("the string {}", CompValue::String(quote(s))),
            Tok::Word(w) => format!("`{}`", quote(w)),
            Tok::End => "the end of the filter".to_string(),
        };
        FilterError::Unexpected {
            offset: token.pos,
            expected,
            found,
        }
    }

    /// One level deeper, at the token about to be consumed.
    fn enter(&self, depth: usize) -> Result<usize, FilterError> {
        if depth >= MAX_DEPTH {
            return Err(FilterError::TooDeep {
                offset: self.peek().pos,
                max: MAX_DEPTH,
            });
        }
        Ok(depth + 1)
    }

    fn parse_or(&mut self, depth: usize, in_value_path: bool) -> Result<Filter, FilterError> {
        let mut left = self.parse_and(depth, in_value_path)?;
        while self.peek_keyword("or") {
            self.advance();
            let right = self.parse_and(depth, in_value_path)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_and(&mut self, depth: usize, in_value_path: bool) -> Result<Filter, FilterError> {
        let mut left = self.parse_atom(depth, in_value_path)?;
        while self.peek_keyword("and") {
            self.advance();
            let right = self.parse_atom(depth, in_value_path)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn expect_close(&mut self, close: &Tok<'_>, expected: &'static str) -> Result<(), FilterError> {
        if std::mem::discriminant(&self.peek().tok) == std::mem::discriminant(close) {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn parse_atom(&mut self, depth: usize, in_value_path: bool) -> Result<Filter, FilterError> {
        match self.peek().tok {
            Tok::LParen => {
                let depth = self.enter(depth)?;
                self.advance();
                let inner = self.parse_or(depth, in_value_path)?;
                self.expect_close(&Tok::RParen, "`and`, `or` or `)`")?;
                Ok(inner)
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("not") => {
                self.advance();
                if !matches!(self.peek().tok, Tok::LParen) {
                    return Err(self.unexpected("`(` after `not`"));
                }
                let depth = self.enter(depth)?;
                self.advance();
                let inner = self.parse_or(depth, in_value_path)?;
                self.expect_close(&Tok::RParen, "`and`, `or` or `)`")?;
                Ok(Filter::Not(Box::new(inner)))
            }
            Tok::Word(w) => self.parse_attr_expr(w, depth, in_value_path),
            _ => Err(self.unexpected("an attribute path, `(` or `not (`")),
        }
    }

    fn parse_attr_expr(
        &mut self,
        word: &'a str,
        depth: usize,
        in_value_path: bool,
    ) -> Result<Filter, FilterError> {
        let pos = self.peek().pos;
        let path = AttrPath::parse(word).map_err(|e| FilterError::InvalidPath {
            offset: pos + e.offset,
            path: quote(word),
            reason: e.reason,
        })?;
        self.advance();
        match self.peek().tok {
            Tok::LBracket => {
                if in_value_path {
                    return Err(FilterError::NestedValuePath {
                        offset: self.peek().pos,
                    });
                }
                let depth = self.enter(depth)?;
                self.advance();
                let inner = self.parse_or(depth, true)?;
                self.expect_close(&Tok::RBracket, "`and`, `or` or `]`")?;
                Ok(Filter::ValuePath(path, Box::new(inner)))
            }
            Tok::Word(op) if op.eq_ignore_ascii_case("pr") => {
                self.advance();
                Ok(Filter::Present(path))
            }
            Tok::Word(op) => match CompareOp::from_keyword(op) {
                Some(op) => {
                    self.advance();
                    let value = self.parse_value()?;
                    Ok(Filter::Compare(path, op, value))
                }
                None => Err(self
                    .unexpected("an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) or `[`")),
            },
            _ => {
                Err(self
                    .unexpected("an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) or `[`"))
            }
        }
    }

    fn parse_value(&mut self) -> Result<CompValue, FilterError> {
        let pos = self.peek().pos;
        let value = match &self.peek().tok {
            Tok::Str(s) => CompValue::String(s.clone()),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => CompValue::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => CompValue::Bool(false),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => CompValue::Null,
            Tok::Word(w) if w.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => {
                match serde_json::from_str::<Number>(w) {
                    Ok(n) => CompValue::Number(n),
                    Err(_) => {
                        return Err(FilterError::InvalidNumber {
                            offset: pos,
                            text: quote(w),
                        });
                    }
                }
            }
            _ => {
                return Err(self.unexpected(
                    "a comparison value (a JSON string, a number, true, false or null)",
                ));
            }
        };
        self.advance();
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_filter_holds_at_most_max_terms_comparisons() {
        let chain = |n: usize| {
            (0..n)
                .map(|i| format!("userName eq \"u{i}\""))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        assert_eq!(super::parse(&chain(MAX_TERMS)).unwrap().terms(), MAX_TERMS);
        let err = super::parse(&chain(MAX_TERMS + 1)).unwrap_err();
        assert_eq!(
            err,
            FilterError::TooManyTerms {
                count: MAX_TERMS + 1,
                max: MAX_TERMS
            }
        );
        assert_eq!(err.scim_type(), "invalidFilter");
        // Nested ones count too.
        let nested = format!("emails[{}] and not (active pr)", chain(MAX_TERMS));
        assert!(super::parse(&nested).is_err());
    }

    use super::*;
    use serde_json::json;

    const ACTIVITY: &str =
        "urn:governance-connector:params:scim:schemas:extension:activity:2.0:User";

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ACTIVITY],
            "id": "AC1",
            "externalId": "Ext-1",
            "userName": "Alice",
            "displayName": "Alice Liddell",
            "active": true,
            "loginCount": 42,
            "score": 2.5,
            "nickName": "",
            "title": null,
            "tags": [],
            "name": {"givenName": "Alice", "familyName": "Liddell"},
            "emails": [
                {"value": "a@x.com", "type": "work", "primary": true},
                {"value": "alice@home.org", "type": "home"}
            ],
            "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}],
            "groups": [{"value": "G1", "display": "Admins"}],
            "meta": {
                "resourceType": "User",
                "created": "2024-01-01T00:00:00Z",
                "lastModified": "2024-06-01T12:30:00+02:00",
                "version": "W/\"abc\""
            },
            ACTIVITY: {"lastActivity": "2025-01-01T00:00:00Z", "status": "active"}
        })
    }

    #[test]
    fn parses_to_canonical_form() {
        let cases: &[(&str, &str)] = &[
            ("userName eq \"bjensen\"", "userName eq \"bjensen\""),
            ("userName Eq \"bjensen\"", "userName eq \"bjensen\""),
            ("USERNAME EQ \"x\"", "USERNAME eq \"x\""),
            ("title pr", "title pr"),
            ("title PR", "title pr"),
            (
                "name.familyName co \"O'Malley\"",
                "name.familyName co \"O'Malley\"",
            ),
            ("userName sw \"J\"", "userName sw \"J\""),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"J\"",
                "urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"J\"",
            ),
            (
                "urn:governance-connector:params:scim:schemas:extension:activity:2.0:User:lastActivity gt \"2025-01-01T00:00:00Z\"",
                "urn:governance-connector:params:scim:schemas:extension:activity:2.0:User:lastActivity gt \"2025-01-01T00:00:00Z\"",
            ),
            (
                "meta.lastModified gt \"2011-05-13T04:42:34Z\"",
                "meta.lastModified gt \"2011-05-13T04:42:34Z\"",
            ),
            ("members.$ref pr", "members.$ref pr"),
            ("a eq 1 or b eq 2 and c eq 3", "a eq 1 or b eq 2 and c eq 3"),
            (
                "(a eq 1 or b eq 2) and c eq 3",
                "(a eq 1 or b eq 2) and c eq 3",
            ),
            ("a pr and (b pr and c pr)", "a pr and (b pr and c pr)"),
            ("(a pr and b pr) and c pr", "a pr and b pr and c pr"),
            ("((((a pr))))", "a pr"),
            ("a pr OR b pr AnD c pr", "a pr or b pr and c pr"),
            ("not (a pr)", "not (a pr)"),
            ("NOT(a pr or b pr) and c pr", "not (a pr or b pr) and c pr"),
            ("  a   pr  ", "a pr"),
            ("active eq TRUE", "active eq true"),
            ("active eq False", "active eq false"),
            ("title eq NULL", "title eq null"),
            ("n eq -1.5e3", "n eq -1500.0"),
            ("n gt 0", "n gt 0"),
            ("n lt 12345678901234", "n lt 12345678901234"),
            (
                "s eq \"a\\\"b\\\\c\\u00e9\\n\\/\"",
                "s eq \"a\\\"b\\\\cé\\n/\"",
            ),
            ("s eq \"\\ud83d\\ude00\"", "s eq \"😀\""),
            ("s eq \"\"", "s eq \"\""),
            (
                "emails[type eq \"work\" and value co \"@example.com\"]",
                "emails[type eq \"work\" and value co \"@example.com\"]",
            ),
            (
                "emails[type eq \"work\"] or emails[not (type pr)]",
                "emails[type eq \"work\"] or emails[not (type pr)]",
            ),
            (
                "userType eq \"Employee\" and (emails co \"example.com\" or emails.value co \"example.org\")",
                "userType eq \"Employee\" and (emails co \"example.com\" or emails.value co \"example.org\")",
            ),
            ("and pr", "and pr"),
            ("a-b_c9 pr", "a-b_c9 pr"),
        ];
        for (input, canonical) in cases {
            let f = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(f.to_string(), *canonical, "{input:?}");
            assert_eq!(
                parse(&f.to_string()).as_ref(),
                Ok(&f),
                "{input:?} round trip"
            );
        }
    }

    #[test]
    fn precedence_and_associativity() {
        let p = |s: &str| AttrPath::simple(s);
        let one = |n: &str| Filter::Compare(p(n), CompareOp::Eq, CompValue::Number(1.into()));
        let b = Box::new;
        assert_eq!(
            parse("a eq 1 or b eq 1 and c eq 1").unwrap(),
            Filter::Or(b(one("a")), b(Filter::And(b(one("b")), b(one("c")))))
        );
        assert_eq!(
            parse("a eq 1 and b eq 1 or c eq 1").unwrap(),
            Filter::Or(b(Filter::And(b(one("a")), b(one("b")))), b(one("c")))
        );
        assert_eq!(
            parse("a eq 1 or b eq 1 or c eq 1").unwrap(),
            Filter::Or(b(Filter::Or(b(one("a")), b(one("b")))), b(one("c")))
        );
        assert_eq!(
            parse("not (a eq 1) and b eq 1").unwrap(),
            Filter::And(b(Filter::Not(b(one("a")))), b(one("b")))
        );
        let path = AttrPath::parse(&format!("{ACTIVITY}:lastActivity")).unwrap();
        assert_eq!(path.urn.as_deref(), Some(ACTIVITY));
        assert_eq!(path.name, "lastActivity");
        let path =
            AttrPath::parse("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName").unwrap();
        assert_eq!(
            path.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:core:2.0:User")
        );
        assert_eq!(
            (path.name.as_str(), path.sub.as_deref()),
            ("name", Some("givenName"))
        );
        assert!(path.is_core());
        assert_eq!(path.normalized(), "name.givenname");
    }

    #[test]
    fn refuses_bad_filters_with_offsets() {
        let deep_parens = format!("{}a pr{}", "(".repeat(33), ")".repeat(33));
        let deep_not = format!("{}a pr{}", "not (".repeat(33), ")".repeat(33));
        let ok_deep = format!("{}a pr{}", "(".repeat(32), ")".repeat(32));
        assert!(parse(&ok_deep).is_ok());
        let too_long = format!("userName eq \"{}\"", "x".repeat(MAX_FILTER_LEN));
        let cases: &[(&str, Option<usize>, &str)] = &[
            ("userName eq \"bjensen", Some(12), "unterminated string"),
            ("userName eq \"bj\\", Some(12), "unterminated string"),
            ("userName xx \"a\"", Some(9), "expected an operator"),
            ("userName", Some(8), "expected an operator"),
            ("userName eq", Some(11), "expected a comparison value"),
            ("userName eq )", Some(12), "expected a comparison value"),
            ("userName eq bjensen", Some(12), "found `bjensen`"),
            (
                "userName eq \"a\" garbage",
                Some(16),
                "expected `and`, `or` or the end",
            ),
            ("userName eq \"a\")", Some(15), "found `)`"),
            ("userName pr and", Some(15), "expected an attribute path"),
            ("userName pr or", Some(14), "expected an attribute path"),
            ("and", Some(3), "expected an operator"),
            ("", Some(0), "expected an attribute path"),
            ("   ", Some(3), "found the end of the filter"),
            ("(userName pr", Some(12), "expected `and`, `or` or `)`"),
            ("not userName pr", Some(4), "`(` after `not`"),
            ("emails[type pr", Some(14), "expected `and`, `or` or `]`"),
            ("emails[type[value pr]]", Some(11), "cannot contain another"),
            (
                "emails[type eq \"work\"].value pr",
                Some(22),
                "found `.value`",
            ),
            ("1abc pr", Some(0), "starts with a letter"),
            ("a.b.c pr", Some(3), "at most one `.`"),
            ("ab%c pr", Some(2), "not allowed in an attribute name"),
            ("foo:bar pr", Some(0), "must be a URN"),
            ("urn:a::b pr", Some(5), "empty URN segment"),
            ("urn:a: pr", Some(6), "expected an attribute name"),
            ("n eq 01", Some(5), "invalid number `01`"),
            ("n eq 1e400", Some(5), "invalid number"),
            ("n eq -", Some(5), "invalid number"),
            ("s eq \"\\x\"", Some(6), "unknown escape"),
            ("s eq \"\\u12g4\"", Some(6), "four hexadecimal digits"),
            ("s eq \"\\udc00\"", Some(6), "lone low surrogate"),
            ("s eq \"\\ud800x\"", Some(6), "low surrogate"),
            ("s eq \"a\tb\"", Some(7), "control character"),
            ("é eq \"x\" x", Some(0), "starts with a letter"),
            ("ééé pr and", Some(0), "starts with a letter"),
            ("a eq \"é\" x", Some(9), "found `x`"),
            (&deep_parens, Some(32), "nested deeper than 32"),
            (&deep_not, Some(32 * 5 + 4), "nested deeper than 32"),
            (&too_long, None, "bytes long"),
        ];
        for (input, offset, needle) in cases {
            let err = parse(input).expect_err(input);
            let message = err.to_string();
            assert!(message.contains(needle), "{input:?}: {message}");
            assert_eq!(err.offset(), *offset, "{input:?}: {message}");
            if let Some(offset) = offset {
                assert!(message.contains(&format!("offset {offset}")), "{message}");
            }
            assert_eq!(err.scim_type(), "invalidFilter");
        }
    }

    #[test]
    fn evaluates_on_a_sample_user() {
        let user = user();
        let cases: &[(&str, bool)] = &[
            // eq / ne, case-insensitive strings and attribute names
            ("userName eq \"alice\"", true),
            ("USERNAME eq \"ALICE\"", true),
            ("userName eq \"bob\"", false),
            ("userName ne \"bob\"", true),
            ("userName ne \"ALICE\"", false),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"alice\"",
                true,
            ),
            // case-exact defaults: id and meta.version
            ("id eq \"AC1\"", true),
            ("id eq \"ac1\"", false),
            ("meta.version eq \"W/\\\"abc\\\"\"", true),
            ("meta.version eq \"w/\\\"ABC\\\"\"", false),
            ("externalId eq \"ext-1\"", true),
            // co / sw / ew
            ("displayName co \"LIDD\"", true),
            ("displayName co \"bob\"", false),
            ("displayName sw \"alice \"", true),
            ("displayName sw \"Liddell\"", false),
            ("displayName ew \"liddell\"", true),
            ("displayName ew \"alice\"", false),
            ("id sw \"ac\"", false),
            ("id sw \"AC\"", true),
            // gt / ge / lt / le on strings and numbers
            ("userName gt \"aaa\"", true),
            ("userName gt \"ALICE\"", false),
            ("userName ge \"ALICE\"", true),
            ("userName lt \"b\"", true),
            ("userName le \"alice\"", true),
            ("loginCount gt 41", true),
            ("loginCount gt 42", false),
            ("loginCount ge 42", true),
            ("loginCount lt 42.5", true),
            ("loginCount le 41", false),
            ("loginCount eq 42.0", true),
            ("loginCount eq 42", true),
            ("score gt 2", true),
            ("score eq \"2.5\"", false),
            ("loginCount eq \"42\"", false),
            // booleans
            ("active eq true", true),
            ("active eq TRUE", true),
            ("active eq false", false),
            ("active ne false", true),
            ("active gt false", false),
            ("active lt true", false),
            // date-times: compared as instants
            ("meta.created lt \"2024-01-01T00:00:01Z\"", true),
            ("meta.created eq \"2024-01-01T01:00:00+01:00\"", true),
            ("meta.created gt \"2023-12-31T23:59:59Z\"", true),
            ("meta.lastModified lt \"2024-06-01T11:00:00Z\"", true),
            ("meta.lastModified gt \"2024-06-01T10:00:00Z\"", true),
            ("meta.lastModified eq \"2024-06-01T10:30:00Z\"", true),
            // pr, and what counts as present
            ("userName pr", true),
            ("nickName pr", false),
            ("title pr", false),
            ("tags pr", false),
            ("emails pr", true),
            ("emails.type pr", true),
            ("emails.display pr", false),
            ("name pr", true),
            ("missing pr", false),
            // null
            ("title eq null", true),
            ("nickName eq null", true),
            ("missing eq null", true),
            ("userName eq null", false),
            ("userName ne null", true),
            ("title ne null", false),
            ("userName gt null", false),
            // absent attributes: false except ne
            ("missing eq \"x\"", false),
            ("missing ne \"x\"", true),
            ("missing co \"x\"", false),
            ("missing gt 1", false),
            ("name.middleName eq \"x\"", false),
            ("name.middleName ne \"x\"", true),
            ("title eq \"x\"", false),
            ("title ne \"x\"", true),
            // multi-valued attributes
            ("emails eq \"A@X.COM\"", true),
            ("emails eq \"alice@home.org\"", true),
            ("emails eq \"nobody@x.com\"", false),
            ("emails co \"home\"", true),
            ("emails.value ew \".org\"", true),
            ("emails.type eq \"home\"", true),
            ("emails.type ne \"home\"", false),
            ("emails.type ne \"other\"", true),
            ("emails.primary eq true", true),
            ("groups eq \"g1\"", true),
            ("name eq \"alice\"", false),
            (
                "schemas eq \"urn:ietf:params:scim:schemas:core:2.0:user\"",
                true,
            ),
            // value paths
            ("emails[type eq \"work\" and value co \"@x.com\"]", true),
            ("emails[type eq \"work\" and value co \"home\"]", false),
            ("emails[type eq \"home\" and value co \"home\"]", true),
            ("emails[primary eq true]", true),
            ("emails[not (primary pr)]", true),
            ("emails[type eq \"other\"]", false),
            ("EMAILS[TYPE EQ \"WORK\"]", true),
            (
                "phoneNumbers[type eq \"mobile\"] and emails[type eq \"home\"]",
                true,
            ),
            ("name[givenName eq \"alice\"]", true),
            ("userName[value pr]", false),
            ("missing[value pr]", false),
            // extension URN paths
            (
                "urn:governance-connector:params:scim:schemas:extension:activity:2.0:User:lastActivity gt \"2024-12-31T00:00:00Z\"",
                true,
            ),
            (
                "urn:governance-connector:params:scim:schemas:extension:activity:2.0:User:lastActivity lt \"2024-12-31T00:00:00Z\"",
                false,
            ),
            (
                "URN:GOVERNANCE-CONNECTOR:PARAMS:SCIM:SCHEMAS:EXTENSION:ACTIVITY:2.0:USER:STATUS eq \"ACTIVE\"",
                true,
            ),
            ("lastActivity pr", false),
            ("urn:other:ext:2.0:User:status pr", false),
            // logic
            ("not (userName eq \"alice\")", false),
            ("not (userName eq \"bob\")", true),
            ("userName eq \"alice\" and active eq true", true),
            ("userName eq \"alice\" and active eq false", false),
            ("userName eq \"bob\" or active eq true", true),
            ("userName eq \"bob\" or active eq false", false),
            (
                "userName eq \"bob\" or active eq true and loginCount gt 100",
                false,
            ),
            (
                "(userName eq \"bob\" or active eq true) and loginCount gt 1",
                true,
            ),
            ("not (not (userName pr))", true),
        ];
        for (input, expected) in cases {
            let f = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(f.matches(&user), *expected, "{input:?}");
        }
    }

    #[test]
    fn custom_case_exact_set() {
        let user = user();
        let f = parse("emails.value eq \"A@X.COM\"").unwrap();
        assert!(f.matches(&user));
        assert!(!f.matches_with(&user, &|p| p == "emails.value"));
        // inside a value path the full path is "emails.value" too
        let f = parse("emails[value eq \"A@X.COM\"]").unwrap();
        assert!(f.matches(&user));
        assert!(!f.matches_with(&user, &|p| p == "emails.value"));
        let f = parse("userName eq \"alice\"").unwrap();
        assert!(!f.matches_with(&user, &|_| true));
        assert!(f.matches_with(&user, &|_| false));
        let f = parse("id eq \"ac1\"").unwrap();
        assert!(f.matches_with(&user, &|_| false));
        let seen = std::cell::RefCell::new(Vec::new());
        let f = parse(&format!("{ACTIVITY}:status eq \"x\"")).unwrap();
        f.matches_with(&user, &|p| {
            seen.borrow_mut().push(p.to_string());
            false
        });
        assert_eq!(
            seen.into_inner(),
            vec![format!("{}:status", ACTIVITY.to_lowercase())]
        );
    }

    #[test]
    fn simple_eq() {
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            ("userName eq \"Alice\"", Some(("username", "Alice"))),
            ("USERNAME EQ \"Alice\"", Some(("username", "Alice"))),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"a\"",
                Some(("username", "a")),
            ),
            ("id eq \"AC1\"", Some(("id", "AC1"))),
            ("name.givenName eq \"x\"", Some(("name.givenname", "x"))),
            ("(userName eq \"a\")", Some(("username", "a"))),
            ("userName ne \"a\"", None),
            ("userName eq 1", None),
            ("userName eq null", None),
            ("userName eq \"a\" and id pr", None),
            ("not (userName eq \"a\")", None),
            ("emails[value eq \"a\"]", None),
        ];
        for (input, expected) in cases {
            let got = parse(input).unwrap().simple_eq();
            let expected = expected.map(|(a, b)| (a.to_string(), b.to_string()));
            assert_eq!(got, expected, "{input:?}");
        }
        let f = parse(&format!("{ACTIVITY}:status eq \"x\"")).unwrap();
        assert_eq!(
            f.simple_eq(),
            Some((
                format!("{}:status", ACTIVITY.to_lowercase()),
                "x".to_string()
            ))
        );
    }

    #[test]
    fn long_chains_do_not_overflow() {
        let unit = "a pr and ";
        let n = (MAX_FILTER_LEN - 4) / unit.len();
        let text = format!("{}a pr", unit.repeat(n));
        assert!(text.len() <= MAX_FILTER_LEN);
        // The longest chain parses (no overflow) and is refused for its size.
        assert!(matches!(
            parse(&text),
            Err(FilterError::TooManyTerms { count, .. }) if count == n + 1
        ));
        let text = format!("{}a pr", unit.repeat(MAX_TERMS - 1));
        let f = parse(&text).unwrap();
        assert!(f.matches(&json!({"a": 1})));
        assert!(!f.matches(&json!({"b": 1})));
        assert_eq!(parse(&f.to_string()), Ok(f.clone()));
        let text = "(".repeat(MAX_FILTER_LEN);
        assert!(matches!(
            parse(&text),
            Err(FilterError::TooDeep { offset: 32, .. })
        ));
        let text = "not (".repeat(MAX_FILTER_LEN / 5);
        assert!(matches!(parse(&text), Err(FilterError::TooDeep { .. })));
        let text = "[".repeat(MAX_FILTER_LEN);
        assert!(parse(&text).is_err());
        let text = format!("a{}", "[a".repeat(4000));
        assert!(parse(&text).is_err());
    }

    #[test]
    fn non_object_resources() {
        for resource in [json!(null), json!([1, 2]), json!("userName"), json!(3)] {
            assert!(!parse("userName eq \"x\"").unwrap().matches(&resource));
            assert!(parse("userName ne \"x\"").unwrap().matches(&resource));
            assert!(!parse("userName pr").unwrap().matches(&resource));
            assert!(!parse("emails[value pr]").unwrap().matches(&resource));
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn name() -> impl Strategy<Value = String> {
            "[a-zA-Z][a-zA-Z0-9_-]{0,5}"
                .prop_filter("`not` is a keyword", |n| !n.eq_ignore_ascii_case("not"))
        }

        fn path() -> impl Strategy<Value = AttrPath> {
            let urn = prop_oneof![
                Just(None),
                Just(Some(
                    "urn:ietf:params:scim:schemas:core:2.0:User".to_string()
                )),
                Just(Some(ACTIVITY.to_string())),
            ];
            (urn, name(), proptest::option::of(name())).prop_map(|(urn, name, sub)| AttrPath {
                urn,
                name,
                sub,
            })
        }

        fn value() -> impl Strategy<Value = CompValue> {
            prop_oneof![
                Just(CompValue::Null),
                any::<bool>().prop_map(CompValue::Bool),
                any::<i64>().prop_map(|n| CompValue::Number(n.into())),
                any::<u64>().prop_map(|n| CompValue::Number(n.into())),
                prop_oneof![Just(1.5), Just(-0.25), Just(1e-7), Just(6.02e23)]
                    .prop_map(|x: f64| CompValue::Number(Number::from_f64(x).unwrap())),
                any::<String>().prop_map(CompValue::String),
            ]
        }

        fn op() -> impl Strategy<Value = CompareOp> {
            proptest::sample::select(CompareOp::ALL.to_vec())
        }

        fn leaf() -> impl Strategy<Value = Filter> {
            prop_oneof![
                path().prop_map(Filter::Present),
                (path(), op(), value()).prop_map(|(p, o, v)| Filter::Compare(p, o, v)),
            ]
        }

        fn logic(inner: BoxedStrategy<Filter>) -> BoxedStrategy<Filter> {
            prop_oneof![
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
                inner.prop_map(|a| Filter::Not(Box::new(a))),
            ]
            .boxed()
        }

        fn filter() -> impl Strategy<Value = Filter> {
            let value_filter = leaf().prop_recursive(3, 12, 2, |inner| logic(inner.boxed()));
            let atom = prop_oneof![
                3 => leaf(),
                1 => (path(), value_filter).prop_map(|(p, f)| Filter::ValuePath(p, Box::new(f))),
            ];
            atom.prop_recursive(4, 24, 2, |inner| logic(inner.boxed()))
        }

        fn filterish() -> impl Strategy<Value = String> {
            let piece = proptest::sample::select(vec![
                "(",
                ")",
                "[",
                "]",
                " ",
                " and ",
                " or ",
                "not ",
                "not(",
                " eq ",
                " NE ",
                " co ",
                " gt ",
                " pr",
                " pr ",
                "\"x\"",
                "\"\\u00e9\"",
                "\"",
                "\\",
                "userName",
                "emails",
                "emails.value",
                "urn:a:b:c",
                ":",
                ".",
                "1",
                "-2.5e3",
                "true",
                "null",
                "é",
                "$ref",
            ]);
            proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
        }

        proptest! {
            #[test]
            fn parse_never_panics(text in any::<String>()) {
                if let Ok(f) = parse(&text) {
                    f.matches(&user());
                }
            }

            #[test]
            fn parse_filterish_round_trips(text in filterish()) {
                match parse(&text) {
                    Ok(f) => {
                        prop_assert_eq!(parse(&f.to_string()), Ok(f.clone()));
                        f.matches(&user());
                        f.simple_eq();
                    }
                    Err(e) => {
                        prop_assert!(e.offset().is_some_and(|o| o <= text.chars().count()));
                    }
                }
            }

            #[test]
            fn display_round_trips(f in filter()) {
                let text = f.to_string();
                prop_assert_eq!(parse(&text), Ok(f.clone()), "{}", text);
                f.matches(&user());
            }
        }
    }
}
