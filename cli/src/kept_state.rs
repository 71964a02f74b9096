//! `connector state show|clear`: what the host keeps for each tenant between runs, read and
//! reset without loading the plugin and without any tenant's secret: a tenant's state is
//! found by its name, connecting account and app alone.

use crate::args::{Global, StateAction};
use crate::env_credentials;
use crate::output::safe;
use crate::setup::state_dir;
use anyhow::anyhow;
use connector_host::state::tenant_state::TenantStates;
use connector_host::tenants_file::TenantIdentity;
use std::path::Path;
use std::process::ExitCode;

/// Longest value preview shown.
const PREVIEW: usize = 80;

/// Run `state show` or `state clear` for the environment's tenant or a tenants file's.
pub fn run(g: &Global, action: StateAction, tenants: Option<&Path>) -> anyhow::Result<ExitCode> {
    let dir = state_dir(g).ok_or_else(|| {
        anyhow!("no state directory: set --state-dir DIR or CONNECTOR_STATE_DIR (without one, state lives only for one run)")
    })?;
    let states = TenantStates::new(Some(dir));
    let tenants: Vec<TenantIdentity> = match tenants {
        Some(file) => connector_host::tenants_file::identities(
            file,
            &twilio_policy::tenants_schema(),
            &g.app,
        )?,
        None => vec![TenantIdentity {
            name: "default".into(),
            app: g.app.clone(),
            account: env_credentials::account_sid_from_env()?,
        }],
    };
    for t in &tenants {
        let who = format!(
            "tenant {} ({} app, account {})",
            safe(&t.name),
            safe(&t.app),
            safe(&t.account)
        );
        match action {
            StateAction::Clear => {
                let had = states.clear_for(t).map_err(|e| anyhow!("{who}: {e}"))?;
                println!(
                    "{who}: {}",
                    if had {
                        "state cleared"
                    } else {
                        "no state kept"
                    }
                );
            }
            StateAction::Show => {
                let b = states.load_for(t).map_err(|e| anyhow!("{who}: {e}"))?;
                if g.json {
                    for (k, v) in b.entries() {
                        let line = serde_json::json!({
                            "tenant": t.name, "app": t.app, "key": k, "bytes": v.len(),
                            "value": String::from_utf8_lossy(v),
                        });
                        println!("{line}");
                    }
                    continue;
                }
                println!("{who}: {} key(s), {} bytes", b.len(), b.bytes());
                for (k, v) in b.entries() {
                    let text = String::from_utf8_lossy(v);
                    let preview: String = text.chars().take(PREVIEW).collect();
                    let more = if text.chars().count() > PREVIEW {
                        "…"
                    } else {
                        ""
                    };
                    println!("  {}  {} B  {}{more}", safe(k), v.len(), safe(&preview));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
