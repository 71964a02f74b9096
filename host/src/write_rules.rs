//! A write's body and target held to its [`WriteRule`]: the fields it may carry, the values they
//! may take for this action, and the account it names. Pure; `request_policy.rs` applies it.

use crate::action_targets::ActionTargets;
use crate::request_policy::{ActionCall, Rule};
use crate::vendor_policy::{Allowed, BodyEncoding, FieldRule, TargetAt, Template, WriteRule};
use serde_json::Value;

/// A body decoded for checking: form pairs, or a JSON object.
enum Decoded {
    Empty,
    Form(Vec<(String, String)>),
    Json(serde_json::Map<String, Value>),
}

/// Why a body is refused: the rule and what was wrong.
pub type Refusal = (Rule, String);

/// Check `body` (declared as `content_type`) against `rule` for `action`; the target the
/// request names (from its path, or its body).
pub fn check(
    rule: &WriteRule,
    template: &Template,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
    action: &ActionCall,
    seen: &ActionTargets,
) -> Result<String, Refusal> {
    let decoded = decode(rule.encoding, content_type, body)?;
    let target = match &rule.target {
        TargetAt::Path(name) => template
            .capture(path, name)
            .map(percent_decode)
            .ok_or_else(|| (Rule::WrongTarget, format!("the path names no {{{name}}}")))?,
        TargetAt::BodyField(name) => match lookup(&decoded, name) {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return Err((
                    Rule::WrongTarget,
                    format!("the body does not name its target in {name:?}"),
                ));
            }
        },
    };
    match &decoded {
        Decoded::Empty => {}
        Decoded::Form(pairs) => check_form(rule, pairs, &target, action, seen)?,
        Decoded::Json(map) => check_json(&rule.fields, "", map, &target, action, seen)?,
    }
    for f in rule.fields.iter().filter(|f| f.required) {
        if lookup(&decoded, &f.name).is_none() {
            return Err((
                Rule::BodyValueNotAllowed,
                format!("{} must be sent for {}", f.name, action.action),
            ));
        }
    }
    Ok(target)
}

fn decode(
    encoding: BodyEncoding,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Decoded, Refusal> {
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase());
    if encoding == BodyEncoding::Empty {
        if body.is_empty() {
            return Ok(Decoded::Empty);
        }
        return Err((Rule::BodyNotAllowed, "this write carries no body".into()));
    }
    // A body without a media type is read as the route's encoding (a frozen 0.2.0 plugin
    // sends its forms so); the host then declares that type on the way out.
    if media.as_deref().is_some_and(|m| m != encoding.media_type()) {
        return Err((
            Rule::BodyNotAllowed,
            format!(
                "the body must be {} (it was declared as {})",
                encoding.media_type(),
                media.as_deref().unwrap_or("nothing")
            ),
        ));
    }
    match encoding {
        BodyEncoding::Form => {
            let text = std::str::from_utf8(body)
                .map_err(|_| (Rule::BodyNotAllowed, "the form is not UTF-8".to_string()))?;
            let mut pairs: Vec<(String, String)> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for part in text.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = part.split_once('=').unwrap_or((part, ""));
                let (k, v) = (form_decode(k), form_decode(v));
                if !seen.insert(k.clone()) {
                    return Err((
                        Rule::BodyFieldNotAllowed,
                        format!("field {k} is sent twice"),
                    ));
                }
                pairs.push((k, v));
            }
            Ok(Decoded::Form(pairs))
        }
        BodyEncoding::Json => match serde_json::from_slice::<Strict>(body) {
            Ok(Strict(Value::Object(map))) => Ok(Decoded::Json(map)),
            Err(e) if e.to_string().contains(DUPLICATE) => Err((
                Rule::BodyFieldNotAllowed,
                "a field is sent twice in one object".into(),
            )),
            _ => Err((Rule::BodyNotAllowed, "the body is not a JSON object".into())),
        },
        // Handled above: an empty encoding never reaches the media-type check.
        BodyEncoding::Empty => Ok(Decoded::Empty),
    }
}

/// What a duplicate key's error says.
const DUPLICATE: &str = "duplicate field in one object";

/// A JSON value read refusing a key twice in one object: the host and the upstream must read
/// the same body, and parsers disagree on which of two equal keys wins.
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.insert(key, v).is_some() {
                return Err(serde::de::Error::custom(DUPLICATE));
            }
        }
        Ok(Value::Object(out))
    }
}

/// A field by its (dotted, for JSON) name.
fn lookup(decoded: &Decoded, name: &str) -> Option<Value> {
    match decoded {
        Decoded::Empty => None,
        Decoded::Form(pairs) => pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| Value::String(v.clone())),
        Decoded::Json(map) => {
            let mut parts = name.split('.');
            let mut v = map.get(parts.next()?)?;
            for p in parts {
                v = v.as_object()?.get(p)?;
            }
            Some(v.clone())
        }
    }
}

fn check_form(
    rule: &WriteRule,
    pairs: &[(String, String)],
    target: &str,
    action: &ActionCall,
    seen: &ActionTargets,
) -> Result<(), Refusal> {
    for (k, v) in pairs {
        let Some(f) = rule.fields.iter().find(|f| f.name == *k) else {
            return Err(field_not_allowed(rule, k, action));
        };
        check_value(f, &Value::String(v.clone()), target, action, seen)?;
    }
    Ok(())
}

/// Every key of `map` (at `prefix`) is a rule's field, or leads to rules' nested fields.
fn check_json(
    rules: &[FieldRule],
    prefix: &str,
    map: &serde_json::Map<String, Value>,
    target: &str,
    action: &ActionCall,
    seen: &ActionTargets,
) -> Result<(), Refusal> {
    for (k, v) in map {
        // A key holding the separator could pass for a nested field it is not.
        if k.contains('.') {
            return Err((
                Rule::BodyFieldNotAllowed,
                format!("field {k:?} may not be sent for {}", action.action),
            ));
        }
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if let Some(f) = rules.iter().find(|f| f.name == name) {
            check_value(f, v, target, action, seen)?;
            continue;
        }
        let nested = format!("{name}.");
        if !rules.iter().any(|f| f.name.starts_with(&nested)) {
            return Err((
                Rule::BodyFieldNotAllowed,
                format!("field {name} may not be sent for {}", action.action),
            ));
        }
        match v {
            Value::Object(inner) => check_json(rules, &name, inner, target, action, seen)?,
            _ => {
                return Err((
                    Rule::BodyValueNotAllowed,
                    format!("field {name} must be an object"),
                ));
            }
        }
    }
    Ok(())
}

fn field_not_allowed(rule: &WriteRule, k: &str, action: &ActionCall) -> Refusal {
    let names: Vec<&str> = rule.fields.iter().map(|f| f.name.as_str()).collect();
    (
        Rule::BodyFieldNotAllowed,
        format!(
            "field {k} may not be sent for {} (only {})",
            action.action,
            names.join(", ")
        ),
    )
}

fn check_value(
    f: &FieldRule,
    v: &Value,
    target: &str,
    action: &ActionCall,
    seen: &ActionTargets,
) -> Result<(), Refusal> {
    let request = |key: &str| request_field(action, key);
    let ok = match &f.allowed {
        Allowed::OneOf(values) => v.as_str().is_some_and(|s| values.iter().any(|a| a == s)),
        Allowed::Target => v.as_str() == Some(target),
        Allowed::Request(key) => request(key).is_some_and(|r| r == v),
        Allowed::RequestSet(key) => match (request(key), v) {
            // The same texts, each once: never longer than what was asked.
            (Some(Value::Array(want)), Value::Array(got)) if got.len() <= want.len() => {
                let mut got_set = std::collections::HashSet::new();
                for g in got {
                    if !got_set.insert(g.to_string()) {
                        return Err(value_refused(f, action));
                    }
                }
                got.len() == want.len() && want.iter().all(|w| got_set.contains(&w.to_string()))
            }
            _ => false,
        },
        Allowed::RequestValue(key) => {
            let empty = Value::Object(Default::default());
            request(key).unwrap_or(&empty) == v
        }
        Allowed::Held(field) => seen.held(target, field).is_some_and(|held| held == v),
        Allowed::Template(t) => filled(t, action).is_some_and(|want| &want == v),
        Allowed::RequestPart { key, sep, index } => request(key)
            .and_then(Value::as_str)
            .and_then(|r| exact_part(r, sep, *index))
            .is_some_and(|part| v.as_str() == Some(part)),
        Allowed::HeldSet {
            field,
            key,
            among,
            with,
        } => {
            let wanted = request(key)
                .and_then(Value::as_str)
                .filter(|w| among.iter().any(|a| a == w));
            let held = seen.held(target, field).and_then(text_set);
            match (wanted, held, text_set(v)) {
                (Some(wanted), Some(mut want), Some(got)) => {
                    if *with {
                        want.insert(wanted.to_string());
                    } else {
                        want.remove(wanted);
                    }
                    let listed = v.as_array().map_or(0, Vec::len);
                    !got.is_empty() && listed == got.len() && got == want
                }
                _ => false,
            }
        }
    };
    if ok {
        Ok(())
    } else {
        Err(value_refused(f, action))
    }
}

/// A JSON list of texts as a set (`None` for anything else).
fn text_set(v: &Value) -> Option<std::collections::BTreeSet<String>> {
    v.as_array()?
        .iter()
        .map(|t| t.as_str().map(str::to_string))
        .collect()
}

/// The `index`th of exactly two non-empty parts of `text` split at `sep`.
fn exact_part<'a>(text: &'a str, sep: &str, index: usize) -> Option<&'a str> {
    let parts: Vec<&str> = text.split(sep).collect();
    (parts.len() == 2 && parts.iter().all(|p| !p.is_empty()))
        .then(|| parts.get(index).copied())
        .flatten()
}

fn request_field<'a>(action: &'a ActionCall, key: &str) -> Option<&'a Value> {
    action.request.as_ref().and_then(|r| r.get(key))
}

/// `template` with each string `"$key"` replaced by the request's `key` (`None` when the
/// request has no such field).
fn filled(template: &Value, action: &ActionCall) -> Option<Value> {
    Some(match template {
        Value::String(s) => match s.strip_prefix('$') {
            Some(key) => request_field(action, key)?.clone(),
            None => template.clone(),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| filled(i, action))
                .collect::<Option<_>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Some((k.clone(), filled(v, action)?)))
                .collect::<Option<_>>()?,
        ),
        other => other.clone(),
    })
}

fn value_refused(f: &FieldRule, action: &ActionCall) -> Refusal {
    (
        Rule::BodyValueNotAllowed,
        format!(
            "{} must be {} for {}",
            f.name,
            f.allowed.describe(),
            action.action
        ),
    )
}

/// `%XX` escapes decoded (invalid ones kept as they are).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A form component decoded (`+` is a space).
fn form_decode(s: &str) -> String {
    percent_decode(&s.replace('+', " "))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_entitlement_part_is_one_of_exactly_two_non_empty_ones() {
        assert_eq!(super::exact_part("IX1@AC1", "@", 0), Some("IX1"));
        assert_eq!(super::exact_part("IX1@AC1", "@", 1), Some("AC1"));
        for bad in ["IX1", "IX1@AC1@x", "@AC1", "IX1@", ""] {
            assert_eq!(super::exact_part(bad, "@", 0), None, "{bad}");
        }
    }

    fn check_unlinked(
        rule: &WriteRule,
        template: &Template,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
        action: &ActionCall,
    ) -> Result<String, Refusal> {
        check(
            rule,
            template,
            path,
            content_type,
            body,
            action,
            &ActionTargets::default(),
        )
    }

    use super::*;
    use crate::vendor_policy::tests::IDS;

    fn action(name: &str, request: Option<Value>) -> ActionCall {
        ActionCall {
            action: name.into(),
            dry_run: false,
            target: "AC2".into(),
            request,
            configured: Vec::new(),
        }
    }

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    const JSON: Option<&str> = Some("application/json; charset=utf-8");

    #[test]
    fn form_bodies_carry_only_the_fields_and_values_of_the_action() {
        let t = Template::parse("/v1/Accounts/{AC}.json", IDS).unwrap();
        let ac = "AC00000000000000000000000000000002";
        let path = format!("/v1/Accounts/{ac}.json");
        let suspend = WriteRule::in_path("suspend", "AC")
            .form()
            .requires("Status", Allowed::one_of(&["suspended"]));
        let a = action("suspend", None);
        type Case<'a> = (&'a [u8], Option<&'a str>, Result<(), Rule>);
        let table: &[Case] = &[
            (b"Status=suspended", FORM, Ok(())),
            (b"Status=closed", FORM, Err(Rule::BodyValueNotAllowed)),
            (
                b"Status=suspended&Status=closed",
                FORM,
                Err(Rule::BodyFieldNotAllowed),
            ),
            (
                b"Status=suspended&FriendlyName=x",
                FORM,
                Err(Rule::BodyFieldNotAllowed),
            ),
            (b"", FORM, Err(Rule::BodyValueNotAllowed)),
            (b"Status=suspended", JSON, Err(Rule::BodyNotAllowed)),
            (b"Status=suspended", None, Ok(())),
            (b"Status=closed", None, Err(Rule::BodyValueNotAllowed)),
            (b"St%61tus=suspended", FORM, Ok(())),
        ];
        for (body, ct, want) in table {
            let got = check_unlinked(&suspend, &t, &path, *ct, body, &a).map(|target| {
                assert_eq!(target, ac);
            });
            assert_eq!(
                got.map_err(|(r, _)| r),
                *want,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn json_bodies_carry_exactly_the_request() {
        let t = Template::parse("/v1/Users/Provision", IDS).unwrap();
        let rule = WriteRule::in_body("provision", "username")
            .requires("username", Allowed::Request("username".into()))
            .requires("roles", Allowed::RequestSet("roles".into()))
            .may(
                "worker.attributes",
                Allowed::RequestValue("attributes".into()),
            );
        let a = action(
            "provision",
            Some(
                serde_json::json!({"username": "ann", "roles": ["agent"], "attributes": {"x": 1}}),
            ),
        );
        let ok = br#"{"username":"ann","roles":["agent"],"worker":{"attributes":{"x":1}}}"#;
        assert_eq!(
            check_unlinked(&rule, &t, "/v1/Users/Provision", JSON, ok, &a).unwrap(),
            "ann"
        );
        let bad: &[(&[u8], Rule)] = &[
            (
                br#"{"username":"ann","roles":["admin"]}"#,
                Rule::BodyValueNotAllowed,
            ),
            (
                br#"{"username":"ann","roles":["agent","admin"]}"#,
                Rule::BodyValueNotAllowed,
            ),
            (
                br#"{"username":"ann","roles":["agent","agent"]}"#,
                Rule::BodyValueNotAllowed,
            ),
            (
                br#"{"username":"bob","roles":["agent"]}"#,
                Rule::BodyValueNotAllowed,
            ),
            (
                br#"{"username":"ann","roles":["agent"],"worker":{"attributes":{"x":2}}}"#,
                Rule::BodyValueNotAllowed,
            ),
            (
                br#"{"username":"ann","roles":["agent"],"worker":{"sid":"WK9"}}"#,
                Rule::BodyFieldNotAllowed,
            ),
            (
                br#"{"username":"ann","roles":["agent"],"admin":true}"#,
                Rule::BodyFieldNotAllowed,
            ),
            (br#"{"roles":["agent"]}"#, Rule::WrongTarget),
            (br#"["ann"]"#, Rule::BodyNotAllowed),
            (
                br#"{"username":"ann","roles":["agent"],"worker.attributes":{"x":1}}"#,
                Rule::BodyFieldNotAllowed,
            ),
            // Parsers disagree on which of two equal keys wins: neither goes.
            (
                br#"{"username":"ann","roles":["admin"],"roles":["agent"]}"#,
                Rule::BodyFieldNotAllowed,
            ),
            (
                br#"{"username":"ann","roles":["agent"],"worker":{"attributes":{},"attributes":{}}}"#,
                Rule::BodyFieldNotAllowed,
            ),
        ];
        for (body, want) in bad {
            let got = check_unlinked(&rule, &t, "/v1/Users/Provision", JSON, body, &a)
                .map_err(|(r, _)| r);
            assert_eq!(got, Err(*want), "{}", String::from_utf8_lossy(body));
        }
        // Without attributes in the request, only an empty object may go.
        let plain = action(
            "provision",
            Some(serde_json::json!({"username": "ann", "roles": ["agent"]})),
        );
        let empty = br#"{"username":"ann","roles":["agent"],"worker":{"attributes":{}}}"#;
        assert!(check_unlinked(&rule, &t, "/v1/Users/Provision", JSON, empty, &plain).is_ok());
    }

    #[test]
    fn writes_without_a_body_send_none_and_name_their_target_in_the_path() {
        let t = Template::parse("/v1/Users/{user}", IDS).unwrap();
        let rule = WriteRule::in_path("deprovision", "user");
        let a = action("deprovision", None);
        assert_eq!(
            check_unlinked(&rule, &t, "/v1/Users/team%40x.example", None, b"", &a).unwrap(),
            "team@x.example"
        );
        assert_eq!(
            check_unlinked(&rule, &t, "/v1/Users/u", FORM, b"x=1", &a).map_err(|(r, _)| r),
            Err(Rule::BodyNotAllowed)
        );
    }
}
