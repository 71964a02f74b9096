//! The `attributes` / `excludedAttributes` parameters (RFC 7644 §3.9) and sorting
//! (RFC 7644 §3.4.2.3) over resources in their JSON form.
//!
//! # Projection rules
//!
//! * Both parameters take comma-separated attribute paths, whitespace around each tolerated,
//!   with the path syntax of filters ([`AttrPath`]): `userName`, `name.givenName`,
//!   `emails.value`, `urn:ietf:params:scim:schemas:core:2.0:User:userName`, an extension's
//!   whole object `urn:...:activity:2.0:User`, or one of its members
//!   `urn:...:activity:2.0:User:lastActivity`. Empty entries are skipped; a parameter that is
//!   empty or only whitespace counts as absent. Both given at once is refused (`invalidValue`).
//! * Names match JSON keys case-insensitively; kept keys keep their spelling.
//! * `attributes`: only the named attributes are kept, plus `id` and `schemas`, which are always
//!   returned. A sub-attribute keeps only that member of a complex attribute, and of each
//!   element of a multi-valued one (`emails.value` keeps `emails` elements with only `value`).
//!   A complex attribute or element left with nothing is dropped, and so is a multi-valued
//!   attribute left with no elements. `meta` is returned only when asked for.
//! * `excludedAttributes`: the named attributes (or sub-attributes) are removed, but never `id`
//!   or `schemas`; a complex value or element emptied by the removal is dropped.
//! * A core schema URN alone (`urn:ietf:params:scim:schemas:core:2.0:User`) names all the core
//!   (non-URN) top-level attributes.
//!
//! # Sorting rules
//!
//! [`sort`] is stable. The key is the attribute's value; for a multi-valued attribute the
//! element with `"primary": true`, else the first, and for a complex value without a
//! sub-attribute its `value`. Strings compare case-insensitively (except the case-exact
//! attributes of [`crate::filter::default_case_exact`]), strings that are RFC 3339 date-times
//! compare as instants, numbers numerically. Between types: booleans, then numbers, then
//! date-times, then other strings. Resources without a value (absent, null, or a complex value
//! without `value`) sort last ascending; descending is the exact reverse order, so they come
//! first, as RFC 7644 §3.4.2.3 asks. Equal keys keep their order in both directions.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::filter::{self, AttrPath, get_ci};

/// Longest `attributes` / `excludedAttributes` value accepted, in bytes.
pub const MAX_LIST_LEN: usize = 8192;

/// Longest piece of the input quoted back in an error message, in characters.
const QUOTE_MAX: usize = 60;

/// Why a projection or sort parameter was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectionError {
    #[error("attributes and excludedAttributes cannot both be given")]
    BothGiven,
    #[error("invalid attribute path `{path}` in {param}: {reason}")]
    InvalidPath {
        param: &'static str,
        path: String,
        reason: String,
    },
    #[error("{param} is {len} bytes long, the longest accepted is {max}")]
    TooLong {
        param: &'static str,
        len: usize,
        max: usize,
    },
    #[error("invalid sortOrder `{0}`: expected `ascending` or `descending`")]
    InvalidSortOrder(String),
}

impl ProjectionError {
    /// The SCIM `scimType`: `invalidPath` for a malformed attribute path, else `invalidValue`.
    pub fn scim_type(&self) -> &'static str {
        match self {
            ProjectionError::InvalidPath { .. } => "invalidPath",
            ProjectionError::BothGiven
            | ProjectionError::TooLong { .. }
            | ProjectionError::InvalidSortOrder(_) => "invalidValue",
        }
    }
}

fn quote(text: &str) -> String {
    let mut out: String = text.chars().take(QUOTE_MAX).collect();
    if text.chars().nth(QUOTE_MAX).is_some() {
        out.push_str("...");
    }
    out
}

/// A node of the selection: the lowercased names below it, or the whole value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Sel {
    whole: bool,
    /// Top level only: every core (non-URN) attribute.
    all_core: bool,
    children: BTreeMap<String, Sel>,
}

impl Sel {
    fn insert(&mut self, components: &[String]) {
        let mut node = self;
        for component in components {
            if node.whole {
                return;
            }
            node = node.children.entry(component.clone()).or_default();
        }
        node.whole = true;
        node.children.clear();
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Mode {
    #[default]
    All,
    Include,
    Exclude,
}

/// What of a resource to return, from `attributes` / `excludedAttributes`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    mode: Mode,
    sel: Sel,
}

impl Projection {
    /// Parses the two parameters (each a comma-separated list of attribute paths).
    pub fn parse(
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Projection, ProjectionError> {
        let attributes = attributes.filter(|s| !s.trim().is_empty());
        let excluded = excluded.filter(|s| !s.trim().is_empty());
        match (attributes, excluded) {
            (Some(_), Some(_)) => Err(ProjectionError::BothGiven),
            (None, None) => Ok(Projection::default()),
            (Some(list), None) => Ok(Projection {
                mode: Mode::Include,
                sel: parse_list(list, "attributes")?,
            }),
            (None, Some(list)) => Ok(Projection {
                mode: Mode::Exclude,
                sel: parse_list(list, "excludedAttributes")?,
            }),
        }
    }

    /// Whether the projection returns resources unchanged (neither parameter given).
    pub fn is_all(&self) -> bool {
        self.mode == Mode::All
    }

    /// Applies the projection to one resource (a JSON object; anything else is left alone).
    pub fn apply(&self, resource: &mut Value) {
        let Value::Object(obj) = resource else {
            return;
        };
        match self.mode {
            Mode::All => {}
            Mode::Include => include_top(obj, &self.sel),
            Mode::Exclude => exclude_top(obj, &self.sel),
        }
    }
}

fn parse_list(list: &str, param: &'static str) -> Result<Sel, ProjectionError> {
    if list.len() > MAX_LIST_LEN {
        return Err(ProjectionError::TooLong {
            param,
            len: list.len(),
            max: MAX_LIST_LEN,
        });
    }
    let mut sel = Sel::default();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        add_path(&mut sel, entry, param)?;
    }
    Ok(sel)
}

fn add_path(sel: &mut Sel, raw: &str, param: &'static str) -> Result<(), ProjectionError> {
    let starts_urn = raw.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
    if starts_urn {
        if filter::is_core_schema(raw) {
            sel.all_core = true;
            return Ok(());
        }
        if filter::is_valid_urn(raw) {
            // Possibly a whole extension: it applies when the resource has a key spelt so.
            sel.insert(&[raw.to_lowercase()]);
        }
    }
    match AttrPath::parse(raw) {
        Ok(path) => {
            sel.insert(&components(&path));
            Ok(())
        }
        // A URN that is not also `urn:...:attribute` (its last segment is not a name) can
        // still name an extension object.
        Err(_) if starts_urn && filter::is_valid_urn(raw) => Ok(()),
        Err(e) => Err(ProjectionError::InvalidPath {
            param,
            path: quote(raw),
            reason: e.to_string(),
        }),
    }
}

/// The lowercased keys a path walks through from the top of a resource.
fn components(path: &AttrPath) -> Vec<String> {
    let mut out = Vec::with_capacity(3);
    if let Some(urn) = path.urn.as_deref().filter(|u| !filter::is_core_schema(u)) {
        out.push(urn.to_lowercase());
    }
    out.push(path.name.to_lowercase());
    if let Some(sub) = &path.sub {
        out.push(sub.to_lowercase());
    }
    out
}

fn is_always_returned(key: &str) -> bool {
    key.eq_ignore_ascii_case("id") || key.eq_ignore_ascii_case("schemas")
}

fn is_urn_key(key: &str) -> bool {
    key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

fn include_top(obj: &mut Map<String, Value>, sel: &Sel) {
    obj.retain(|key, value| {
        if is_always_returned(key) || (sel.all_core && !is_urn_key(key)) {
            return true;
        }
        match sel.children.get(&key.to_lowercase()) {
            None => false,
            Some(s) if s.whole => true,
            Some(s) => include_in(value, s),
        }
    });
}

/// Keeps only the selected members of `value`; whether anything is left.
fn include_in(value: &mut Value, sel: &Sel) -> bool {
    match value {
        Value::Object(obj) => {
            obj.retain(|key, member| match sel.children.get(&key.to_lowercase()) {
                None => false,
                Some(s) if s.whole => true,
                Some(s) => include_in(member, s),
            });
            !obj.is_empty()
        }
        Value::Array(items) => {
            items.retain_mut(|item| item.is_object() && include_in(item, sel));
            !items.is_empty()
        }
        // A sub-attribute of a simple value: nothing to keep.
        _ => false,
    }
}

fn exclude_top(obj: &mut Map<String, Value>, sel: &Sel) {
    obj.retain(|key, value| {
        if is_always_returned(key) {
            return true;
        }
        if sel.all_core && !is_urn_key(key) {
            return false;
        }
        match sel.children.get(&key.to_lowercase()) {
            None => true,
            Some(s) if s.whole => false,
            Some(s) => exclude_in(value, s),
        }
    });
}

/// Removes the selected members of `value`; whether it is still worth keeping.
fn exclude_in(value: &mut Value, sel: &Sel) -> bool {
    match value {
        Value::Object(obj) => {
            obj.retain(|key, member| match sel.children.get(&key.to_lowercase()) {
                None => true,
                Some(s) if s.whole => false,
                Some(s) => exclude_in(member, s),
            });
            !obj.is_empty()
        }
        Value::Array(items) => {
            items.retain_mut(|item| !item.is_object() || exclude_in(item, sel));
            !items.is_empty()
        }
        _ => true,
    }
}

// ---------------------------------------------------------------------------------------------
// Sorting

/// Parses `sortOrder`: `ascending` (the default, also for an empty value) or `descending`,
/// case-insensitively. Returns whether the order is descending.
pub fn parse_sort_order(order: Option<&str>) -> Result<bool, ProjectionError> {
    match order.map(str::trim) {
        None | Some("") => Ok(false),
        Some(o) if o.eq_ignore_ascii_case("ascending") => Ok(false),
        Some(o) if o.eq_ignore_ascii_case("descending") => Ok(true),
        Some(o) => Err(ProjectionError::InvalidSortOrder(quote(o))),
    }
}

/// A float with a total order, for sort keys.
#[derive(Debug, Clone, Copy)]
struct TotalF64(f64);

impl PartialEq for TotalF64 {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for TotalF64 {}

impl PartialOrd for TotalF64 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TotalF64 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// A sort key; variant order is the order between types, `Missing` last.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    Bool(bool),
    Number(TotalF64),
    Time(DateTime<Utc>),
    Text(String),
    Missing,
}

/// Sorts resources by `sort_by` (an attribute path), stably; see the module documentation.
pub fn sort(
    resources: &mut [Value],
    sort_by: &str,
    descending: bool,
) -> Result<(), ProjectionError> {
    let order = sorted_order(resources.iter(), sort_by, descending)?;
    let mut taken: Vec<Option<Value>> = resources.iter_mut().map(|r| Some(r.take())).collect();
    for (slot, i) in resources.iter_mut().zip(order) {
        *slot = taken[i].take().unwrap_or_default();
    }
    Ok(())
}

/// The order `sort` would put `resources` in, as their indices: only each resource's key is
/// built (one small value per resource), never a copy of a resource, so a listing sorts a
/// tenant of any size by projections and copies only the page it serves.
pub fn sorted_order<'a>(
    resources: impl Iterator<Item = &'a Value>,
    sort_by: &str,
    descending: bool,
) -> Result<Vec<usize>, ProjectionError> {
    let raw = sort_by.trim();
    let path = AttrPath::parse(raw).map_err(|e| ProjectionError::InvalidPath {
        param: "sortBy",
        path: quote(raw),
        reason: e.to_string(),
    })?;
    let exact = filter::default_case_exact(&path.normalized());
    let mut keyed: Vec<(SortKey, usize)> = resources
        .enumerate()
        .map(|(i, r)| (sort_key(r, &path, exact), i))
        .collect();
    // Stable: equal keys keep their order (the index breaks ties in both directions).
    if descending {
        keyed.sort_by(|(a, i), (b, j)| b.cmp(a).then(i.cmp(j)));
    } else {
        keyed.sort_by(|(a, i), (b, j)| a.cmp(b).then(i.cmp(j)));
    }
    Ok(keyed.into_iter().map(|(_, i)| i).collect())
}

/// The element of a multi-valued attribute that stands for it: the primary one, else the first.
fn representative(value: &Value) -> Option<&Value> {
    match value {
        Value::Array(items) => items
            .iter()
            .find(|item| get_ci(item, "primary") == Some(&Value::Bool(true)))
            .or_else(|| items.first()),
        other => Some(other),
    }
}

fn sort_key(resource: &Value, path: &AttrPath, exact: bool) -> SortKey {
    let value = filter::base_of(resource, path)
        .and_then(|base| get_ci(base, &path.name))
        .and_then(representative);
    let value = match (&path.sub, value) {
        (Some(sub), Some(v)) => get_ci(v, sub).and_then(representative),
        (None, Some(v)) if v.is_object() => get_ci(v, "value"),
        (None, v) => v,
        (Some(_), None) => None,
    };
    match value {
        Some(Value::Bool(b)) => SortKey::Bool(*b),
        Some(Value::Number(n)) => n
            .as_f64()
            .map_or(SortKey::Missing, |x| SortKey::Number(TotalF64(x))),
        Some(Value::String(s)) => {
            let time = s
                .as_bytes()
                .first()
                .is_some_and(u8::is_ascii_digit)
                .then(|| DateTime::parse_from_rfc3339(s).ok())
                .flatten();
            match time {
                Some(t) => SortKey::Time(t.with_timezone(&Utc)),
                None if exact => SortKey::Text(s.clone()),
                None => SortKey::Text(s.to_lowercase()),
            }
        }
        _ => SortKey::Missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ACTIVITY: &str =
        "urn:governance-connector:params:scim:schemas:extension:activity:2.0:User";

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ACTIVITY],
            "id": "AC1",
            "userName": "alice",
            "active": true,
            "name": {"givenName": "Alice", "familyName": "Liddell"},
            "emails": [
                {"value": "a@x.com", "type": "work", "primary": true},
                {"value": "b@y.org", "type": "home"}
            ],
            "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z"},
            ACTIVITY: {"lastActivity": "2025-01-01T00:00:00Z", "status": "active"}
        })
    }

    fn project(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        let mut u = user();
        Projection::parse(attributes, excluded)
            .unwrap_or_else(|e| panic!("{attributes:?} {excluded:?}: {e}"))
            .apply(&mut u);
        u
    }

    fn schemas() -> Value {
        user()["schemas"].clone()
    }

    #[test]
    fn attributes_keep_only_what_is_named() {
        let cases: Vec<(&str, Value)> = vec![
            (
                "userName",
                json!({"schemas": schemas(), "id": "AC1", "userName": "alice"}),
            ),
            (
                " USERNAME , active ",
                json!({"schemas": schemas(), "id": "AC1", "userName": "alice", "active": true}),
            ),
            ("id", json!({"schemas": schemas(), "id": "AC1"})),
            ("nosuch", json!({"schemas": schemas(), "id": "AC1"})),
            (
                "userName,,",
                json!({"schemas": schemas(), "id": "AC1", "userName": "alice"}),
            ),
            (
                "emails.value",
                json!({"schemas": schemas(), "id": "AC1",
                       "emails": [{"value": "a@x.com"}, {"value": "b@y.org"}]}),
            ),
            (
                "emails.value,emails.TYPE",
                json!({"schemas": schemas(), "id": "AC1",
                       "emails": [{"value": "a@x.com", "type": "work"},
                                  {"value": "b@y.org", "type": "home"}]}),
            ),
            (
                "emails.value,emails",
                json!({"schemas": schemas(), "id": "AC1", "emails": user()["emails"].clone()}),
            ),
            ("emails.display", json!({"schemas": schemas(), "id": "AC1"})),
            ("userName.x", json!({"schemas": schemas(), "id": "AC1"})),
            (
                "name.givenName",
                json!({"schemas": schemas(), "id": "AC1", "name": {"givenName": "Alice"}}),
            ),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName",
                json!({"schemas": schemas(), "id": "AC1", "name": {"familyName": "Liddell"}}),
            ),
            (
                "meta.resourceType",
                json!({"schemas": schemas(), "id": "AC1", "meta": {"resourceType": "User"}}),
            ),
            (
                ACTIVITY,
                json!({"schemas": schemas(), "id": "AC1", ACTIVITY: user()[ACTIVITY].clone()}),
            ),
            (
                "urn:governance-connector:params:scim:schemas:extension:activity:2.0:user",
                json!({"schemas": schemas(), "id": "AC1", ACTIVITY: user()[ACTIVITY].clone()}),
            ),
            (
                "urn:governance-connector:params:scim:schemas:extension:activity:2.0:User:lastActivity",
                json!({"schemas": schemas(), "id": "AC1",
                       ACTIVITY: {"lastActivity": "2025-01-01T00:00:00Z"}}),
            ),
            ("urn:ietf:params:scim:schemas:core:2.0:User", {
                let mut u = user();
                u.as_object_mut().unwrap().remove(ACTIVITY);
                u
            }),
            (
                "urn:other:ext:2.0:User",
                json!({"schemas": schemas(), "id": "AC1"}),
            ),
            (
                "urn:other:ext:2.0",
                json!({"schemas": schemas(), "id": "AC1"}),
            ),
        ];
        for (attributes, expected) in cases {
            assert_eq!(project(Some(attributes), None), expected, "{attributes:?}");
        }
    }

    #[test]
    fn kept_keys_keep_their_spelling_and_order() {
        let got = project(Some("EMAILS.VALUE,USERNAME"), None);
        let keys: Vec<&String> = got.as_object().unwrap().keys().collect();
        assert!(keys.contains(&&"userName".to_string()));
        assert!(keys.contains(&&"emails".to_string()));
        assert!(got["emails"][0].get("value").is_some());
    }

    #[test]
    fn excluded_attributes_remove_what_is_named() {
        let without = |f: &dyn Fn(&mut Map<String, Value>)| {
            let mut u = user();
            f(u.as_object_mut().unwrap());
            u
        };
        let cases: Vec<(&str, Value)> = vec![
            (
                "userName",
                without(&|u| {
                    u.remove("userName");
                }),
            ),
            (
                "USERNAME, Active",
                without(&|u| {
                    u.remove("userName");
                    u.remove("active");
                }),
            ),
            ("id,schemas", user()),
            ("ID , Schemas", user()),
            ("nosuch", user()),
            (
                "meta",
                without(&|u| {
                    u.remove("meta");
                }),
            ),
            (
                "emails.type",
                without(&|u| {
                    u["emails"] =
                        json!([{"value": "a@x.com", "primary": true}, {"value": "b@y.org"}]);
                }),
            ),
            (
                "emails.type,emails.value,emails.primary",
                without(&|u| {
                    u.remove("emails");
                }),
            ),
            (
                "name.givenName",
                without(&|u| u["name"] = json!({"familyName": "Liddell"})),
            ),
            (
                "name.givenName,name.familyName",
                without(&|u| {
                    u.remove("name");
                }),
            ),
            (
                ACTIVITY,
                without(&|u| {
                    u.remove(ACTIVITY);
                }),
            ),
            (
                "urn:governance-connector:params:scim:schemas:extension:activity:2.0:User:status",
                without(&|u| u[ACTIVITY] = json!({"lastActivity": "2025-01-01T00:00:00Z"})),
            ),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:meta.created",
                without(&|u| u["meta"] = json!({"resourceType": "User"})),
            ),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User",
                json!({"schemas": schemas(), "id": "AC1", ACTIVITY: user()[ACTIVITY].clone()}),
            ),
        ];
        for (excluded, expected) in cases {
            assert_eq!(project(None, Some(excluded)), expected, "{excluded:?}");
        }
    }

    #[test]
    fn parameters_and_errors() {
        assert!(Projection::parse(None, None).unwrap().is_all());
        assert!(Projection::parse(Some(""), Some("  ")).unwrap().is_all());
        assert_eq!(project(None, None), user());
        assert_eq!(project(Some(" "), None), user());
        assert!(!Projection::parse(Some("userName"), None).unwrap().is_all());

        let long = vec!["userName"; 2000].join(",");
        let cases: Vec<(Option<&str>, Option<&str>, &str, &str)> = vec![
            (
                Some("userName"),
                Some("emails"),
                "invalidValue",
                "cannot both be given",
            ),
            (Some("1bad"), None, "invalidPath", "`1bad` in attributes"),
            (None, Some("a.b.c"), "invalidPath", "in excludedAttributes"),
            (
                Some("userName,emails[type eq \"work\"]"),
                None,
                "invalidPath",
                "not allowed",
            ),
            (Some("foo:bar"), None, "invalidPath", "must be a URN"),
            (Some("user name"), None, "invalidPath", "not allowed"),
            (Some(&long), None, "invalidValue", "bytes long"),
        ];
        for (attributes, excluded, scim_type, needle) in cases {
            let err = Projection::parse(attributes, excluded).expect_err(needle);
            assert_eq!(err.scim_type(), scim_type, "{err}");
            assert!(err.to_string().contains(needle), "{err}");
        }

        let mut not_object = json!([1, 2]);
        Projection::parse(Some("userName"), None)
            .unwrap()
            .apply(&mut not_object);
        assert_eq!(not_object, json!([1, 2]));
    }

    #[test]
    fn sort_order() {
        let cases: &[(Option<&str>, Result<bool, ()>)] = &[
            (None, Ok(false)),
            (Some(""), Ok(false)),
            (Some("ascending"), Ok(false)),
            (Some("Ascending"), Ok(false)),
            (Some("DESCENDING"), Ok(true)),
            (Some(" descending "), Ok(true)),
            (Some("desc"), Err(())),
            (Some("up"), Err(())),
        ];
        for (input, expected) in cases {
            let got = parse_sort_order(*input);
            match expected {
                Ok(d) => assert_eq!(got, Ok(*d), "{input:?}"),
                Err(()) => {
                    let err = got.expect_err("refused");
                    assert_eq!(err.scim_type(), "invalidValue");
                    assert!(err.to_string().contains("expected `ascending`"), "{err}");
                }
            }
        }
    }

    fn ids(resources: &[Value]) -> Vec<&str> {
        resources
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect()
    }

    fn people() -> Vec<Value> {
        vec![
            json!({"id": "1", "userName": "carol", "n": 3, "meta": {"created": "2024-03-01T00:00:00Z"},
                   "emails": [{"value": "z@x.com"}, {"value": "a@x.com", "primary": true}],
                   "name": {"familyName": "Brown"},
                   ACTIVITY: {"lastActivity": "2025-02-01T00:00:00Z"}}),
            json!({"id": "2", "userName": "Alice", "n": 10, "meta": {"created": "2024-01-01T01:00:00+02:00"},
                   "emails": [{"value": "m@x.com"}, {"value": "b@x.com"}],
                   "name": {"familyName": "adams"}}),
            json!({"id": "3", "userName": "bob", "n": -1.5, "meta": {"created": "2023-12-31T23:30:00Z"},
                   ACTIVITY: {"lastActivity": "2025-01-01T00:00:00Z"}}),
            json!({"id": "4", "n": null, "userName": "BOB",
                   "emails": [{"value": "c@x.com"}], "name": {"familyName": "Clark"}}),
        ]
    }

    #[test]
    fn sorts_by_attribute() {
        let cases: &[(&str, bool, &[&str])] = &[
            ("userName", false, &["2", "3", "4", "1"]),
            ("userName", true, &["1", "3", "4", "2"]),
            ("USERNAME", false, &["2", "3", "4", "1"]),
            ("n", false, &["3", "1", "2", "4"]),
            ("n", true, &["4", "2", "1", "3"]),
            // 2023-12-31T23:00Z < 23:30Z < 2024-03-01; lexicographic order would differ.
            ("meta.created", false, &["2", "3", "1", "4"]),
            ("meta.created", true, &["4", "1", "3", "2"]),
            // primary element's value, else the first element's
            ("emails", false, &["1", "4", "2", "3"]),
            ("emails.value", false, &["1", "4", "2", "3"]),
            ("emails.value", true, &["3", "2", "4", "1"]),
            ("name.familyName", false, &["2", "1", "4", "3"]),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName",
                false,
                &["2", "1", "4", "3"],
            ),
            (
                "urn:governance-connector:params:scim:schemas:extension:activity:2.0:User:lastActivity",
                false,
                &["3", "1", "2", "4"],
            ),
            (
                "urn:governance-connector:params:scim:schemas:extension:activity:2.0:User:lastActivity",
                true,
                &["2", "4", "1", "3"],
            ),
            ("nosuch", false, &["1", "2", "3", "4"]),
            ("nosuch", true, &["1", "2", "3", "4"]),
            ("name", false, &["1", "2", "3", "4"]),
        ];
        for (sort_by, descending, expected) in cases {
            let mut resources = people();
            sort(&mut resources, sort_by, *descending).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                ids(&resources),
                *expected,
                "{sort_by:?} descending={descending}"
            );
        }
    }

    #[test]
    fn sort_mixed_types_and_case_exact_id() {
        let mut resources = vec![
            json!({"id": "b", "v": "text"}),
            json!({"id": "B", "v": 1}),
            json!({"id": "a", "v": true}),
            json!({"id": "A", "v": "2024-01-01T00:00:00Z"}),
            json!({"id": "c", "v": {"x": 1}}),
        ];
        sort(&mut resources, "v", false).unwrap();
        assert_eq!(ids(&resources), ["a", "B", "A", "b", "c"]);
        sort(&mut resources, "id", false).unwrap();
        assert_eq!(ids(&resources), ["A", "B", "a", "b", "c"]);
    }

    #[test]
    fn sort_refuses_bad_paths() {
        for sort_by in ["", "1x", "a.b.c", "emails[type pr]"] {
            let err = sort(&mut people(), sort_by, false).expect_err(sort_by);
            assert_eq!(err.scim_type(), "invalidPath", "{err}");
            assert!(err.to_string().contains("sortBy"), "{err}");
        }
    }
}
