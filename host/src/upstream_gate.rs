//! One upstream account's limit on concurrent requests, shared by everything this process runs
//! with that account's credentials: several calls at once, several tenants-file entries with the
//! same credentials, a cluster worker's parallel jobs. An upstream that limits concurrent requests per account
//! (and answers the excess HTTP 429, processing nothing) sees one client per account, not one
//! per call, and what one call learned holds for the next, so page-by-page calls do not start
//! from scratch.
//!
//! The [`Host`](crate::Host) owns the [`UpstreamGates`], one [`UpstreamGate`] per connecting
//! account and credential (`Credentials::gate_key`: a tenant that only names an account, with
//! another or a wrong secret, gets a gate of its own, so it can neither queue ahead of the
//! account's real calls nor teach their gate anything); every outbound request of a call takes
//! a slot in egress's send stage and gives it back, with what the answer said (only a success
//! or a 429 teaches the gate), once the answer is read. The gate's
//! limit follows pure rules ([`GateRules`]):
//!
//! - **slow start**: one more slot per answer taken while the limit was in use (every slot
//!   taken, or requests waiting), so the limit doubles per window of answers, until the first
//!   throttle;
//! - **at a throttle** (HTTP 429) the level the upstream accepted becomes the ceiling: the
//!   upstream's own count when the vendor policy names the header it reports it in (the
//!   account's requests in flight, the refused one included, so the limit sits one under it),
//!   else the requests in flight less the refused one (never below half the limit), lowered
//!   by an eighth (no halving sawtooth);
//! - **back to the ceiling** quickly (one slot per answer), then **hold** it for
//!   `connector_limit::PROBE_MIN_ANSWERS` answers (at least half a window) and probe one slot above; a probe
//!   the upstream takes for a whole window, or an answer whose count is above the one it
//!   reported at the throttle, means its limit rose: climb as at the start;
//! - one **episode**: requests sent before the limit last fell lower nothing more (a count they
//!   report still may).
//!
//! What a gate learned outlives the process when the host keeps a
//! [`GateMemory`](crate::gate_memory::GateMemory) (under the state directory): a gate first
//! used in a later process starts where the account's last one left off.
//!
//! The rules are the `connector-limit` crate's, which the plugin follows for its own limit too,
//! since it cannot see the other calls; the gate is what holds them all to the
//! account's. A call's configuration tells the plugin where the gate is
//! ([`HOST_ACCOUNT_IN_FLIGHT`](crate::options::HOST_ACCOUNT_IN_FLIGHT)), so its own limit
//! starts near it rather than from scratch.

use crate::gate_memory::{GateMemory, RETOLD_AFTER};
use crate::sync::lock;
pub use connector_limit::{AdaptiveLimit as GateRules, INITIAL, Learned, Outcome, Sent};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// The most any account's gate lets in flight (its limit grows only while it is in use, so
/// this only bounds an upstream that never throttles).
pub const MAX_LIMIT: usize = 10_000;

/// What the upstream made of a request, as egress tells the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    /// It answered, and not with a throttle or a server error; with the account's requests in
    /// flight the upstream reported, if it did.
    Accepted { reported: Option<u32> },
    /// HTTP 429, with the account's requests in flight the upstream reported, if it did.
    Throttled { reported: Option<u32> },
    /// No answer, or a server error: nothing to learn.
    Unknown,
}

/// Every account's gate in this process, by gate key. Clones share them.
#[derive(Clone)]
pub struct UpstreamGates {
    gates: Arc<Mutex<HashMap<String, Arc<UpstreamGate>>>>,
    memory: Option<Arc<dyn GateMemory>>,
    /// Where a gate starts that the memory recalls nothing of.
    first: usize,
}

impl Default for UpstreamGates {
    fn default() -> Self {
        Self {
            gates: Arc::default(),
            memory: None,
            first: INITIAL,
        }
    }
}

impl UpstreamGates {
    /// Gates that start from what `memory` recalls and tell it what they learn.
    pub fn remembered_in(memory: Arc<dyn GateMemory>) -> Self {
        Self {
            memory: Some(memory),
            ..Self::default()
        }
    }

    /// The same gates, a new one (of an account nothing is remembered of) starting at `first`
    /// in flight (the vendor policy's `first_in_flight`) rather than at [`INITIAL`], once the
    /// account's credentials have been answered with a success: until then it holds at
    /// [`INITIAL`] (or `first`, if lower), so a tenant whose secret is wrong never bursts at
    /// the account it names with more than that.
    pub fn starting_at(self, first: usize) -> Self {
        Self {
            first: first.clamp(1, MAX_LIMIT),
            ..self
        }
    }

    /// The gate of `key` (made on first use, from what the memory recalls of it; the same one
    /// from then on).
    pub fn gate(&self, key: &str) -> Arc<UpstreamGate> {
        if let Some(gate) = lock(&self.gates).get(key) {
            return gate.clone();
        }
        // Recalled outside the map's lock (it may read a file); the first gate made wins.
        let recalled = self.memory.as_ref().and_then(|m| m.recall(key));
        let made = match recalled {
            Some((learned, at)) => UpstreamGate::resumed(learned, at),
            None => UpstreamGate::unproven(self.first),
        };
        lock(&self.gates)
            .entry(key.to_string())
            .or_insert_with(|| Arc::new(made))
            .clone()
    }

    /// Tell the memory what the gate of `key` learned, if that changed since it was last told
    /// (or recalled), or was told more than [`RETOLD_AFTER`] ago.
    pub fn remember(&self, key: &str) {
        let Some(memory) = &self.memory else { return };
        let Some(gate) = lock(&self.gates).get(key).cloned() else {
            return;
        };
        let now = chrono::Utc::now();
        let learned = {
            let mut s = lock(&gate.state);
            let learned = s.rules.learned();
            let told = match s.remembered {
                Some((was, at)) => was == learned && now - at < RETOLD_AFTER,
                None => learned == s.unlearned,
            };
            if told {
                return;
            }
            s.remembered = Some((learned, now));
            learned
        };
        memory.remember(key, learned);
    }
}

/// One account's slots: at most its limit of requests in flight, the others waiting in order.
pub struct UpstreamGate {
    state: Mutex<GateState>,
}

struct GateState {
    rules: GateRules,
    in_flight: usize,
    /// Acquirers waiting for a slot, first come first served; one whose acquirer gave up is
    /// closed and skipped.
    waiting: VecDeque<oneshot::Sender<Sent>>,
    /// The last request that took the last free slot: every request sent before it was in
    /// flight while the limit was in use, so its answer tests the limit even if the slots
    /// emptied before it came back (answers of one round arrive together, and are released
    /// faster than the calls refill them).
    filled_by: Option<u64>,
    /// What the memory holds of this gate and since when (as recalled or last told).
    remembered: Option<(Learned, chrono::DateTime<chrono::Utc>)>,
    /// The first burst the gate rises to at its first success (see
    /// [`UpstreamGates::starting_at`]), while it has not had one.
    unproven_first: Option<usize>,
    /// What the rules tell before they learned anything (not worth telling the memory).
    unlearned: Learned,
}

impl Default for UpstreamGate {
    fn default() -> Self {
        Self::with_rules(GateRules::new(INITIAL, MAX_LIMIT))
    }
}

impl UpstreamGate {
    /// A gate that follows `rules`.
    pub fn with_rules(rules: GateRules) -> Self {
        let unlearned = rules.learned();
        Self {
            state: Mutex::new(GateState {
                rules,
                in_flight: 0,
                waiting: VecDeque::new(),
                filled_by: None,
                remembered: None,
                unproven_first: None,
                unlearned,
            }),
        }
    }

    /// A new account's gate: at [`INITIAL`] (or `first`, if lower) until the upstream first
    /// answers a request with a success, then at `first` unless a throttle came before.
    pub fn unproven(first: usize) -> Self {
        let gate = Self::with_rules(GateRules::new(first.min(INITIAL), MAX_LIMIT));
        if first > INITIAL {
            lock(&gate.state).unproven_first = Some(first);
        }
        gate
    }

    /// Where the gate lets the account go once its credentials are proven: its limit, or the
    /// first burst it rises to at its first success (what a plugin may plan for).
    pub fn offered(&self) -> usize {
        let s = lock(&self.state);
        s.unproven_first
            .unwrap_or(s.rules.limit())
            .max(s.rules.limit())
    }

    /// A gate that starts where an earlier process's gate left off.
    pub fn resumed(learned: Learned, at: chrono::DateTime<chrono::Utc>) -> Self {
        let gate = Self::with_rules(GateRules::resume(learned, MAX_LIMIT));
        lock(&gate.state).remembered = Some((learned, at));
        gate
    }

    /// Requests this gate lets in flight now.
    pub fn limit(&self) -> usize {
        lock(&self.state).rules.limit()
    }

    /// The level the upstream accepted at the last throttle.
    pub fn ceiling(&self) -> Option<usize> {
        lock(&self.state).rules.ceiling()
    }

    /// Requests holding a slot now.
    pub fn in_flight(&self) -> usize {
        lock(&self.state).in_flight
    }

    /// Wait for a slot (in order of arrival). Dropping the future gives back a slot it was
    /// handed but had not taken yet.
    pub async fn acquire(self: &Arc<Self>) -> GatePermit {
        loop {
            let rx = {
                let mut s = lock(&self.state);
                s.hand_over();
                if s.waiting.is_empty() && s.in_flight < s.rules.limit() {
                    let sent = s.admit();
                    return self.permit(sent);
                }
                let (tx, rx) = oneshot::channel();
                s.waiting.push_back(tx);
                rx
            };
            let mut waiting = Waiting {
                gate: self.clone(),
                rx,
            };
            if let Ok(sent) = (&mut waiting.rx).await {
                return self.permit(sent);
            }
        }
    }

    fn permit(self: &Arc<Self>, sent: Sent) -> GatePermit {
        GatePermit {
            gate: self.clone(),
            sent,
            open: true,
        }
    }

    /// Give a slot back and learn from what the upstream answered.
    fn release(&self, sent: Sent, answered: Answered) {
        let mut s = lock(&self.state);
        let outcome = match answered {
            Answered::Accepted { reported } => Outcome::Accepted {
                busy: s.filled_by.is_some_and(|f| f >= sent.seq)
                    || s.in_flight >= s.rules.limit()
                    || !s.waiting.is_empty(),
                reported,
            },
            Answered::Throttled { reported } => Outcome::Throttled {
                in_flight: s.in_flight,
                reported,
            },
            Answered::Unknown => Outcome::Unknown,
        };
        s.in_flight = s.in_flight.saturating_sub(1);
        let success = matches!(outcome, Outcome::Accepted { .. });
        s.rules.learn(sent, outcome);
        if success && let Some(first) = s.unproven_first.take() {
            // Rising to where a new gate of a known vendor starts teaches nothing, unless
            // something was learned before (a throttle, which also keeps it from rising).
            let learned_nothing = s.rules.learned() == s.unlearned;
            s.rules.raise_to(first);
            if learned_nothing {
                s.unlearned = s.rules.learned();
            }
        }
        s.hand_over();
    }
}

impl GateState {
    fn admit(&mut self) -> Sent {
        let sent = self.rules.sent();
        self.took(sent);
        sent
    }

    /// Count a slot taken by `sent`.
    fn took(&mut self, sent: Sent) {
        self.in_flight += 1;
        if self.in_flight >= self.rules.limit() {
            self.filled_by = Some(sent.seq);
        }
    }

    /// Hand free slots to waiting acquirers, skipping those that gave up.
    fn hand_over(&mut self) {
        while self.in_flight < self.rules.limit() {
            let Some(tx) = self.waiting.pop_front() else {
                break;
            };
            if tx.is_closed() {
                continue;
            }
            let sent = self.rules.sent();
            if tx.send(sent).is_ok() {
                self.took(sent);
            }
        }
    }
}

/// An acquirer waiting for its slot; dropped before taking one it was handed, it gives it back.
struct Waiting {
    gate: Arc<UpstreamGate>,
    rx: oneshot::Receiver<Sent>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.rx.close();
        if let Ok(sent) = self.rx.try_recv() {
            self.gate.release(sent, Answered::Unknown);
        }
    }
}

/// A slot of an account's gate, held while its request is sent and its answer read. Given back
/// with [`GatePermit::finish`]; dropped unfinished, it teaches nothing.
pub struct GatePermit {
    gate: Arc<UpstreamGate>,
    sent: Sent,
    open: bool,
}

impl GatePermit {
    /// Give the slot back with what the upstream answered.
    pub fn finish(mut self, answered: Answered) {
        self.open = false;
        self.gate.release(self.sent, answered);
    }
}

impl Drop for GatePermit {
    fn drop(&mut self) {
        if self.open {
            self.gate.release(self.sent, Answered::Unknown);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Waker};

    /// A gate whose limit is `n` (a throttle reported `n + 1`).
    fn gate_of(n: u32) -> Arc<UpstreamGate> {
        let mut rules = GateRules::new(INITIAL, MAX_LIMIT);
        let s = rules.sent();
        rules.learn(
            s,
            Outcome::Throttled {
                in_flight: INITIAL,
                reported: Some(n + 1),
            },
        );
        Arc::new(UpstreamGate::with_rules(rules))
    }

    /// `held` requests in flight at `gate`, the first refused with the upstream reporting
    /// `reported`, the others answered with nothing to learn.
    async fn throttle_one_of(gate: &Arc<UpstreamGate>, held: usize, reported: u32) {
        let mut permits = Vec::new();
        for _ in 0..held {
            permits.push(gate.acquire().await);
        }
        permits.remove(0).finish(Answered::Throttled {
            reported: Some(reported),
        });
        for permit in permits {
            permit.finish(Answered::Unknown);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_burst_of_acquirers_never_exceeds_the_limit() {
        let gate = gate_of(8);
        let (now, peak, done) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..200 {
            let (gate, now, peak, done) = (gate.clone(), now.clone(), peak.clone(), done.clone());
            tasks.spawn(async move {
                let permit = gate.acquire().await;
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(n, Ordering::SeqCst);
                for _ in 0..20 {
                    tokio::task::yield_now().await;
                }
                now.fetch_sub(1, Ordering::SeqCst);
                // Nothing learned: the limit stays 8 throughout.
                permit.finish(Answered::Unknown);
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        while tasks.join_next().await.is_some() {}
        assert_eq!(done.load(Ordering::SeqCst), 200);
        let peak = peak.load(Ordering::SeqCst);
        assert!((1..=8).contains(&peak), "peak {peak}");
        assert_eq!(gate.in_flight(), 0, "every slot given back");
    }

    #[tokio::test]
    async fn answers_teach_the_gate_and_what_it_learned_stays() {
        let gates = UpstreamGates::default();
        let gate = gates.gate("AC1");
        let mut held = Vec::new();
        for _ in 0..12 {
            held.push(gate.acquire().await);
        }
        // The upstream counts 11 with the refused one: 10 is this account's ceiling.
        held.remove(0)
            .finish(Answered::Throttled { reported: Some(11) });
        assert_eq!((gate.limit(), gate.ceiling()), (10, Some(10)));
        for permit in held {
            permit.finish(Answered::Unknown);
        }
        // The next call for the same account finds the same gate; another account its own.
        assert!(Arc::ptr_eq(&gate, &gates.gate("AC1")));
        assert_eq!(gates.clone().gate("AC1").limit(), 10);
        assert_eq!(gates.gate("AC2").limit(), INITIAL);
        // A request that got no answer teaches nothing.
        drop(gate.acquire().await);
        assert_eq!((gate.limit(), gate.in_flight()), (10, 0));
    }

    /// A memory in a map, counting what it is told.
    #[derive(Default)]
    struct Notebook {
        kept: Mutex<HashMap<String, (Learned, chrono::DateTime<chrono::Utc>)>>,
        told: AtomicUsize,
    }

    impl GateMemory for Notebook {
        fn recall(&self, key: &str) -> Option<(Learned, chrono::DateTime<chrono::Utc>)> {
            lock(&self.kept).get(key).copied()
        }
        fn remember(&self, key: &str, learned: Learned) {
            self.told.fetch_add(1, Ordering::SeqCst);
            lock(&self.kept).insert(key.into(), (learned, chrono::Utc::now()));
        }
    }

    #[tokio::test]
    async fn what_a_gate_learned_starts_the_next_processes_gate_and_is_told_once() {
        let notebook = Arc::new(Notebook::default());
        let gates = UpstreamGates::remembered_in(notebook.clone());
        let gate = gates.gate("AC1/00");
        // Nothing learned yet: nothing to tell.
        gates.remember("AC1/00");
        assert_eq!(notebook.told.load(Ordering::SeqCst), 0);
        throttle_one_of(&gate, 12, 11).await;
        gates.remember("AC1/00");
        gates.remember("AC1/00");
        assert_eq!(notebook.told.load(Ordering::SeqCst), 1, "told once");
        // A later process's gate for the same key starts at the ceiling; another key at INITIAL.
        let later = UpstreamGates::remembered_in(notebook.clone());
        let resumed = later.gate("AC1/00");
        assert_eq!((resumed.limit(), resumed.ceiling()), (10, Some(10)));
        assert_eq!(later.gate("AC1/ff").limit(), INITIAL);
        // Recalled and unchanged, it is not told again (until RETOLD_AFTER)...
        later.remember("AC1/00");
        assert_eq!(notebook.told.load(Ordering::SeqCst), 1);
        // ...and a key whose gate this process never made is not told anything.
        later.remember("AC9/00");
        assert_eq!(notebook.told.load(Ordering::SeqCst), 1);
        // A stale telling is renewed.
        let learned = lock(&resumed.state).rules.learned();
        lock(&resumed.state).remembered = Some((
            learned,
            chrono::Utc::now() - RETOLD_AFTER - chrono::TimeDelta::minutes(1),
        ));
        later.remember("AC1/00");
        assert_eq!(notebook.told.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_new_accounts_gate_rises_to_the_vendors_first_burst_at_its_first_success() {
        let notebook = Arc::new(Notebook::default());
        let gates = UpstreamGates::remembered_in(notebook.clone()).starting_at(100);
        let gate = gates.gate("AC1/00");
        // Until the upstream has answered a success, no more than INITIAL at once (a tenant
        // with a wrong secret never gets further), though the plugin may plan for 100.
        assert_eq!((gate.limit(), gate.offered()), (INITIAL, 100));
        for _ in 0..3 {
            gate.acquire().await.finish(Answered::Unknown);
        }
        assert_eq!(gate.limit(), INITIAL, "refusals prove nothing");
        gate.acquire()
            .await
            .finish(Answered::Accepted { reported: None });
        assert_eq!((gate.limit(), gate.offered()), (100, 100));
        // Its next 100 requests go out at once; the 101st waits for a slot.
        let held: Vec<_> = {
            let mut held = Vec::new();
            for _ in 0..100 {
                held.push(gate.acquire().await);
            }
            held
        };
        let mut waiting = Box::pin(gate.acquire());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(
            waiting.as_mut().poll(&mut cx).is_pending(),
            "the 101st waits"
        );
        drop(waiting);
        for permit in held {
            permit.finish(Answered::Unknown);
        }
        // Where it starts is not news: nothing is told.
        gates.remember("AC1/00");
        assert_eq!(notebook.told.load(Ordering::SeqCst), 0);
        // A throttle teaches it the account's limit, which a later process recalls in place of
        // the first burst.
        throttle_one_of(&gate, 10, 9).await;
        gates.remember("AC1/00");
        assert_eq!(notebook.told.load(Ordering::SeqCst), 1);
        let later = UpstreamGates::remembered_in(notebook.clone()).starting_at(100);
        assert_eq!(later.gate("AC1/00").limit(), 8);
        // A gate throttled before any success stays at what the throttle taught.
        let other = later.gate("AC2/00");
        throttle_one_of(&other, 6, 5).await;
        other
            .acquire()
            .await
            .finish(Answered::Accepted { reported: None });
        assert_eq!(other.limit(), 4);
        later.remember("AC2/00");
        assert_eq!(
            notebook.told.load(Ordering::SeqCst),
            2,
            "what it learned is told"
        );
        // Never told what a gate whose credentials never succeeded started at.
        later
            .gate("AC3/00")
            .acquire()
            .await
            .finish(Answered::Unknown);
        later.remember("AC3/00");
        assert_eq!(notebook.told.load(Ordering::SeqCst), 2);
        // Bounded like any gate; a first burst below INITIAL is where it starts.
        assert_eq!(
            UpstreamGates::default().starting_at(0).gate("AC1").limit(),
            1
        );
        let low = UpstreamGates::default().starting_at(10).gate("AC1");
        assert_eq!((low.limit(), low.offered()), (10, 10));
    }

    #[tokio::test]
    async fn a_round_that_filled_the_gate_doubles_it_however_its_answers_come_back() {
        let gate = Arc::new(UpstreamGate::default());
        // A round of INITIAL requests fills the gate; the answers come back together and are
        // released before anything is sent again, so none finds the gate full any more.
        let round: Vec<_> = {
            let mut held = Vec::new();
            for _ in 0..INITIAL {
                held.push(gate.acquire().await);
            }
            held
        };
        for permit in round {
            permit.finish(Answered::Accepted { reported: None });
        }
        assert_eq!(gate.limit(), 2 * INITIAL, "every answer tested the limit");
        // A round that left slots free teaches nothing: the limit was not in use.
        let half: Vec<_> = {
            let mut held = Vec::new();
            for _ in 0..INITIAL {
                held.push(gate.acquire().await);
            }
            held
        };
        for permit in half {
            permit.finish(Answered::Accepted { reported: None });
        }
        assert_eq!(
            gate.limit(),
            2 * INITIAL,
            "half the slots were never tested"
        );
    }

    #[tokio::test]
    async fn an_acquirer_that_gives_up_gives_back_the_slot_it_was_handed() {
        let gate = gate_of(1);
        let held = gate.acquire().await;
        let mut cx = Context::from_waker(Waker::noop());
        // Waiting, then handed the slot, then dropped before taking it.
        let mut waiting = Box::pin(gate.acquire());
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        held.finish(Answered::Unknown);
        assert_eq!(gate.in_flight(), 1, "handed over");
        drop(waiting);
        assert_eq!(gate.in_flight(), 0, "given back");
        // Waiting, then dropped before any slot frees.
        let first = gate.acquire().await;
        let mut waiting = Box::pin(gate.acquire());
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        drop(waiting);
        first.finish(Answered::Unknown);
        assert_eq!(gate.in_flight(), 0, "not handed to one who left");
        let mut again = Box::pin(gate.acquire());
        let Poll::Ready(permit) = again.as_mut().poll(&mut cx) else {
            panic!("the slot is free: nobody is left waiting for it");
        };
        assert_eq!(gate.in_flight(), 1);
        drop(permit);
        assert_eq!(gate.in_flight(), 0);
    }
}
