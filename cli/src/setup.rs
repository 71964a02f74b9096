//! From global options to a loaded host: where the plugin is, where requests go, the host
//! options (clock, audit, vendor policy) and the single tenant of the environment.

use crate::args::AuditFormatArg;
use crate::args::Global;
use crate::env_credentials;
use crate::vendor;
use anyhow::{Context, anyhow, bail};
use connector_host::audit::{AuditFormat, AuditLog};
use connector_host::options::FLEX_INSTANCE;
use connector_host::{Host, HostOptions, Tenant};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

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

pub fn connect_to(g: &Global) -> anyhow::Result<Option<SocketAddr>> {
    let Some(spec) = &g.connect_to else {
        return Ok(None);
    };
    let addr = spec
        .to_socket_addrs()
        .with_context(|| format!("--connect-to {spec:?} is not HOST:PORT"))?
        .next()
        .ok_or_else(|| anyhow!("--connect-to {spec:?} resolves to no address"))?;
    Ok(Some(addr))
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
pub fn options(g: &Global, connect: Option<SocketAddr>) -> anyhow::Result<HostOptions> {
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
        ..HostOptions::default()
    })
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

pub async fn load(g: &Global, connect: Option<SocketAddr>) -> anyhow::Result<Host> {
    let path = plugin_path(g)?;
    Ok(Host::load(&path, options(g, connect)?).await?)
}

/// Load the plugin and build the tenant from the environment.
pub async fn setup(g: &Global) -> anyhow::Result<(Host, Tenant)> {
    let credentials = env_credentials::from_env()?;
    let host = load(g, connect_to(g)?).await?;
    host.policy_for(&g.app)?;
    let mut tenant = Tenant::new("default", g.app.clone(), credentials);
    if let Some(go) = &g.flex_instance {
        tenant = tenant.with_option(FLEX_INSTANCE, go);
    }
    Ok((host, tenant))
}
