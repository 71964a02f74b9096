//! `connector state show|clear`: what the host keeps for each tenant between runs, read and
//! reset without loading the plugin and without any tenant's secret: a tenant's state is
//! found by its name, connecting account and app alone, and the concurrency limit the host
//! remembers for its account by the account (for every credential of it).

use crate::args::{Global, StateAction};
use crate::env_credentials;
use crate::output::safe;
use crate::setup::state_dir;
use anyhow::anyhow;
use connector_host::gate_memory::{self, GateMemoryDir, Remembered};
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
    let states = TenantStates::new(Some(dir.clone()));
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
    let limits = GateMemoryDir::new(dir.join(gate_memory::DIR_NAME));
    let mut accounts_done = std::collections::BTreeSet::new();
    for t in &tenants {
        // What the account's gate remembers is the account's, shown or forgotten once.
        let first_of_account = accounts_done.insert(t.account.clone());
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
                if first_of_account {
                    let forgotten = limits
                        .forget_account(&t.account)
                        .map_err(|e| anyhow!("account {}: {e}", safe(&t.account)))?;
                    if forgotten > 0 {
                        println!(
                            "account {}: its remembered concurrency limit forgotten",
                            safe(&t.account)
                        );
                    }
                }
            }
            StateAction::Show => {
                let b = states.load_for(t).map_err(|e| anyhow!("{who}: {e}"))?;
                let remembered = if first_of_account {
                    limits
                        .remembered_for_account(&t.account)
                        .map_err(|e| anyhow!("account {}: {e}", safe(&t.account)))?
                } else {
                    Vec::new()
                };
                if g.json {
                    for r in &remembered {
                        let line = serde_json::json!({
                            "account": r.account, "limit_starts_at": r.start,
                            "ceiling": r.ceiling, "learned_at": r.learned_at.to_rfc3339(),
                            "in_use": r.fresh(chrono::Utc::now()),
                        });
                        println!("{line}");
                    }
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
                for r in &remembered {
                    println!("  {}", remembered_line(r));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One remembered limit, in words.
fn remembered_line(r: &Remembered) -> String {
    let why = match r.ceiling {
        Some(_) => "the upstream's ceiling at its last throttle",
        None => "taken by the upstream, never throttled",
    };
    let used = if r.fresh(chrono::Utc::now()) {
        "a new run starts there"
    } else {
        "too old: a new run starts from scratch"
    };
    format!(
        "concurrency limit remembered for the account: {} in flight ({why}), learned {}; {used}",
        r.start,
        r.learned_at.format("%Y-%m-%d %H:%M UTC"),
    )
}
