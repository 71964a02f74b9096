//! What to do next, for every error the CLI can end with: one clause appended to the error's
//! one line, naming the variable, the flag or the Twilio Console page that fixes it.

use connector_host::CallError;
use connector_host::types::ConnectorError;

/// The next step for `e`, if one is known.
pub fn next_step(e: &anyhow::Error) -> Option<String> {
    if let Some(call) = e.chain().find_map(|c| c.downcast_ref::<CallError>()) {
        return Some(for_call(call));
    }
    let text = format!("{e:#}");
    let hint = if text.contains("tenants file") || text.contains("tenant ") {
        "fix the tenants file as the message says (secrets go in *_env or *_file fields, see README)"
    } else if text.contains("TWILIO_") {
        "export the variables named above, or pass --tenants FILE"
    } else if text.contains("CONNECTOR_PLUGIN_SHA256") {
        "`connector routes --plugin FILE` prints a build's SHA-256 (unset the variable to pin none)"
    } else if text.contains("unknown app") {
        "pass --app with one of the apps named, or leave --app out for every app"
    } else if text.contains("changed while it was being reviewed") {
        "make sure nothing rewrites the plugin file, then run `connector routes` again"
    } else if text.contains("--connect-to") {
        "give --connect-to as HOST:PORT, e.g. 127.0.0.1:8787"
    } else if text.contains("cannot read") || text.contains("No such file") {
        "check that the file exists and is readable, or pass another path"
    } else if text.contains("--plugin") || text.contains("component was not found") {
        "run `make build`, or pass --plugin PATH to a built component"
    } else {
        return None;
    };
    Some(hint.to_string())
}

fn for_call(e: &CallError) -> String {
    let twilio_error = |code: Option<u32>| match code {
        Some(c) => format!("see https://www.twilio.com/docs/errors/{c} for Twilio error {c}"),
        None => "check Twilio's status page or retry later".to_string(),
    };
    match e {
        CallError::Connector { error, .. } => match error {
            ConnectorError::Unauthorized(_) => "check TWILIO_ACCOUNT_SID with TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET) in Twilio Console > Account > API keys & tokens".into(),
            ConnectorError::Forbidden(_) => "these credentials may not read this: use the parent account's Auth Token or a Main API key (Console > Account > API keys & tokens)".into(),
            ConnectorError::NotFound(_) => "check the id: `connector accounts` lists every id of the app".into(),
            ConnectorError::RateLimited(_) => "Twilio is throttling this account: retry later, or lower --concurrency for tenants".into(),
            ConnectorError::InvalidConfig(_) => "check --app and --flex-instance (the GO… SID on Twilio Console > Flex > Overview)".into(),
            ConnectorError::InvalidInput(_) => "fix the argument as the message says; `connector help` shows each command's form".into(),
            ConnectorError::Unsupported(_) => "`connector apps` shows what each app can do".into(),
            ConnectorError::Refused(_) => "nothing was sent; act on another account, or see the rule the message names".into(),
            ConnectorError::Upstream(u) => twilio_error(u.code),
            ConnectorError::Transport(_) => "check the network path to Twilio (or --connect-to HOST:PORT) and retry".into(),
            ConnectorError::MalformedResponse(_) => "the answer was not Twilio's: check --connect-to or any proxy in between".into(),
        },
        CallError::Limit { .. } | CallError::Plugin { .. } => {
            "the plugin failed inside its sandbox: run `connector conformance --plugin PATH` and report it to its author".into()
        }
        CallError::Timeout(_) => "Twilio answered too slowly: retry later".into(),
        CallError::RoutesNotGranted(_) => {
            "do not run this plugin: review what it asks for with `connector routes --plugin PATH` and ask its author to declare only routes of the vendor policy".into()
        }
        CallError::NotApproved { path, .. } => format!(
            "nothing was compiled or sent; run the approved build, or review this one with `connector routes --plugin {path}` and approve it by setting CONNECTOR_PLUGIN_SHA256 (or --plugin-sha256) to its digest"
        ),
        CallError::Host(m) if m.contains("unknown app") => {
            "pass --app with one of the apps named (`connector apps`)".into()
        }
        CallError::Host(_) => {
            "check --plugin and --cache-dir; `make build` rebuilds the component".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_error_has_a_next_step() {
        let e = anyhow::Error::new(CallError::Connector {
            error: ConnectorError::Unauthorized("bad".into()),
            host_notes: vec![],
        });
        assert!(next_step(&e).unwrap().contains("TWILIO_AUTH_TOKEN"));
        let e = anyhow::Error::new(CallError::Connector {
            error: ConnectorError::Upstream(connector_host::types::UpstreamError {
                status: 400,
                code: Some(21211),
                message: "x".into(),
            }),
            host_notes: vec![],
        });
        assert!(next_step(&e).unwrap().contains("errors/21211"));
        let e = anyhow::Error::new(CallError::NotApproved {
            path: "/p/x.wasm".into(),
            expected: "a".repeat(64),
            found: "b".repeat(64),
        });
        assert!(
            next_step(&e)
                .unwrap()
                .contains("`connector routes --plugin /p/x.wasm`")
        );
    }

    #[test]
    fn a_bad_pin_is_not_taken_for_a_missing_plugin() {
        let e = anyhow::anyhow!(
            "the approved build's digest (CONNECTOR_PLUGIN_SHA256 or --plugin-sha256) must be a SHA-256"
        );
        assert!(next_step(&e).unwrap().contains("connector routes"));
    }
}
