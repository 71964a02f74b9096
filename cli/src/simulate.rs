//! The built-in simulator from the command line: `sim` serves it, `demo` syncs every app of
//! the plugin against its demo fixture.

use crate::args::{Global, SimArgs};
use crate::listing;
use crate::setup::load;
use anyhow::Context;
use connector_host::{Credentials, Tenant};
use std::process::ExitCode;
use twilio_policy::FLEX_INSTANCE;
use twilio_sim::{Fixture, Simulator};

/// `connector sim`: serve a fixture until Ctrl-C.
pub async fn sim(a: &SimArgs) -> anyhow::Result<ExitCode> {
    let fixture = match (&a.fixture, a.generate) {
        (Some(p), _) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read fixture {}", p.display()))?;
            Fixture::from_json(&text).with_context(|| format!("fixture {}", p.display()))?
        }
        (None, Some(n)) => Fixture::generate(n, 1),
        (None, None) => Fixture::demo(),
    };
    let main = fixture.main_account_sid.clone();
    let sim = Simulator::start(fixture, &a.listen).await?;
    {
        let mut f = sim.faults();
        f.latency = std::time::Duration::from_millis(a.latency_ms);
        f.rate_limit_every = a.rate_limit_every;
        f.error_every = a.error_every;
        f.malformed_every = a.malformed_every;
    }
    eprintln!(
        "Twilio simulator listening on {} (main account {main}; its auth token is the fixture's auth_token). \
         Use --connect-to {}. Ctrl-C stops it.",
        sim.addr(),
        sim.addr()
    );
    tokio::signal::ctrl_c().await.ok();
    sim.stop().await;
    Ok(ExitCode::SUCCESS)
}

/// `connector demo`: the demo fixture synced through the component, app by app.
pub async fn demo(g: &Global) -> anyhow::Result<ExitCode> {
    let sim = Simulator::start(Fixture::demo(), "127.0.0.1:0").await?;
    let (sid, token) = sim.main_credentials();
    let host = load(g, Some(sim.addr().into())).await?;
    println!(
        "Twilio simulator on {} (demo fixture); syncing every app through the sandboxed component.\n",
        sim.addr()
    );
    let credentials = Credentials::AuthToken {
        account_sid: sid,
        auth_token: token,
    };
    let (instance, identities) = sim.with_fixture(|f| {
        let go = f.flex_users.keys().next().cloned();
        let ids: Vec<String> = f
            .frontline_users
            .iter()
            .filter_map(|u| u["identity"].as_str().map(str::to_string))
            .collect();
        (go, ids)
    });
    let mut failed = false;
    let apps: Vec<String> = host.info().apps.iter().map(|a| a.name.clone()).collect();
    for app in apps {
        let mut tenant = Tenant::new("demo", app.clone(), credentials.clone());
        let result = match app.as_str() {
            "frontline" => {
                println!("== app: frontline (users {}) ==", identities.join(", "));
                let file =
                    std::env::temp_dir().join(format!("connector-demo-ids-{}", std::process::id()));
                std::fs::write(&file, identities.join("\n"))?;
                let r = listing::accounts_by_identity(
                    &host,
                    &tenant,
                    &file,
                    &listing::Listing::plain(g.json),
                )
                .await;
                let _ = std::fs::remove_file(&file);
                r
            }
            "flex" => {
                if let Some(go) = &instance {
                    tenant = tenant.with_option(FLEX_INSTANCE, go);
                }
                println!(
                    "== app: flex (instance {}) ==",
                    instance.as_deref().unwrap_or("none")
                );
                listing::accounts(&host, &tenant, &listing::Listing::plain(g.json)).await
            }
            "organization" => {
                // As an operator configures it (TWILIO_ORGANIZATION_SID, TWILIO_CLIENT_ID and
                // TWILIO_CLIENT_SECRET): the demo's Organization and its OAuth client.
                let org = crate::env_credentials::OrganizationAccess {
                    organization_sid: sim.organization_sid(),
                    client: sim.oauth_credentials(),
                };
                tenant = crate::setup::with_organization(tenant, &org);
                println!(
                    "== app: organization (Organization {}) ==",
                    org.organization_sid.as_deref().unwrap_or("none")
                );
                listing::accounts(&host, &tenant, &listing::Listing::plain(g.json)).await
            }
            _ => {
                println!("== app: {app} ==");
                listing::accounts(&host, &tenant, &listing::Listing::plain(g.json)).await
            }
        };
        if let Err(e) = result {
            eprintln!("error: {e:#}");
            failed = true;
        }
        println!();
    }
    sim.stop().await;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
