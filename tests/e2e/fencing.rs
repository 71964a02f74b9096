//! Fenced actions: the caller's fence (a cluster worker's lease) is asked before each write an
//! action sends; once it refuses, nothing more goes upstream whatever the plugin tries, the
//! call fails as `fenced`, and an action that wrote nothing leaves no audit line. Shown with
//! the hostile component, which keeps writing after a refusal.

use connector_e2e::{connector_wasm, hostile_wasm, sim, tenant};
use connector_host::write_fence::{FenceCheck, WriteFence};
use connector_host::{Action, CallError, Host};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use twilio_sim::{Fixture, Simulator};

const SUB: &str = "AC0000000000000000000000000000b001";

/// Lets the first `allow` writes go, then refuses, counting how often it was asked.
struct Fence {
    allow: usize,
    asked: AtomicUsize,
}

impl Fence {
    fn allowing(allow: usize) -> Arc<Self> {
        Arc::new(Self {
            allow,
            asked: AtomicUsize::new(0),
        })
    }

    fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }
}

impl WriteFence for Fence {
    fn check(&self) -> FenceCheck<'_> {
        let n = self.asked.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            if n < self.allow {
                Ok(())
            } else {
                Err("the tenant's lease was taken over".into())
            }
        })
    }
}

/// `plugin` in a host that audits to its own file.
async fn audited(sim: &Simulator, plugin: &std::path::Path, name: &str) -> (Host, PathBuf) {
    connector_e2e::audited_host(sim, plugin, &format!("fencing-{name}")).await
}

fn action_lines(audit: &PathBuf) -> Vec<serde_json::Value> {
    std::fs::read_to_string(audit)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "action")
        .collect()
}

fn posts(sim: &Simulator) -> usize {
    sim.requests().iter().filter(|r| r.method == "POST").count()
}

#[tokio::test]
async fn a_refused_fence_sends_no_write_whatever_the_plugin_tries() {
    let sim = sim(Fixture::demo()).await;
    let (host, audit) = audited(&sim, hostile_wasm(), "refused").await;
    let t = tenant(&sim, "twilio").with_option("mode", "keep-writing");
    let fence = Fence::allowing(0);
    let err = host
        .act_fenced(&t, Action::Suspend, SUB, false, Some(fence.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Fenced { writes_sent: 0, .. }),
        "{err}"
    );
    assert_eq!(err.kind(), "fenced");
    assert!(err.to_string().contains("lease was taken over"), "{err}");
    assert_eq!(posts(&sim), 0, "five writes tried, none sent");
    assert_eq!(
        fence.asked(),
        1,
        "once refused, refused without asking again"
    );
    assert!(
        action_lines(&audit).is_empty(),
        "nothing happened, so nothing is audited"
    );
}

#[tokio::test]
async fn writes_sent_before_the_refusal_are_counted_and_audited() {
    let sim = sim(Fixture::demo()).await;
    let (host, audit) = audited(&sim, hostile_wasm(), "partly").await;
    let t = tenant(&sim, "twilio").with_option("mode", "keep-writing");
    let err = host
        .act_fenced(&t, Action::Suspend, SUB, false, Some(Fence::allowing(2)))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CallError::Fenced { writes_sent: 2, .. }),
        "{err}"
    );
    assert_eq!(posts(&sim), 2);
    let lines = action_lines(&audit);
    assert_eq!(lines.len(), 1, "the writes that went out are on record");
    assert!(
        lines[0].to_string().contains("write not sent"),
        "{}",
        lines[0]
    );
}

#[tokio::test]
async fn an_action_under_a_fence_that_holds_runs_as_usual() {
    let sim = sim(Fixture::demo()).await;
    let (host, audit) = audited(&sim, connector_wasm(), "holds").await;
    let t = tenant(&sim, "twilio");
    let fence = Fence::allowing(usize::MAX);
    let r = host
        .act_fenced(&t, Action::Suspend, SUB, false, Some(fence.clone()))
        .await
        .unwrap();
    assert!(r.changed, "{r:?}");
    assert_eq!(posts(&sim), 1);
    assert_eq!(
        fence.asked(),
        1,
        "asked before the one write, not before reads"
    );
    assert_eq!(action_lines(&audit).len(), 1);
    // A dry run writes nothing, so the fence is never asked.
    let fence = Fence::allowing(0);
    host.act_fenced(&t, Action::Reactivate, SUB, true, Some(fence.clone()))
        .await
        .unwrap();
    assert_eq!(fence.asked(), 0);
}
