//! How a governance platform embeds the host: load the component once, then sync many tenants
//! concurrently, each call in its own sandbox with only its own credentials.
//!
//! Run against the simulator:
//! `cargo run -p twilio-policy --example multi_tenant -- target/wasm32-wasip2/component/twilio_connector.wasm`

use connector_host::{Credentials, Host, HostOptions, Tenant};
use std::sync::Arc;
use twilio_sim::{Fixture, Simulator};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let plugin = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/wasm32-wasip2/component/twilio_connector.wasm".into());
    // A stand-in for Twilio; a platform would leave `connect_to` unset.
    let sim = Simulator::start(Fixture::demo(), "127.0.0.1:0").await?;
    let (sid, token) = sim.main_credentials();

    // Load once: compiled (or read from the on-disk cache) and pre-linked.
    let options = HostOptions {
        connect_to: Some(sim.addr().into()),
        // The vendor policy: which hosts and routes any plugin may ever be granted.
        vendor_policy: Arc::new(twilio_policy::policy()?),
        ..HostOptions::default()
    };
    let host = Arc::new(Host::load(std::path::Path::new(&plugin), options).await?);

    // Tenants would come from the platform's own store (or `tenants_file::load` with
    // `twilio_policy::tenants_schema()`).
    let tenants = vec![
        Tenant::new(
            "acme-twilio",
            "twilio",
            Credentials::AuthToken {
                account_sid: sid.clone(),
                auth_token: token.clone(),
            },
        ),
        Tenant::new(
            "acme-flex",
            "flex",
            Credentials::AuthToken {
                account_sid: sid,
                auth_token: token,
            },
        ),
    ];
    for r in host.sync_tenants(tenants, 4).await {
        match r.result {
            Ok(accounts) => println!("{} ({}): {} accounts", r.tenant, r.app, accounts.len()),
            Err(e) => println!("{} ({}): failed: {e}", r.tenant, r.app),
        }
    }
    sim.stop().await;
    Ok(())
}
