//! Twilio list paging: opaque cursors, next-page links (2010 API `next_page_uri` paths and v1
//! `meta.next_page_url` URLs), and following every page of several lists concurrently.

use crate::errors::ConnectorError;
use crate::http::{Request, Response};
use crate::retry::Client;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;

/// One decoded list page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<I = Value> {
    pub items: Vec<I>,
    /// Absolute URL of the next page, already checked to stay on the same host.
    pub next_url: Option<String>,
}

/// Resolve a page link against `host`; refuse anything that leaves it or is not HTTPS.
pub fn resolve_link(host: &str, link: &str) -> Result<String, ConnectorError> {
    if link.starts_with('/') && !link.starts_with("//") {
        return Ok(format!("https://{host}{link}"));
    }
    let rest = link.strip_prefix("https://").ok_or_else(|| {
        ConnectorError::Refused(format!(
            "page link {link:?} is not an HTTPS URL on {host}; refusing to follow it"
        ))
    })?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if !authority.eq_ignore_ascii_case(host) {
        return Err(ConnectorError::Refused(format!(
            "page link leads to {authority:?}, outside {host}; refusing to follow it"
        )));
    }
    Ok(link.to_string())
}

/// Decode a list page whose items are under `key` (either paging style), straight into typed
/// items: one pass over the bytes, unknown fields skipped, no intermediate JSON tree.
pub fn parse_page<'b, I: serde::Deserialize<'b>>(
    host: &str,
    body: &'b [u8],
    key: &str,
    what: &str,
) -> Result<Page<I>, ConnectorError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let raw = serde::Deserializer::deserialize_map(
        &mut de,
        PageVisitor::<I> {
            key,
            items: PhantomData,
        },
    )
    .and_then(|raw| de.end().map(|()| raw))
    .map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            ConnectorError::MalformedResponse(format!("{what}: unexpected item shape ({e})"))
        }
        _ => ConnectorError::MalformedResponse(format!("{what}: list page is not JSON ({e})")),
    })?;
    let items = match raw.items {
        Some(Some(items)) => items,
        _ => {
            return Err(ConnectorError::MalformedResponse(format!(
                "{what}: list page has no {key:?} array"
            )));
        }
    };
    let link = raw
        .meta
        .as_ref()
        .and_then(|m| m.get("next_page_url"))
        .or(raw.next_page_uri.as_ref())
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let next_url = link.map(|l| resolve_link(host, l)).transpose()?;
    Ok(Page { items, next_url })
}

/// What a page's top level holds, read in one pass: the list under the page's key (absent,
/// null, or items), and the two places a next link may be (both small, kept as JSON values).
struct RawPage<I> {
    items: Option<Option<Vec<I>>>,
    next_page_uri: Option<Value>,
    meta: Option<Value>,
}

/// Reads a page's top-level object, deserializing only the list and the links.
struct PageVisitor<'k, I> {
    key: &'k str,
    items: PhantomData<I>,
}

/// Which top-level field a key names.
enum Field {
    Items,
    NextPageUri,
    Meta,
    Other,
}

/// Reads one top-level key without allocating it.
struct FieldSeed<'k>(&'k str);

impl<'de> serde::de::DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = Field;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Field, D::Error> {
        d.deserialize_str(self)
    }
}

impl serde::de::Visitor<'_> for FieldSeed<'_> {
    type Value = Field;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: serde::de::Error>(self, k: &str) -> Result<Field, E> {
        Ok(if k == self.0 {
            Field::Items
        } else if k == "next_page_uri" {
            Field::NextPageUri
        } else if k == "meta" {
            Field::Meta
        } else {
            Field::Other
        })
    }
}

impl<'de, I: serde::Deserialize<'de>> serde::de::Visitor<'de> for PageVisitor<'_, I> {
    type Value = RawPage<I>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list page object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<RawPage<I>, A::Error> {
        let mut page = RawPage {
            items: None,
            next_page_uri: None,
            meta: None,
        };
        while let Some(field) = map.next_key_seed(FieldSeed(self.key))? {
            match field {
                Field::Items => page.items = Some(map.next_value::<Option<Vec<I>>>()?),
                Field::NextPageUri => page.next_page_uri = Some(map.next_value()?),
                Field::Meta => page.meta = Some(map.next_value()?),
                Field::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(page)
    }
}

/// Most pages one list may have: a longer list is taken for a loop.
const MAX_PAGES: usize = 10_000;

/// A cheap fingerprint of a page link, so loop detection holds 8 bytes per page read.
fn fingerprint(url: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    url.hash(&mut h);
    h.finish()
}

/// Walk several lists at once through the pipelined executor, handing each page to `on_page`
/// as soon as it arrives (with whether it is the list's last) and following its next link at
/// once; `on_page` may start more lists (e.g. a dependent read). A failed page ends its list
/// (reported as an error, last). Nothing is kept between pages but a fingerprint of each link
/// read, so a looping upstream is stopped without holding the pages.
pub fn walk_lists<T, I: DeserializeOwned>(
    client: &mut Client<'_>,
    host: &str,
    starts: Vec<(T, String)>,
    key: &str,
    what: &str,
    on_page: impl FnMut(
        &T,
        Result<Vec<I>, ConnectorError>,
        bool,
    ) -> Result<Vec<(T, String)>, ConnectorError>,
) -> Result<(), ConnectorError> {
    walk_pages(
        client,
        starts,
        |_, response| {
            response.ok(what)?;
            let page = parse_page::<I>(host, &response.body, key, what)?;
            Ok((page.items, page.next_url))
        },
        what,
        on_page,
    )
}

/// [`walk_lists`] over lists of different kinds in one pipeline: `parse` reads each answer
/// by its list's tag into that list's page (`P`, e.g. an enum of item vectors) and its next
/// link, already checked to stay on its host.
pub fn walk_pages<T, P>(
    client: &mut Client<'_>,
    starts: Vec<(T, String)>,
    parse: impl FnMut(&T, &Response) -> Result<(P, Option<String>), ConnectorError>,
    what: &str,
    on_page: impl FnMut(&T, Result<P, ConnectorError>, bool) -> Result<Vec<(T, String)>, ConnectorError>,
) -> Result<(), ConnectorError> {
    walk_pages_reading(client, starts, |_| None, |_| false, parse, what, on_page)
}

/// [`walk_pages`], asking the host for only the fields `reads` names for each list's tag (see
/// [`Request::answer_fields`]) on every page of that list. A list `on_page` starts goes after
/// what is queued, unless `leads` says its tag goes before (a page the walk needs soon).
pub fn walk_pages_reading<T, P>(
    client: &mut Client<'_>,
    starts: Vec<(T, String)>,
    reads: impl Fn(&T) -> Option<&'static str>,
    leads: impl Fn(&T) -> bool,
    mut parse: impl FnMut(&T, &Response) -> Result<(P, Option<String>), ConnectorError>,
    what: &str,
    mut on_page: impl FnMut(
        &T,
        Result<P, ConnectorError>,
        bool,
    ) -> Result<Vec<(T, String)>, ConnectorError>,
) -> Result<(), ConnectorError> {
    let get = |tag: &T, url: String| {
        let r = Request::get(url);
        match reads(tag) {
            Some(fields) => r.reading(fields),
            None => r,
        }
    };
    let mut seen: HashMap<usize, HashSet<u64>> = HashMap::new();
    let mut next_id = 0usize;
    let mut open = |tag: T, url: String, seen: &mut HashMap<usize, HashSet<u64>>| {
        let id = next_id;
        next_id += 1;
        seen.insert(id, HashSet::from([fingerprint(&url)]));
        let request = get(&tag, url);
        ((id, tag), request)
    };
    let jobs: Vec<_> = starts
        .into_iter()
        .map(|(tag, url)| open(tag, url, &mut seen))
        .collect();
    client.run(jobs, |(id, tag), answer, follow| {
        let page = answer.and_then(|r| parse(&tag, &r));
        let (items, next) = match page {
            Ok((items, None)) => (Ok(items), None),
            Ok((items, Some(url))) => {
                let list = seen.entry(id).or_default();
                if list.len() >= MAX_PAGES || !list.insert(fingerprint(&url)) {
                    (
                        Err(ConnectorError::MalformedResponse(format!(
                            "{what}: paging loops back to a page already read"
                        ))),
                        None,
                    )
                } else {
                    (Ok(items), Some(url))
                }
            }
            Err(e) => (Err(e), None),
        };
        let more = on_page(&tag, items, next.is_none())?;
        match next {
            Some(url) => {
                let request = get(&tag, url);
                follow.push((id, tag), request)
            }
            None => {
                seen.remove(&id);
            }
        }
        // A list an answer starts waits behind what is queued (see `FollowUps`); its own
        // next pages then go first.
        for (tag, url) in more {
            let lead = leads(&tag);
            let (t, r) = open(tag, url, &mut seen);
            if lead {
                follow.push(t, r);
            } else {
                follow.push_later(t, r);
            }
        }
        Ok(())
    })
}

/// Follow every page of several lists at once; every list's items, in input order.
pub fn fetch_all_pages<I: DeserializeOwned>(
    client: &mut Client<'_>,
    host: &str,
    first_urls: Vec<String>,
    key: &str,
    what: &str,
) -> Vec<Result<Vec<I>, ConnectorError>> {
    let mut out: Vec<Result<Vec<I>, ConnectorError>> =
        first_urls.iter().map(|_| Ok(Vec::new())).collect();
    let starts = first_urls.into_iter().enumerate().collect();
    let walked = walk_lists(client, host, starts, key, what, |&i, items, _| {
        match (items, &mut out[i]) {
            (Ok(items), Ok(acc)) => acc.extend(items),
            (Err(e), slot) => *slot = Err(e),
            (Ok(_), Err(_)) => {}
        }
        Ok(Vec::new())
    });
    debug_assert!(walked.is_ok(), "collecting pages never fails");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_links_stay_on_host() {
        assert_eq!(
            resolve_link("api.twilio.com", "/2010-04-01/Accounts.json?Page=1").unwrap(),
            "https://api.twilio.com/2010-04-01/Accounts.json?Page=1"
        );
    }

    #[test]
    fn foreign_or_plaintext_links_are_refused() {
        for bad in [
            "https://evil.example/2010-04-01/Accounts.json",
            "http://api.twilio.com/x",
            "//evil.example/x",
            "https://api.twilio.com.evil.example/x",
            "https://api.twilio.com@evil.example/x",
        ] {
            assert!(
                matches!(
                    resolve_link("api.twilio.com", bad),
                    Err(ConnectorError::Refused(_))
                ),
                "{bad} must be refused"
            );
        }
    }

    #[test]
    fn parses_both_paging_styles() {
        let p: Page = parse_page(
            "api.twilio.com",
            br#"{"accounts":[{"sid":"AC1"}],"next_page_uri":"/2010-04-01/Accounts.json?Page=1"}"#,
            "accounts",
            "accounts",
        )
        .unwrap();
        assert_eq!(p.items.len(), 1);
        assert!(p.next_url.unwrap().starts_with("https://api.twilio.com/"));
        let p: Page = parse_page(
            "taskrouter.twilio.com",
            br#"{"workers":[],"meta":{"key":"workers","next_page_url":null}}"#,
            "workers",
            "workers",
        )
        .unwrap();
        assert_eq!(p.next_url, None);
        assert!(parse_page::<Value>("h", b"{\"x\":1}", "workers", "w").is_err());
        assert!(parse_page::<Value>("h", b"{\"workers\":[", "workers", "w").is_err());
        assert!(parse_page::<Value>("h", b"{\"workers\":null}", "workers", "w").is_err());
        assert!(parse_page::<Value>("h", b"{\"workers\":[]} x", "workers", "w").is_err());
        assert!(parse_page::<Value>("h", b"[]", "workers", "w").is_err());
    }

    #[test]
    fn typed_pages_read_the_same_as_the_json_tree() {
        use crate::twilio::usage::UsageRecord;
        let body = br#"{"first_page_uri":"/a","usage_records":[
            {"category":"sms","price":"1.5","end_date":"2025-02-28","subresource_uris":{"daily":"/d"},"count":"3"},
            {"category":null,"price":0,"end_date":"2025-01-31","description":"Usage of \u00e9"},
            {"price":{"odd":[1,2]},"end_date":null}
        ],"meta":{"key":"usage_records"},"next_page_uri":"/2010-04-01/x?Page=1","page":0}"#;
        let typed: Page<UsageRecord> =
            parse_page("api.twilio.com", body, "usage_records", "u").unwrap();
        let tree: Page = parse_page("api.twilio.com", body, "usage_records", "u").unwrap();
        assert_eq!(typed.next_url, tree.next_url);
        assert_eq!(
            typed.next_url.as_deref(),
            Some("https://api.twilio.com/2010-04-01/x?Page=1")
        );
        let texts: Vec<String> = tree.items.iter().map(Value::to_string).collect();
        let from_tree: Vec<UsageRecord> = texts
            .iter()
            .map(|t| serde_json::from_str(t).unwrap())
            .collect();
        assert_eq!(format!("{:?}", typed.items), format!("{from_tree:?}"));
        // A wrong item shape is named as such, not as bad JSON.
        let e = parse_page::<UsageRecord>(
            "h",
            br#"{"usage_records":[{"category":5}]}"#,
            "usage_records",
            "u",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unexpected item shape"), "{e}");
    }
}
