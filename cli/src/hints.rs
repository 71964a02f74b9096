//! What to do next, for every error the CLI can end with: one clause appended to the error's
//! one line, naming the variable, the flag or the Twilio Console page that fixes it.

use connector_host::CallError;
use connector_host::types::ConnectorError;

/// The next step for `e`, if one is known.
pub fn next_step(e: &anyhow::Error) -> Option<String> {
    if let Some(call) = e.chain().find_map(|c| c.downcast_ref::<CallError>()) {
        return Some(for_call(call));
    }
    if let Some(step) = e.chain().find_map(configuration_step) {
        return Some(step.to_string());
    }
    let text = format!("{e:#}");
    let hint = if text.contains("tenant ") && text.contains("unknown app") {
        "set the tenant's app in the tenants file to one the plugin serves, or leave it out for --app's"
    } else if text.starts_with("--inactive-for") {
        crate::inactivity::PERIOD_HINT
    } else if text.starts_with("--now ") {
        "give --now as an RFC 3339 timestamp, e.g. 2025-11-23T12:00:00Z"
    } else if text.contains("tenants file") || text.contains("tenant ") {
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

/// What to do about a configuration value the CLI refused before sending anything, or a
/// cluster server it could not reach.
fn configuration_step(e: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    use connector_cluster::setup::ConnectError;
    if let Some(c) = e.downcast_ref::<crate::env_credentials::CredentialError>() {
        return Some(c.next_step());
    }
    if let Some(connector_host::tenants_file::TenantsError::Read(..)) = e.downcast_ref() {
        return Some("check the path given to --tenants (it must be a readable TOML file)");
    }
    if e.is::<crate::cluster_commands::BadNatsUrl>() {
        return Some("pass --nats nats://HOST:PORT (the default is nats://127.0.0.1:4222)");
    }
    match e.downcast_ref::<ConnectError>()? {
        ConnectError::BadUrl(_) => {
            Some("pass --nats nats://HOST:PORT (the default is nats://127.0.0.1:4222)")
        }
        ConnectError::Unreachable { why, .. } if why.contains("refused the user") => {
            Some("check the user and password (or token) in the --nats URL")
        }
        ConnectError::NoJetStream { .. } => Some(
            "restart that nats-server with JetStream enabled (-js), or pass --nats URL of one that has it",
        ),
        ConnectError::Unreachable { .. } => Some(
            "start a nats-server with JetStream there (`nats-server -js`; scripts/nats-server.sh installs one), or pass --nats URL",
        ),
    }
}

/// What to do about a request that got no answer.
fn network_step(f: &connector_host::network::NetworkFailure) -> &'static str {
    use connector_host::network::NetworkFailure as N;
    match f {
        N::Dns { .. } => {
            "check the host name (and --connect-to), the machine's DNS settings, and that it may reach the internet"
        }
        N::Refused { .. } => {
            "nothing listens there: check --connect-to HOST:PORT, or start the simulator (`connector sim`)"
        }
        N::Timeout { .. } => {
            "the network or the upstream is slow: retry later, or check a proxy or firewall in between"
        }
        N::UntrustedCertificate { .. } => {
            "a proxy may be intercepting TLS: reach Twilio directly, or fix the machine's trusted certificates"
        }
        N::Tls { .. } | N::Closed { .. } => {
            "retry; if it persists, check a proxy or firewall in between"
        }
        N::Unreachable { .. } => "check the machine's network connection and routes",
    }
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
            ConnectorError::RateLimited(_) => "Twilio kept throttling this account for as long as the call could wait: its limit on concurrent requests is shared with everything else using the account, so retry when it is less busy".into(),
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
        CallError::Network { failure, .. } => network_step(failure).into(),
        CallError::RoutesNotGranted(_) => {
            "do not run this plugin: review what it asks for with `connector routes --plugin PATH` and ask its author to declare only routes of the vendor policy".into()
        }
        CallError::NotApproved { path, .. } => format!(
            "nothing was compiled or sent; run the approved build, or review this one with `connector routes --plugin {path}` and approve it by setting CONNECTOR_PLUGIN_SHA256 (or --plugin-sha256) to its digest"
        ),
        CallError::Fenced { .. } => {
            "this process no longer holds the tenant's lease (it was paused while another worker took its job over): nothing more was written; `connector cluster status` shows the job's outcome".into()
        }
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
        let e = anyhow::Error::new(CallError::Connector {
            error: ConnectorError::RateLimited(connector_host::types::RateLimit {
                retry_after_ms: None,
                message: "throttled".into(),
            }),
            host_notes: vec![],
        });
        let step = next_step(&e).unwrap();
        assert!(step.contains("throttling this account"), "{step}");
        assert!(!step.contains("--concurrency"), "{step}");
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
    fn configuration_refused_before_sending_has_its_own_next_step() {
        use crate::env_credentials::CredentialError;
        use connector_cluster::setup::ConnectError;
        let step = |e: anyhow::Error| next_step(&e).unwrap();
        let malformed = |name| CredentialError::Malformed {
            name,
            problem: "must be …".into(),
        };
        assert!(step(malformed("TWILIO_ACCOUNT_SID").into()).contains("Account SID (AC…)"));
        assert!(step(malformed("TWILIO_API_KEY").into()).contains("SK…, not its secret"));
        assert!(step(malformed("--flex-instance").into()).contains("Flex > Overview"));
        let unreachable = ConnectError::Unreachable {
            server: "nats://127.0.0.1:1".into(),
            why: "connection refused".into(),
        };
        assert!(step(anyhow::Error::new(unreachable).context("x")).contains("nats-server -js"));
        assert!(
            step(crate::cluster_commands::BadNatsUrl("is empty".into()).into())
                .contains("--nats nats://HOST:PORT")
        );
        let period = crate::inactivity::parse_period("90").unwrap_err();
        assert_eq!(step(period), crate::inactivity::PERIOD_HINT);
        let app =
            anyhow::anyhow!("tenant \"a\": host error: unknown app \"x\"; the plugin serves: y");
        assert!(step(app).contains("tenant's app"));
    }

    #[test]
    fn a_bad_pin_is_not_taken_for_a_missing_plugin() {
        let e = anyhow::anyhow!(
            "the approved build's digest (CONNECTOR_PLUGIN_SHA256 or --plugin-sha256) must be a SHA-256"
        );
        assert!(next_step(&e).unwrap().contains("connector routes"));
    }
}
