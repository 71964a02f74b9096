//! A plugin may ask for less of a list page than the upstream sends. With the request header
//! [`ANSWER_FIELDS_HEADER`] (`<list>=<field>,<field>,…`) the host passes on, of each object in
//! the page's top-level `<list>` array, only the named fields; everything else at the top level
//! (paging links, metadata) is passed on whole. The header never leaves the host.
//!
//! It only ever narrows what the guest reads: every kept value is its original text, keys keep
//! their order and repeats, and the answer hygiene then runs on what is kept, so a secret field
//! or an echo of the tenant's secret inside a kept value is blanked as in any answer. A page of
//! another shape (not an object, the list missing, not an array, an item that is not an object)
//! or that is not JSON is passed on whole, to be judged as any other answer. Dropped fields are
//! read past for their JSON syntax only, not their content: text that is not UTF-8 (in the
//! field's value or its key), a lone surrogate or a number out of range in a field nobody
//! reads does not refuse the page (the guest never sees it; what it sees is checked by the
//! hygiene as always).

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// The request header that names the fields a plugin reads of a list page.
pub const ANSWER_FIELDS_HEADER: &str = "connector-answer-fields";

/// Most fields one projection may keep.
pub const MAX_FIELDS: usize = 32;

/// Longest name of a list or a field.
pub const MAX_NAME: usize = 64;

/// What a plugin asked to keep of a list page: the top-level array and its items' fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    list: String,
    fields: Vec<String>,
}

/// Why an [`ANSWER_FIELDS_HEADER`] value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectionError {
    #[error("expected <list>=<field>,<field>,…")]
    Shape,
    #[error("it names no field")]
    NoField,
    #[error("it names more than {MAX_FIELDS} fields")]
    TooManyFields(usize),
    #[error("it is {0} bytes long; a list of at most {MAX_FIELDS} names is shorter")]
    TooLong(usize),
    #[error("{0:?} is not a name (1 to {MAX_NAME} of the characters A-Z, a-z, 0-9, '_', '-', '.')")]
    BadName(String),
}

fn checked_name(name: &str) -> Result<&str, ProjectionError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(name)
    } else {
        Err(ProjectionError::BadName(
            name.chars().take(MAX_NAME).collect(),
        ))
    }
}

impl FromStr for Projection {
    type Err = ProjectionError;

    fn from_str(s: &str) -> Result<Self, ProjectionError> {
        // Longer than the most fields of the longest names: refused before it is read.
        let longest = (MAX_FIELDS + 1) * (MAX_NAME + 1);
        if s.len() > longest {
            return Err(ProjectionError::TooLong(s.len()));
        }
        let (list, fields) = s.trim().split_once('=').ok_or(ProjectionError::Shape)?;
        let list = checked_name(list.trim())?.to_string();
        let mut kept: Vec<String> = Vec::new();
        for f in fields.split(',').map(str::trim) {
            if f.is_empty() {
                continue;
            }
            let f = checked_name(f)?;
            if !kept.iter().any(|k| k == f) {
                if kept.len() == MAX_FIELDS {
                    return Err(ProjectionError::TooManyFields(MAX_FIELDS + 1));
                }
                kept.push(f.to_string());
            }
        }
        if kept.is_empty() {
            return Err(ProjectionError::NoField);
        }
        Ok(Self { list, fields: kept })
    }
}

impl Projection {
    /// The page narrowed to the asked fields, or `None` when it must be passed on whole (not
    /// JSON, another shape, or no such list).
    pub fn apply(&self, body: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(body.len() / 8 + 64);
        let mut found = false;
        let mut de = serde_json::Deserializer::from_slice(body);
        de::Deserializer::deserialize_map(
            &mut de,
            Top {
                p: self,
                out: &mut out,
                found: &mut found,
            },
        )
        .and_then(|()| de.end())
        .ok()?;
        found.then_some(out)
    }

    /// The asked field this key names, if any.
    fn kept(&self, key: &[u8]) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.as_bytes() == key)
            .map(String::as_str)
    }
}

/// One object key, its escapes decoded but its bytes not yet checked as UTF-8 (borrowed when
/// it had no escapes): an item's keys are only compared with the asked names (checked ASCII),
/// so the many keys of dropped fields are not checked as UTF-8, and a key that is written out
/// is checked then ([`Key::text`]). Read this way, serde_json lets control characters through
/// (a raw one is not JSON): any key holding one refuses the projection, so such a page goes to
/// the hygiene whole and is judged there, and a key written out never grows by escaping.
struct Key<'de>(Cow<'de, [u8]>);

impl<'de> Key<'de> {
    fn checked<E: de::Error>(bytes: Cow<'de, [u8]>) -> Result<Self, E> {
        if bytes.iter().any(|b| *b < 0x20) {
            return Err(E::custom("a key with a control character"));
        }
        Ok(Key(bytes))
    }

    fn text<E: de::Error>(&self) -> Result<&str, E> {
        std::str::from_utf8(&self.0).map_err(|_| E::custom("a key that is not UTF-8"))
    }
}

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_bytes<E: de::Error>(self, k: &'de [u8]) -> Result<Key<'de>, E> {
                Key::checked(Cow::Borrowed(k))
            }
            fn visit_bytes<E: de::Error>(self, k: &[u8]) -> Result<Key<'de>, E> {
                Key::checked(Cow::Owned(k.to_vec()))
            }
            fn visit_borrowed_str<E: de::Error>(self, k: &'de str) -> Result<Key<'de>, E> {
                Key::checked(Cow::Borrowed(k.as_bytes()))
            }
            fn visit_str<E: de::Error>(self, k: &str) -> Result<Key<'de>, E> {
                Key::checked(Cow::Owned(k.as_bytes().to_vec()))
            }
        }
        d.deserialize_bytes(V)
    }
}

/// Write `"key":raw` (the key written anew from its decoded text, the value as it came).
fn write_member(out: &mut Vec<u8>, first: &mut bool, key: &str, raw: &RawValue) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, key);
    out.push(b':');
    out.extend_from_slice(raw.get().as_bytes());
}

/// The page's top-level object.
struct Top<'a> {
    p: &'a Projection,
    out: &'a mut Vec<u8>,
    found: &'a mut bool,
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list page")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.out.push(b'{');
        let mut first = true;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let text = key.text()?;
            if text == self.p.list {
                if !first {
                    self.out.push(b',');
                }
                first = false;
                let _ = serde_json::to_writer(&mut *self.out, text);
                self.out.push(b':');
                map.next_value_seed(Items {
                    p: self.p,
                    out: &mut *self.out,
                })?;
                *self.found = true;
            } else {
                let raw: &'de RawValue = map.next_value()?;
                write_member(self.out, &mut first, text, raw);
            }
        }
        self.out.push(b'}');
        Ok(())
    }
}

/// The list: an array of objects.
struct Items<'a> {
    p: &'a Projection,
    out: &'a mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for Items<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Items<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.out.push(b'[');
        let mut first = true;
        loop {
            let item = Item {
                p: self.p,
                out: &mut *self.out,
                first,
            };
            if seq.next_element_seed(item)?.is_none() {
                break;
            }
            first = false;
        }
        self.out.push(b']');
        Ok(())
    }
}

/// One item: only the asked fields are written; the rest is read past.
struct Item<'a> {
    p: &'a Projection,
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'de> DeserializeSeed<'de> for Item<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Item<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if !self.first {
            self.out.push(b',');
        }
        self.out.push(b'{');
        let mut first = true;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if let Some(field) = self.p.kept(&key) {
                let raw: &'de RawValue = map.next_value()?;
                write_member(self.out, &mut first, field, raw);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        self.out.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn usage() -> Projection {
        "usage_records=category,price,end_date".parse().unwrap()
    }

    fn projected(p: &Projection, body: &str) -> Option<Value> {
        p.apply(body.as_bytes())
            .map(|b| serde_json::from_slice(&b).expect("a projection writes JSON"))
    }

    #[test]
    fn the_header_is_read_as_a_list_and_its_fields() {
        type Read<'a> = Result<(&'a str, &'a [&'a str]), ProjectionError>;
        let cases: &[(&str, Read)] = &[
            (
                "usage_records=category,price",
                Ok(("usage_records", &["category", "price"])),
            ),
            (
                " accounts = sid , status ,sid",
                Ok(("accounts", &["sid", "status"])),
            ),
            ("a=b,", Ok(("a", &["b"]))),
            ("usage_records", Err(ProjectionError::Shape)),
            ("usage_records=", Err(ProjectionError::NoField)),
            ("usage_records= , ", Err(ProjectionError::NoField)),
            ("=price", Err(ProjectionError::BadName(String::new()))),
            (
                "usage records=price",
                Err(ProjectionError::BadName("usage records".into())),
            ),
            ("a=b\"c", Err(ProjectionError::BadName("b\"c".into()))),
            ("a=b=c", Err(ProjectionError::BadName("b=c".into()))),
        ];
        for (text, want) in cases {
            let got = text.parse::<Projection>();
            let want = want.clone().map(|(list, fields)| Projection {
                list: list.into(),
                fields: fields.iter().map(|f| f.to_string()).collect(),
            });
            assert_eq!(got, want, "{text:?}");
        }
        let many = format!(
            "a={}",
            (0..=MAX_FIELDS)
                .map(|i| format!("f{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(
            many.parse::<Projection>(),
            Err(ProjectionError::TooManyFields(MAX_FIELDS + 1))
        );
        let flood = format!("a={}", vec!["f"; 5000].join(","));
        assert!(matches!(
            flood.parse::<Projection>(),
            Err(ProjectionError::TooLong(_))
        ));
        let long = format!("a={}", "x".repeat(MAX_NAME + 1));
        assert!(matches!(
            long.parse::<Projection>(),
            Err(ProjectionError::BadName(_))
        ));
    }

    #[test]
    fn only_the_asked_fields_of_each_item_are_kept_and_the_rest_of_the_page_whole() {
        let body = json!({
            "first_page_uri": "/2010-04-01/Accounts/AC1/Usage/Records/Monthly.json?Page=0",
            "usage_records": [
                {"account_sid": "AC1", "category": "sms", "price": "1.25", "end_date": "2026-01-31",
                 "subresource_uris": {"daily": "/x", "all_time": "/y"}, "usage": "3"},
                {"category": "calls", "price": null, "description": "Voice \"minutes\"", "end_date": "2026-02-28"},
                {"uri": "/z"}
            ],
            "next_page_uri": null,
            "page": 0
        });
        let got = projected(&usage(), &body.to_string()).unwrap();
        assert_eq!(
            got,
            json!({
                "first_page_uri": "/2010-04-01/Accounts/AC1/Usage/Records/Monthly.json?Page=0",
                "usage_records": [
                    {"category": "sms", "price": "1.25", "end_date": "2026-01-31"},
                    {"category": "calls", "price": null, "end_date": "2026-02-28"},
                    {}
                ],
                "next_page_uri": null,
                "page": 0
            })
        );
    }

    #[test]
    fn kept_values_are_their_original_text_and_keys_keep_order_repeats_and_meaning() {
        let p = usage();
        // A number is not rewritten (1E2 stays 1E2, 0.10 stays 0.10); an escaped key is
        // matched by what it decodes to; a repeated field stays repeated, so a reader that
        // refuses repeats refuses the projection too.
        let body = r#"{"usage_records":[{"pr\u0069ce":1E2,"category":"a\u00e9b","price":0.10,"x":[1,{"price":9}]}]}"#;
        let out = String::from_utf8(p.apply(body.as_bytes()).unwrap()).unwrap();
        assert_eq!(
            out,
            r#"{"usage_records":[{"price":1E2,"category":"a\u00e9b","price":0.10}]}"#
        );
    }

    #[test]
    fn a_page_of_another_shape_or_not_json_is_passed_on_whole() {
        let p = usage();
        let whole = [
            "[1,2]",
            r#"{"accounts":[]}"#,
            r#"{"usage_records":null}"#,
            r#"{"usage_records":{"category":"sms"}}"#,
            r#"{"usage_records":[{"category":"sms"},"text"]}"#,
            r#"{"usage_records":[{"category":"sms"}]"#,
            r#"{"usage_records":[]} trailing"#,
            "",
            r#"{"code":20429,"message":"Too Many Requests","status":429}"#,
        ];
        for body in whole {
            assert_eq!(p.apply(body.as_bytes()), None, "{body}");
        }
    }

    #[test]
    fn a_kept_value_that_is_not_valid_json_text_refuses_the_projection() {
        let p = usage();
        // Not UTF-8 inside a kept value: the raw text cannot be taken, the page is passed
        // on whole (and refused by the hygiene, as without a projection).
        let mut body = br#"{"usage_records":[{"category":""#.to_vec();
        body.extend_from_slice(&[0xff, 0xfe]);
        body.extend_from_slice(br#""}]}"#);
        assert_eq!(p.apply(&body), None);
    }

    #[test]
    fn only_keys_that_are_written_out_must_be_utf8() {
        let p = usage();
        // A dropped field's key is only compared, never checked: the page is narrowed.
        let mut body = br#"{"usage_records":[{""#.to_vec();
        body.extend_from_slice(&[0xff]);
        body.extend_from_slice(br#"":1,"price":"2"}]}"#);
        assert_eq!(
            p.apply(&body).as_deref(),
            Some(br#"{"usage_records":[{"price":"2"}]}"#.as_slice())
        );
        // A top-level key is written out: not UTF-8, the page is passed on whole (and refused
        // by the hygiene).
        let mut body = br#"{""#.to_vec();
        body.extend_from_slice(&[0xff]);
        body.extend_from_slice(br#"":1,"usage_records":[]}"#);
        assert_eq!(p.apply(&body), None);
    }

    #[test]
    fn a_key_with_a_control_character_refuses_the_projection() {
        let p = usage();
        // Raw (not JSON) or escaped, at the top level or in a dropped field: the page goes to
        // the hygiene whole, which refuses the raw one and reads the escaped one.
        for body in [
            "{\"\u{1}\":1,\"usage_records\":[]}",
            "{\"usage_records\":[{\"a\u{1f}\":1,\"price\":\"2\"}]}",
            r#"{"\u0001":1,"usage_records":[]}"#,
            r#"{"usage_records":[{"a\u001f":1,"price":"2"}]}"#,
        ] {
            assert_eq!(p.apply(body.as_bytes()), None, "{body:?}");
        }
        // A lone surrogate in a dropped key is only compared; in a top-level key it is not
        // UTF-8 once decoded, and the page goes whole.
        assert!(p.apply(br#"{"usage_records":[{"\ud800":1}]}"#).is_some());
        assert_eq!(p.apply(br#"{"\ud800":1,"usage_records":[]}"#), None);
    }
}
