//! A small checker for the JSON Schema subset Twilio's OpenAPI description uses (type,
//! properties, items, $ref, nullable, enum), to hold the simulator to Twilio's contract.

use serde_json::Value;
use std::path::PathBuf;

/// Load one of `../shared/twilio-oai/*.json` (or `$TWILIO_OAI_DIR`).
pub fn load(file: &str) -> Value {
    let dir = std::env::var_os("TWILIO_OAI_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::root().join("../shared/twilio-oai"));
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "Twilio's OpenAPI file {} is needed by this test: {e}",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("OpenAPI JSON")
}

/// The 200 (or given status) JSON schema of `method path`.
pub fn response_schema(spec: &Value, path: &str, method: &str, status: &str) -> Value {
    spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
        .clone()
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            &spec["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// Every violation of `schema` by `value`, as `path: problem` lines.
pub fn violations(spec: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let schema = resolve(spec, schema);
    let mut out = Vec::new();
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) && schema.get("type").is_some() {
            out.push(format!("{at}: null but not nullable"));
        }
        return out;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        out.push(format!("{at}: {value} not in enum"));
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let Some(obj) = value.as_object() else {
                out.push(format!("{at}: expected object"));
                return out;
            };
            let props = schema.get("properties").and_then(Value::as_object);
            for (k, v) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => out.extend(violations(spec, s, v, &format!("{at}.{k}"))),
                    None if props.is_some() => out.push(format!("{at}.{k}: not in the schema")),
                    None => {}
                }
            }
        }
        Some("array") => match value.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    out.extend(violations(
                        spec,
                        &schema["items"],
                        item,
                        &format!("{at}[{i}]"),
                    ));
                }
            }
            None => out.push(format!("{at}: expected array")),
        },
        Some("string") if !value.is_string() => {
            out.push(format!("{at}: expected string, got {value}"))
        }
        Some("integer") if !value.is_i64() && !value.is_u64() => {
            out.push(format!("{at}: expected integer, got {value}"))
        }
        Some("number") if !value.is_number() => {
            out.push(format!("{at}: expected number, got {value}"))
        }
        Some("boolean") if !value.is_boolean() => {
            out.push(format!("{at}: expected boolean, got {value}"))
        }
        _ => {}
    }
    out
}
