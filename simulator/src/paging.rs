//! Twilio's two list envelopes: the 2010 API's (`next_page_uri`, a path) and the v1/v2 APIs'
//! (`meta.next_page_url`, absolute, with `meta.key`).

use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Page size and page number from a query; Twilio caps page size at 1000.
pub fn page_params(query: &BTreeMap<String, String>, default_size: usize) -> (usize, usize) {
    let size = query
        .get("PageSize")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(default_size)
        .clamp(1, 1000);
    let page = query
        .get("Page")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    (size, page)
}

fn query_string(query: &BTreeMap<String, String>, page: usize) -> String {
    let mut q: Vec<String> = query
        .iter()
        .filter(|(k, _)| k.as_str() != "Page" && k.as_str() != "PageToken")
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    q.push(format!("Page={page}"));
    q.push(format!("PageToken=PT{page}"));
    q.join("&")
}

/// Percent-encode a query value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The slice of `items` a query asks for.
struct Window {
    chunk: Vec<Value>,
    page: usize,
    size: usize,
    start: usize,
    has_next: bool,
}

fn window(query: &BTreeMap<String, String>, items: &[Value]) -> Window {
    let (size, page) = page_params(query, 50);
    let start = page * size;
    Window {
        chunk: items.iter().skip(start).take(size).cloned().collect(),
        page,
        size,
        start,
        has_next: start + size < items.len(),
    }
}

/// A link when it exists, else null.
fn link(exists: bool, make: impl Fn() -> String) -> Value {
    if exists { json!(make()) } else { Value::Null }
}

/// A 2010 API list page of `items` under `key`.
pub fn page_2010(
    path: &str,
    query: &BTreeMap<String, String>,
    key: &str,
    items: &[Value],
) -> Value {
    page_2010_of(path, query, key, items.len(), |r| items[r].to_vec())
}

/// A 2010 API list page of a list of `total` items of which only the page's are built (by
/// `slice`): long generated lists cost one page per request, not the whole list.
pub fn page_2010_of(
    path: &str,
    query: &BTreeMap<String, String>,
    key: &str,
    total: usize,
    slice: impl FnOnce(std::ops::Range<usize>) -> Vec<Value>,
) -> Value {
    let (size, page) = page_params(query, 50);
    let start = (page * size).min(total);
    let chunk = slice(start..(start + size).min(total));
    let w = Window {
        has_next: start + size < total,
        chunk,
        page,
        size,
        start: page * size,
    };
    let uri = |p: usize| format!("{path}?{}", query_string(query, p));
    let mut v = json!({
        "first_page_uri": uri(0),
        "next_page_uri": link(w.has_next, || uri(w.page + 1)),
        "previous_page_uri": link(w.page > 0, || uri(w.page.saturating_sub(1))),
        "page": w.page,
        "page_size": w.size,
        "start": w.start,
        "end": w.start + w.chunk.len().saturating_sub(1),
        "uri": uri(w.page),
    });
    v[key] = Value::Array(w.chunk);
    v
}

/// A v1/v2 list page of `items` under `key`, with absolute links on `host`.
pub fn page_v1(
    host: &str,
    path: &str,
    query: &BTreeMap<String, String>,
    key: &str,
    items: &[Value],
) -> Value {
    let w = window(query, items);
    let url = |p: usize| format!("https://{host}{path}?{}", query_string(query, p));
    let mut v = json!({
        "meta": {
            "page": w.page,
            "page_size": w.size,
            "first_page_url": url(0),
            "previous_page_url": link(w.page > 0, || url(w.page.saturating_sub(1))),
            "url": url(w.page),
            "next_page_url": link(w.has_next, || url(w.page + 1)),
            "key": key,
        }
    });
    v[key] = Value::Array(w.chunk);
    v
}
