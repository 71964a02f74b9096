//! From global options to a loaded host: where the plugin is, where requests go, the host
//! options (clock, audit, vendor policy, approved build) and the single tenant of the environment.

use crate::args::AuditFormatArg;
use crate::args::Global;
use crate::env_credentials;
use crate::vendor;
use anyhow::{Context, anyhow, bail};
use connector_host::audit::{AuditFormat, AuditLog};
use connector_host::{ConnectTo, Host, HostOptions, Tenant};

use std::path::{Path, PathBuf};
use twilio_policy::FLEX_INSTANCE;

/// The most `--max-in-flight` allows: far above any account's concurrency limit, well within
/// what one call may hold of the host's resources.
const MAX_IN_FLIGHT: usize = 1000;

/// File name of the component `make build` produces.
const PLUGIN_FILE: &str = "twilio_connector.wasm";

/// The component to load: `--plugin`, else next to the binary, else the build tree.
pub fn plugin_path(g: &Global) -> anyhow::Result<PathBuf> {
    if let Some(p) = &g.plugin {
        if !p.exists() {
            bail!("plugin {} does not exist", p.display());
        }
        return Ok(p.clone());
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        candidates.push(dir.join(PLUGIN_FILE));
        candidates.push(dir.join("../wasm32-wasip2/component").join(PLUGIN_FILE));
    }
    candidates.push(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/wasm32-wasip2/component/twilio_connector.wasm"
    )));
    candidates.into_iter().find(|p| p.exists()).ok_or_else(|| {
        anyhow!("the connector component was not found; run `make build` or pass --plugin PATH")
    })
}

/// `--connect-to HOST:PORT` (checked here; a name is resolved when requests go out, so one
/// that does not resolve fails them in words).
pub fn connect_to(g: &Global) -> anyhow::Result<Option<ConnectTo>> {
    let Some(spec) = &g.connect_to else {
        return Ok(None);
    };
    ConnectTo::parse(spec)
        .map(Some)
        .map_err(|e| anyhow!("--connect-to (or CONNECTOR_CONNECT_TO) is not HOST:PORT: {e}"))
}

/// The per-call limits: the host's defaults, with `--request-timeout` and `--max-in-flight`
/// when given.
pub fn limits(g: &Global) -> anyhow::Result<connector_host::Limits> {
    let mut limits = connector_host::Limits::default();
    if let Some(spec) = &g.max_in_flight {
        limits.max_in_flight = spec
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_IN_FLIGHT).contains(n))
            .ok_or_else(|| {
                anyhow!(
                    "--max-in-flight (or CONNECTOR_MAX_IN_FLIGHT) must be a whole number of requests from 1 to {MAX_IN_FLIGHT}, e.g. 100"
                )
            })?;
    }
    if let Some(spec) = &g.request_timeout {
        let secs = spec
            .trim()
            .trim_end_matches('s')
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=3600).contains(s))
            .ok_or_else(|| {
                anyhow!(
                    "--request-timeout (or CONNECTOR_REQUEST_TIMEOUT) must be a whole number of seconds from 1 to 3600, e.g. 30"
                )
            })?;
        limits.request_timeout = std::time::Duration::from_secs(secs);
    }
    Ok(limits)
}

/// The clock fixed by `--now`, if given.
pub fn now(g: &Global) -> anyhow::Result<Option<chrono::DateTime<chrono::Utc>>> {
    g.now
        .as_deref()
        .map(|s| chrono::DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&chrono::Utc)))
        .transpose()
        .with_context(|| "--now must be an RFC 3339 timestamp such as 2025-11-23T12:00:00Z")
}

/// Host options from the global flags: clock, audit file and format, cache, vendor policy.
pub fn options(g: &Global, connect: Option<ConnectTo>) -> anyhow::Result<HostOptions> {
    let now = now(g)?;
    let format = match g.audit_format {
        AuditFormatArg::Connector => AuditFormat::Connector,
        AuditFormatArg::Ocsf => AuditFormat::Ocsf,
    };
    let audit = g
        .audit
        .as_deref()
        .map(|p| {
            AuditLog::open_with(p, format).with_context(|| {
                format!(
                    "cannot open audit file {}: check that its directory exists and is writable, or pass another --audit FILE",
                    p.display()
                )
            })
        })
        .transpose()?;
    Ok(HostOptions {
        connect_to: connect,
        cache_dir: g.cache_dir.clone(),
        state_dir: state_dir(g),
        now,
        audit,
        vendor_policy: vendor::policy()?,
        limits: limits(g)?,
        approved_sha256: approved_sha256(g)?,
        ..HostOptions::default()
    })
}

/// The approved build's digest from `--plugin-sha256` / `CONNECTOR_PLUGIN_SHA256`, in lower
/// case; `None` when unset. Set but not a SHA-256 (empty included) is an error: a pin that
/// cannot be read never means "run anything".
pub fn approved_sha256(g: &Global) -> anyhow::Result<Option<String>> {
    let Some(pin) = &g.plugin_sha256 else {
        return Ok(None);
    };
    let pin = pin.trim().to_ascii_lowercase();
    if pin.len() != 64 || !pin.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(
            "the approved build's digest (CONNECTOR_PLUGIN_SHA256 or --plugin-sha256) must be a \
             SHA-256 in 64 hex digits, not {:?}",
            g.plugin_sha256.as_deref().unwrap_or_default()
        );
    }
    Ok(Some(pin))
}

/// The SHA-256 of `bytes` in lower-case hex, as `CONNECTOR_PLUGIN_SHA256` takes it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// For commands that run a plugin without [`load`] (conformance): refuse `path` unless it is the
/// approved build, with the host's own error, before anything is compiled.
pub fn check_approved(g: &Global, path: &Path) -> anyhow::Result<()> {
    let Some(expected) = approved_sha256(g)? else {
        return Ok(());
    };
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read plugin {}", path.display()))?;
    let found = sha256_hex(&bytes);
    if found != expected {
        return Err(connector_host::CallError::NotApproved {
            path: path.display().to_string(),
            expected,
            found,
        }
        .into());
    }
    Ok(())
}

/// Where tenants' state is kept: `--state-dir`, else `$XDG_STATE_HOME` or `~/.local/state`
/// under `governance-connector`; `None` (kept in memory for one run) when none is set.
pub fn state_dir(g: &Global) -> Option<PathBuf> {
    if let Some(d) = &g.state_dir {
        return Some(d.clone());
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(base.join("governance-connector"))
}

pub async fn load(g: &Global, connect: Option<ConnectTo>) -> anyhow::Result<Host> {
    let path = plugin_path(g)?;
    Ok(Host::load(&path, options(g, connect)?).await?)
}

/// Load the plugin and build the tenant from the environment, in the order a user fixes
/// things: the app first (the plugin names its apps), then the credentials (missing values,
/// then SIDs of the wrong shape), then the Flex instance. Nothing is sent.
pub async fn setup(g: &Global) -> anyhow::Result<(Host, Tenant)> {
    let host = load(g, connect_to(g)?).await?;
    host.policy_for(&g.app)?;
    let credentials = env_credentials::from_env()?;
    let mut tenant = Tenant::new("default", g.app.clone(), credentials);
    if let Some(go) = &g.flex_instance {
        env_credentials::check_flex_instance(go, g.flex_instance_from_env)?;
        tenant = tenant.with_option(FLEX_INSTANCE, go.trim());
    }
    let org = env_credentials::organization_from_lookup(|k| std::env::var(k).ok())?;
    Ok((host, with_organization(tenant, &org)))
}

/// `tenant` with the Organization it governs and the OAuth client for the Organization API,
/// where given.
pub fn with_organization(mut tenant: Tenant, org: &env_credentials::OrganizationAccess) -> Tenant {
    if let Some(or) = &org.organization_sid {
        tenant = tenant.with_option(twilio_policy::ORGANIZATION, or);
    }
    if let Some((id, secret)) = &org.client {
        // The Organization API takes only OAuth bearer tokens: the host mints them for its
        // host, every other host keeps the account's Basic credential.
        tenant = tenant.with_credential(
            &[twilio_policy::PREVIEW_IAM],
            std::sync::Arc::new(connector_host::oauth::ClientCredentials::new(
                id,
                secret,
                twilio_policy::OAUTH_TOKEN_URL,
            )),
        );
    }
    tenant
}

#[cfg(test)]
mod tests {
    #[test]
    fn max_in_flight_is_a_count_of_requests_from_1_to_1000() {
        let limits = |extra: &[&str]| {
            let args = ["connector", "accounts"].iter().chain(extra);
            super::limits(&crate::args::parse_from(args).unwrap().global)
        };
        let default = connector_host::limits::DEFAULT_MAX_IN_FLIGHT;
        assert_eq!(limits(&[]).unwrap().max_in_flight, default);
        assert_eq!(
            limits(&["--max-in-flight", "250"]).unwrap().max_in_flight,
            250
        );
        for bad in ["0", "1001", "many", "-3"] {
            let flag = format!("--max-in-flight={bad}");
            let e = limits(&[flag.as_str()]).unwrap_err().to_string();
            assert!(
                e.starts_with("--max-in-flight") && e.contains("1 to 1000"),
                "{e}"
            );
        }
    }
}
