//! Twilio's two list envelopes: the 2010 API's (`next_page_uri`, a path) and the v1/v2 APIs'
//! (`meta.next_page_url`, absolute, with `meta.key`).

use serde::Serialize;
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
    has_next: bool,
}

fn window(query: &BTreeMap<String, String>, items: &[Value]) -> Window {
    let (size, page) = page_params(query, 50);
    let start = page * size;
    Window {
        chunk: items.iter().skip(start).take(size).cloned().collect(),
        page,
        size,
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
    let (range, page, size) = page_range(query, total);
    let chunk = slice(range);
    let mut v = envelope_2010(path, query, total, page, size, chunk.len());
    v[key] = Value::Array(chunk);
    v
}

/// [`page_2010_of`] written straight to JSON text, its items serialised as they are built
/// (a page of hundreds of usage records costs no `Value` tree). The page reads the same: the
/// envelope's keys are written sorted, as a `Value` object writes them, with `key` last (it
/// sorts after the envelope's; the callers' keys do).
pub fn page_2010_text<T: Serialize>(
    path: &str,
    query: &BTreeMap<String, String>,
    key: &str,
    total: usize,
    slice: impl FnOnce(std::ops::Range<usize>) -> Vec<T>,
) -> String {
    let (range, page, size) = page_range(query, total);
    let chunk = slice(range);
    let envelope = envelope_2010(path, query, total, page, size, chunk.len());
    let mut out = envelope.to_string();
    out.pop(); // the envelope's closing brace
    out.push(',');
    out.push_str(&Value::String(key.to_string()).to_string());
    out.push(':');
    let mut bytes = out.into_bytes();
    serde_json::to_writer(&mut bytes, &chunk).expect("usage records serialise");
    bytes.push(b'}');
    String::from_utf8(bytes).expect("serde_json writes UTF-8")
}

/// The items a 2010 page holds, its number and its size.
fn page_range(
    query: &BTreeMap<String, String>,
    total: usize,
) -> (std::ops::Range<usize>, usize, usize) {
    let (size, page) = page_params(query, 50);
    let start = (page * size).min(total);
    (start..(start + size).min(total), page, size)
}

/// A 2010 list envelope (links, page, start, end) for a page of `len` items.
fn envelope_2010(
    path: &str,
    query: &BTreeMap<String, String>,
    total: usize,
    page: usize,
    size: usize,
    len: usize,
) -> Value {
    let start = page * size;
    let has_next = start + size < total;
    let uri = |p: usize| format!("{path}?{}", query_string(query, p));
    json!({
        "first_page_uri": uri(0),
        "next_page_uri": link(has_next, || uri(page + 1)),
        "previous_page_uri": link(page > 0, || uri(page.saturating_sub(1))),
        "page": page,
        "page_size": size,
        "start": start,
        "end": start + len.saturating_sub(1),
        "uri": uri(page),
    })
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
