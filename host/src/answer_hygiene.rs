//! What the guest may read of an answer body: identity-encoded JSON only, every secret field
//! blanked, every echo of the tenant's secret replaced. This runs on every byte a plugin reads,
//! so the common case (an answer that names no secret field and echoes no secret) costs one
//! validating pass that also checks every key, and a substring search per form of the
//! tenant's secret, with no copy.

use crate::credentials::Credentials;
use bytes::Bytes;
use http::header::CONTENT_ENCODING;

/// Field names whose values are secrets in any vendor's answers: the usual names of
/// credentials. A vendor policy adds its own (`VendorPolicySpec::secret_fields`).
pub const GENERIC_SECRET_FIELDS: &[&str] = &[
    "secret",
    "api_secret",
    "client_secret",
    "password",
    "private_key",
    "access_token",
    "refresh_token",
    "token",
];

/// The secret field names of a policy, indexed by length, so checking each key of an answer
/// against them costs a comparison or two.
#[derive(Clone)]
pub struct SecretFields {
    names: Vec<String>,
    /// The names of each length (longer names share the last slot).
    by_length: Vec<Vec<String>>,
}

/// Keys longer than this are looked up in the last slot of `by_length`.
const LONGEST_INDEXED: usize = 32;

impl std::fmt::Debug for SecretFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SecretFields").field(&self.names).finish()
    }
}

impl Default for SecretFields {
    fn default() -> Self {
        Self::new(&[])
    }
}

impl SecretFields {
    /// The generic names plus a vendor's.
    pub fn new(vendor: &[String]) -> Self {
        let mut names: Vec<String> = GENERIC_SECRET_FIELDS
            .iter()
            .map(|s| s.to_string())
            .collect();
        for n in vendor {
            if !n.is_empty() && !names.contains(n) {
                names.push(n.clone());
            }
        }
        let mut by_length = vec![Vec::new(); LONGEST_INDEXED + 1];
        for n in &names {
            by_length[n.len().min(LONGEST_INDEXED)].push(n.clone());
        }
        Self { names, by_length }
    }

    /// Every name blanked.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether `name` is blanked.
    pub fn contains(&self, name: &str) -> bool {
        self.by_length[name.len().min(LONGEST_INDEXED)]
            .iter()
            .any(|n| n == name)
    }

    /// Read `body` whole as JSON, the way the blanking reads it, and tell whether any object
    /// in it has a secret field (its key compared decoded, so an escape cannot hide a name),
    /// and whether a string written with escapes spells one of `forms` (the tenant's secret as
    /// it may appear) once decoded, which a search of the bytes would miss. `Err` when it is
    /// not JSON. One pass, nothing kept.
    fn scan(&self, body: &[u8], forms: &[String]) -> Result<Scanned, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let mut found = Scanned::default();
        serde::de::DeserializeSeed::deserialize(
            Walk {
                secrets: self,
                forms,
                found: &mut found,
            },
            &mut de,
        )?;
        de.end()?;
        Ok(found)
    }
}

/// What a scan found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Scanned {
    /// An object has a secret field.
    named: bool,
    /// A string with escapes decodes to text holding the tenant's secret.
    escaped_echo: bool,
}

impl Scanned {
    /// Whether the answer must be read into a tree and written again before the guest sees it.
    fn rewrite(self) -> bool {
        self.named || self.escaped_echo
    }
}

/// Walks one JSON value, noting what [`Scanned`] records.
struct Walk<'a> {
    secrets: &'a SecretFields,
    forms: &'a [String],
    found: &'a mut Scanned,
}

/// Whether decoded `text` holds one of `forms`.
fn echoes(text: &str, forms: &[String]) -> bool {
    forms.iter().any(|f| text.contains(f.as_str()))
}

impl<'de> serde::de::DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    /// A string read as it stands in the body (no escapes): a search of the bytes finds any
    /// echo in it.
    fn visit_borrowed_str<E>(self, _: &'de str) -> Result<(), E> {
        Ok(())
    }

    /// A string that had escapes, decoded.
    fn visit_str<E>(self, text: &str) -> Result<(), E> {
        self.found.escaped_echo |= echoes(text, self.forms);
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (secrets, forms, found) = (self.secrets, self.forms, self.found);
        while seq
            .next_element_seed(Walk {
                secrets,
                forms,
                found: &mut *found,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (secrets, forms, found) = (self.secrets, self.forms, self.found);
        while map
            .next_key_seed(Key {
                secrets,
                forms,
                found: &mut *found,
            })?
            .is_some()
        {
            map.next_value_seed(Walk {
                secrets,
                forms,
                found: &mut *found,
            })?;
        }
        Ok(())
    }
}

/// Reads one object key (decoded, not kept), noting whether it is a secret field or an
/// escaped echo.
struct Key<'a> {
    secrets: &'a SecretFields,
    forms: &'a [String],
    found: &'a mut Scanned,
}

impl<'de> serde::de::DeserializeSeed<'de> for Key<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Key<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E>(self, k: &'de str) -> Result<(), E> {
        self.found.named |= self.secrets.contains(k);
        Ok(())
    }

    fn visit_str<E>(self, k: &str) -> Result<(), E> {
        self.found.named |= self.secrets.contains(k);
        self.found.escaped_echo |= echoes(k, self.forms);
        Ok(())
    }
}

/// What the guest may read of an answer: identity-encoded only; a success answer must be JSON
/// (an answer the host cannot read could carry a secret it cannot blank); a failure answer
/// that is not JSON reaches the guest without its body. Secrets are then blanked.
pub fn answer_hygiene(
    parts: &http::response::Parts,
    body: Bytes,
    forms: &[String],
    secrets: &SecretFields,
) -> Result<Bytes, String> {
    if let Some(enc) = parts.headers.get(CONTENT_ENCODING) {
        let enc = enc.to_str().unwrap_or("?").trim().to_ascii_lowercase();
        if enc != "identity" && !enc.is_empty() {
            return Err(format!(
                "the answer is encoded as {enc:?}; only identity is accepted"
            ));
        }
    }
    if body.is_empty() {
        return Ok(body);
    }
    // The body must read as JSON; one that names a secret field is then parsed whole by the
    // blanking, with the same parser: an answer one reading takes and the other refuses (a
    // number out of range, a lone surrogate, bytes that are not UTF-8) never passes.
    match secrets
        .scan(&body, forms)
        .ok()
        .and_then(|found| redact_scanned(body, found, forms, secrets))
    {
        Some(b) => Ok(b),
        None if parts.status.is_success() => Err("a success answer whose body is not JSON".into()),
        None => Ok(Bytes::new()),
    }
}

/// Blank every secret field in a JSON answer, and replace any echo of the tenant's secret
/// (as it is, URL-encoded, or inside `base64(user:secret)`) with `[redacted]`. `None` when the
/// answer is not JSON.
pub fn redact(
    body: Bytes,
    credentials: Option<&Credentials>,
    secrets: &SecretFields,
) -> Option<Bytes> {
    let forms = credentials
        .map(Credentials::secret_forms)
        .unwrap_or_default();
    let found = secrets.scan(&body, &forms).ok()?;
    redact_scanned(body, found, &forms, secrets)
}

/// [`redact`] of a body already scanned.
fn redact_scanned(
    body: Bytes,
    found: Scanned,
    forms: &[String],
    secrets: &SecretFields,
) -> Option<Bytes> {
    let mut out = body;
    // Only answers that name a secret field, or hide an echo behind escapes, are parsed and
    // written again (without needless escapes, so the search below sees the echo): most
    // (usage, workers) are passed on as they came.
    if found.rewrite() {
        let mut v = serde_json::from_slice::<serde_json::Value>(&out).ok()?;
        blank_secrets(&mut v, secrets);
        out = Bytes::from(v.to_string());
    }
    if forms
        .iter()
        .any(|f| memchr::memmem::find(&out, f.as_bytes()).is_some())
    {
        let mut text = String::from_utf8_lossy(&out).into_owned();
        for f in forms {
            if text.contains(f.as_str()) {
                text = text.replace(f.as_str(), "[redacted]");
            }
        }
        out = Bytes::from(text);
    }
    Some(out)
}

/// Blank secret fields everywhere in `v`.
fn blank_secrets(v: &mut serde_json::Value, secrets: &SecretFields) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if secrets.contains(k) && !child.is_null() {
                    *child = serde_json::Value::String(String::new());
                } else {
                    blank_secrets(child, secrets);
                }
            }
        }
        serde_json::Value::Array(items) => items
            .iter_mut()
            .for_each(|item| blank_secrets(item, secrets)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Credentials {
        Credentials::AuthToken {
            account_sid: "AC1".into(),
            auth_token: "my-secret/token+1".into(),
        }
    }

    /// What the tests blank: the generic names and one vendor's.
    fn secrets() -> SecretFields {
        SecretFields::new(&["auth_token".into(), "secondary_auth_token".into()])
    }

    #[test]
    fn secret_fields_and_echoed_secrets_are_removed_in_every_form() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let basic = b64.encode("AC1:my-secret/token+1");
        let body = Bytes::from(format!(
            r#"{{"accounts":[{{"sid":"AC1","auth_token":"abcd1234"}}],"secret":"key-secret","secondary_auth_token":"sat","echo":"my-secret/token+1","basic":"Basic {basic}","url":"my-secret%2Ftoken%2B1"}}"#
        ));
        let out = redact(body, Some(&tenant()), &secrets()).unwrap();
        let text = String::from_utf8(out.to_vec()).unwrap();
        for leaked in ["abcd1234", "key-secret", "\"sat\"", "my-secret", &basic] {
            assert!(!text.contains(leaked), "{leaked} in {text}");
        }
        assert!(text.contains(r#""auth_token":"""#));
    }

    #[test]
    fn a_vendor_field_is_blanked_only_where_the_vendor_names_it() {
        let body = || Bytes::from(r#"{"auth_token":"abcd1234","password":"p4ss"}"#);
        let generic = String::from_utf8(
            redact(body(), None, &SecretFields::default())
                .unwrap()
                .to_vec(),
        )
        .unwrap();
        assert!(generic.contains("abcd1234") && !generic.contains("p4ss"));
        let vendor = String::from_utf8(redact(body(), None, &secrets()).unwrap().to_vec()).unwrap();
        assert!(!vendor.contains("abcd1234") && !vendor.contains("p4ss"));
    }

    #[test]
    fn an_answer_with_nothing_to_blank_is_passed_on_as_it_is() {
        let body = Bytes::from(
            r#"{"usage_records":[{"category":"sms","price":"1.5","uri":"/x.json?PageToken=PT1&secret=no"}],"next_page_uri":"/x?Page=1&PageToken=PA2"}"#,
        );
        // `Token` is a field name, and a page link's `PageToken=` is not a mention of it.
        let names = SecretFields::new(&["auth_token".into(), "Token".into()]);
        let out = redact(body.clone(), Some(&tenant()), &names).unwrap();
        assert_eq!(out, body);
        assert_eq!(out.as_ptr(), body.as_ptr(), "not copied");
    }

    fn parts(status: u16, encoding: Option<&str>) -> http::response::Parts {
        let mut r = http::Response::builder().status(status);
        if let Some(e) = encoding {
            r = r.header(CONTENT_ENCODING, e);
        }
        r.body(()).unwrap().into_parts().0
    }

    #[test]
    fn answers_must_be_plain_json_or_lose_their_body() {
        let s = secrets();
        let ok = Bytes::from(r#"{"a":1}"#);
        assert!(answer_hygiene(&parts(200, None), ok.clone(), &[], &s).is_ok());
        assert!(answer_hygiene(&parts(200, Some("gzip")), ok.clone(), &[], &s).is_err());
        assert!(answer_hygiene(&parts(200, Some("identity")), ok, &[], &s).is_ok());
        // A truncated success answer that carries a token is refused, not passed on.
        let cut = Bytes::from(r#"{"accounts":[{"auth_token":"abcd1234""#);
        assert!(answer_hygiene(&parts(200, None), cut.clone(), &[], &s).is_err());
        let xml = Bytes::from("<Account><AuthToken>abcd1234</AuthToken></Account>");
        assert!(answer_hygiene(&parts(200, None), xml, &[], &s).is_err());
        // JSON one parser takes and the blanking's refuses is not passed on either.
        for tricky in [
            &br#"{"auth_token":"abcd1234","x":1e400}"#[..],
            br#"{"auth_token":"abcd1234","x":"\ud800"}"#,
            b"{\"auth_token\":\"abcd1234\",\"x\":\"\xff\"}",
        ] {
            let body = Bytes::copy_from_slice(tricky);
            assert!(answer_hygiene(&parts(200, None), body, &[], &s).is_err());
        }
        // A failure answer that is not JSON reaches the guest without its body.
        let out = answer_hygiene(&parts(502, None), cut, &[], &s).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn a_field_is_blanked_however_it_is_spaced() {
        let body = Bytes::from("{ \"auth_token\" :\n \"abcd1234\", \"x\": {\"Token\":\"t0k3n\"}}");
        let mut s = secrets().names().to_vec();
        s.push("Token".into());
        let text = String::from_utf8(redact(body, None, &SecretFields::new(&s)).unwrap().to_vec())
            .unwrap();
        assert!(
            !text.contains("abcd1234") && !text.contains("t0k3n"),
            "{text}"
        );
    }

    #[test]
    fn only_keys_name_a_secret_field_at_any_depth() {
        let s = secrets();
        let named = |j: &str| s.scan(j.as_bytes(), &[]).unwrap().named;
        assert!(named(r#"[1,{"a":[{"b":{"auth_token":null}}]}]"#));
        assert!(named(r#"{"a":"x","secret":5}"#));
        assert!(!named(
            r#"{"a":"auth_token","b":["secret"],"uri":"/x?PageToken=1"}"#
        ));
        assert!(!named(r#"{"auth_tokens":1,"Secret":2}"#), "names are exact");
        assert!(s.scan(b"{\"a\":1} {", &[]).is_err() && s.scan(b"", &[]).is_err());
        assert!(
            s.scan(br#"{"x":"\ud800"}"#, &[]).is_err(),
            "a lone surrogate is not JSON here"
        );
    }

    #[test]
    fn an_echo_written_with_escapes_is_replaced_too() {
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode("AC1:my-secret/token+1");
        let escaped_basic = basic.replace('/', "\\/");
        for body in [
            // `m` as \u006d, `/` as \/ (what some encoders write by default), in a value and a key.
            r#"{"message":"\u006dy-secret\/token+1"}"#.to_string(),
            format!(r#"{{"echo":"Basic {escaped_basic}"}}"#),
            r#"{"\u006dy-secret/token+1":1}"#.to_string(),
        ] {
            let out = redact(Bytes::from(body.clone()), Some(&tenant()), &secrets()).unwrap();
            let read: serde_json::Value = serde_json::from_slice(&out).unwrap();
            let text = read.to_string();
            assert!(
                !text.contains("my-secret") && !text.contains(&basic),
                "{body} -> {text}"
            );
        }
        // Escapes that hide no echo leave the answer as it came.
        let plain = Bytes::from(r#"{"attributes":"{\"roles\":[\"agent\"]}"}"#);
        let out = redact(plain.clone(), Some(&tenant()), &secrets()).unwrap();
        assert_eq!(out.as_ptr(), plain.as_ptr());
    }

    #[test]
    fn escaped_field_names_are_still_blanked() {
        let body = Bytes::from(r#"{"auth\u005ftoken":"abcd1234"}"#);
        let text = String::from_utf8(redact(body, None, &secrets()).unwrap().to_vec()).unwrap();
        assert!(!text.contains("abcd1234"), "{text}");
    }
}
