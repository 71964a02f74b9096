//! `connector serve`: the SCIM service (crate `connector-scim`) over the loaded component, with
//! the Twilio front's tenants and defaults; `serve new-client NAME` makes a client's token.

use crate::args::{Global, ServeArgs, ServeWhat};
use crate::setup::{connect_to, load, setup};
use anyhow::{Context, anyhow, bail};
use connector_scim::{Clients, ServeOptions, Service};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The roles a Flex user can hold (the Flex Users API's `roles`: agent, supervisor, admin).
const ROLES: &[(&str, &[&str])] = &[("flex", twilio_policy::FLEX_ROLES)];

/// A provisioned Flex user gets the least of them when the SCIM User names none.
const DEFAULT_ROLES: &[(&str, &[&str])] = &[("flex", &["agent"])];

fn table(t: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    t.iter()
        .map(|(app, roles)| {
            (
                app.to_string(),
                roles.iter().map(|r| r.to_string()).collect(),
            )
        })
        .collect()
}

/// `--refresh`: whole seconds, minutes or hours (`300s`, `15m`, `1h`; a bare number is seconds).
fn refresh_age(text: &str) -> anyhow::Result<Duration> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = digits.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        anyhow!("--refresh must be a positive age such as 300s, 15m or 1h, not {t:?}")
    })?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => bail!("--refresh must be a positive age such as 300s, 15m or 1h, not {t:?}"),
    };
    Ok(Duration::from_secs(secs))
}

pub async fn run(g: &Global, a: &ServeArgs) -> anyhow::Result<ExitCode> {
    if let Some(ServeWhat::NewClient { name }) = &a.what {
        let c = connector_scim::clients::new_client(name)?;
        println!(
            "token for client {name} (shown once; give it to the client, keep it nowhere else):"
        );
        println!("{}", c.token);
        println!();
        println!("add to the clients file:");
        print!("{}", c.toml);
        return Ok(ExitCode::SUCCESS);
    }
    let clients_file = a.clients.as_deref().ok_or_else(|| {
        anyhow!("connector serve needs --clients FILE: make a client with `connector serve new-client NAME`")
    })?;
    let clients = Clients::load(clients_file)?;
    let refresh = refresh_age(&a.refresh)?;
    if !(a.rate.is_finite() && a.rate > 0.0) || a.burst == 0 {
        bail!("--rate must be a positive number of requests per second and --burst at least 1");
    }
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => Some(connector_scim::listener::tls_config(c, k)?),
        _ => None,
    };
    let (host, tenants) = match &a.tenants {
        Some(file) => {
            let schema = twilio_policy::tenants_schema();
            let host = load(g, connect_to(g)?).await?;
            let tenants = connector_host::tenants_file::load(file, &schema, &g.app)?;
            (host, tenants)
        }
        None => {
            let (host, tenant) = setup(g).await?;
            (host, vec![tenant])
        }
    };
    let listener = tokio::net::TcpListener::bind(&a.listen)
        .await
        .with_context(|| format!("cannot listen on --listen {}", a.listen))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let public_url = match &a.public_url {
        Some(url) => public_url(url)?,
        None => format!("{scheme}://{addr}"),
    };
    let names: Vec<String> = tenants.iter().map(|t| t.name.clone()).collect();
    let apps: Vec<String> = host.info().apps.iter().map(|a| a.name.clone()).collect();
    let options = ServeOptions {
        refresh,
        rate_per_second: a.rate,
        burst: a.burst,
        audit: crate::setup::options(g, None)?.audit,
        public_url: public_url.clone(),
        default_roles: table(DEFAULT_ROLES),
        roles: table(ROLES),
    };
    let service = Service::new(Arc::new(host), tenants, clients, options);
    let schedule = service.spawn_schedule();
    eprintln!(
        "serving SCIM 2.0 on {addr} as {public_url}/scim/v2/{{tenant}}/{{app}}/ — tenants: {}; apps: {}; {} client(s)",
        names.join(", "),
        apps.join(", "),
        service.client_count(),
    );
    connector_scim::listener::serve(
        listener,
        service.router(),
        tls,
        crate::cluster_commands::stopped_by_signal(),
    )
    .await?;
    schedule.abort();
    eprintln!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// The base clients reach the service at, as `--public-url` gives it: `http(s)://host[:port]`
/// with no path, query or credentials, so every `meta.location` is built from it.
fn public_url(url: &str) -> anyhow::Result<String> {
    let url = url.trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| anyhow!("--public-url {url}: must start with https:// or http://"))?;
    if rest.is_empty()
        || rest
            .chars()
            .any(|c| matches!(c, '/' | '?' | '#' | '@' | ' ' | '"' | '\\') || c.is_control())
    {
        bail!(
            "--public-url {url}: give only the scheme, host and port (e.g. https://scim.example.com)"
        );
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn public_urls_are_a_scheme_a_host_and_a_port() {
        assert_eq!(
            super::public_url("https://scim.example.com/").unwrap(),
            "https://scim.example.com"
        );
        assert_eq!(
            super::public_url("http://127.0.0.1:8443").unwrap(),
            "http://127.0.0.1:8443"
        );
        for bad in [
            "scim.example.com",
            "ftp://x",
            "https://",
            "https://a/b",
            "https://u@h",
            "https://h?x",
        ] {
            assert!(super::public_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refresh_ages_are_seconds_minutes_or_hours() {
        assert_eq!(super::refresh_age("300").unwrap().as_secs(), 300);
        assert_eq!(super::refresh_age("15m").unwrap().as_secs(), 900);
        assert_eq!(super::refresh_age("1h").unwrap().as_secs(), 3600);
        for bad in ["0", "5d", "m", "-3s", ""] {
            assert!(super::refresh_age(bad).is_err(), "{bad}");
        }
    }
}
