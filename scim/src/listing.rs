//! A list request's parameters (RFC 7644 §3.4.2, from the query or a `.search` body) and the
//! stages of answering one: filter, sort, page, project.

use crate::discovery::MAX_RESULTS;
use crate::errors::ScimError;
use crate::filter::{self, Filter};
use crate::projection::{self, Projection};
use serde_json::Value;
use std::collections::BTreeMap;

/// The page size when the client names none.
pub const DEFAULT_COUNT: usize = 100;

/// What a list request asks.
#[derive(Debug)]
pub struct ListParams {
    pub filter: Option<Filter>,
    /// 1-based.
    pub start_index: usize,
    pub count: usize,
    pub projection: Projection,
    pub sort_by: Option<String>,
    pub descending: bool,
}

/// A number parameter: RFC 7644 §3.4.2.4 takes values below 1 (startIndex) or 0 (count) as
/// those bounds; a value that is not an integer is the client's error.
fn number(name: &str, raw: Option<&str>) -> Result<Option<i64>, ScimError> {
    raw.map(|r| {
        r.trim().parse::<i64>().map_err(|_| {
            ScimError::bad_request(
                "invalidValue",
                format!("{name} must be an integer, not {r:?}"),
            )
        })
    })
    .transpose()
}

impl ListParams {
    /// From named values (names compared case-insensitively).
    pub fn from_pairs(pairs: &BTreeMap<String, String>) -> Result<Self, ScimError> {
        let get = |k: &str| pairs.get(&k.to_ascii_lowercase()).map(String::as_str);
        let filter = get("filter")
            .filter(|f| !f.trim().is_empty())
            .map(filter::parse)
            .transpose()
            .map_err(|e| ScimError::bad_request(e.scim_type(), e.to_string()))?;
        let start_index = number("startIndex", get("startIndex"))?.unwrap_or(1).max(1) as usize;
        let count = number("count", get("count"))?
            .unwrap_or(DEFAULT_COUNT as i64)
            .clamp(0, MAX_RESULTS as i64) as usize;
        let projection = Projection::parse(get("attributes"), get("excludedAttributes"))
            .map_err(|e| ScimError::bad_request(e.scim_type(), e.to_string()))?;
        let descending = projection::parse_sort_order(get("sortOrder"))
            .map_err(|e| ScimError::bad_request(e.scim_type(), e.to_string()))?;
        Ok(Self {
            filter,
            start_index,
            count,
            projection,
            sort_by: get("sortBy")
                .filter(|s| !s.trim().is_empty())
                .map(str::to_string),
            descending,
        })
    }

    /// From a URL query.
    pub fn from_query(query: Option<&str>) -> Result<Self, ScimError> {
        let mut pairs = BTreeMap::new();
        if let Some(q) = query {
            let uri: axum::http::Uri = format!("/?{q}").parse().map_err(|_| {
                ScimError::bad_request("invalidSyntax", "the query string is not a valid URL query")
            })?;
            let axum::extract::Query(raw): axum::extract::Query<Vec<(String, String)>> =
                axum::extract::Query::try_from_uri(&uri).map_err(|e| {
                    ScimError::bad_request(
                        "invalidSyntax",
                        format!("the query string cannot be read: {e}"),
                    )
                })?;
            for (k, v) in raw {
                pairs.insert(k.to_ascii_lowercase(), v);
            }
        }
        Self::from_pairs(&pairs)
    }

    /// From a `POST …/.search` body (RFC 7644 §3.4.3): the same parameters as JSON members,
    /// `attributes` and `excludedAttributes` as arrays.
    pub fn from_search(body: &[u8]) -> Result<Self, ScimError> {
        let v: Value = serde_json::from_slice(body).map_err(|e| {
            ScimError::bad_request(
                "invalidSyntax",
                format!("the search request is not JSON: {e}"),
            )
        })?;
        let Some(o) = v.as_object() else {
            return Err(ScimError::bad_request(
                "invalidSyntax",
                "the search request must be a JSON object",
            ));
        };
        let mut pairs = BTreeMap::new();
        for (k, v) in o {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                _ => continue,
            };
            pairs.insert(k.to_ascii_lowercase(), text);
        }
        Self::from_pairs(&pairs)
    }

    /// Filter, sort and page `all` (each resource as it is served), then project the page:
    /// the total and the page's resources. Only the matching resources' references are held;
    /// a sort orders their keys, and only the page is copied.
    pub fn answer<'a>(
        &self,
        all: impl Iterator<Item = &'a Value>,
        serve: impl Fn(&Value) -> Value,
    ) -> Result<(usize, Vec<Value>), ScimError> {
        let matching: Vec<&Value> = all
            .filter(|r| self.filter.as_ref().is_none_or(|f| f.matches(r)))
            .collect();
        let total = matching.len();
        let skip = self.start_index - 1;
        let page: Vec<Value> = match &self.sort_by {
            Some(by) => projection::sorted_order(matching.iter().copied(), by, self.descending)
                .map_err(|e| ScimError::bad_request(e.scim_type(), e.to_string()))?
                .into_iter()
                .skip(skip)
                .take(self.count)
                .map(|i| serve(matching[i]))
                .collect(),
            None => matching
                .into_iter()
                .skip(skip)
                .take(self.count)
                .map(&serve)
                .collect(),
        };
        let page = page
            .into_iter()
            .map(|mut r| {
                self.projection.apply(&mut r);
                r
            })
            .collect();
        Ok((total, page))
    }
}
