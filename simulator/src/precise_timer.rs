//! Waiting until an instant with sub-millisecond precision, for the simulated latency. Tokio's
//! timer fires on millisecond ticks after the deadline, so an answer due after 40 ms left up to
//! a millisecond late: 2.5 % on every round trip, which a benchmark's floor (requests × RTT /
//! in flight) would charge to the connector. The coarse part of a wait stays on tokio's timer;
//! the last two milliseconds are kept by one thread that waits for the earliest deadline on a
//! condition variable and wakes its waiter.

use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// What tokio's timer may be trusted with: it is never early, and at most a tick late.
const COARSE_MARGIN: Duration = Duration::from_millis(2);

/// Wait until `deadline` (at once when it has passed).
pub async fn sleep_until(deadline: Instant) {
    if let Some(coarse) = deadline.checked_sub(COARSE_MARGIN)
        && coarse > Instant::now()
    {
        tokio::time::sleep_until(coarse.into()).await;
    }
    if deadline <= Instant::now() {
        return;
    }
    let (tx, rx) = oneshot::channel();
    timer().add(deadline, tx);
    // A dropped sender (impossible while the thread runs) only ends the wait early.
    let _ = rx.await;
}

/// The deadlines waited for, and the thread's wake-up.
struct Timer {
    due: Mutex<Vec<(Instant, oneshot::Sender<()>)>>,
    changed: Condvar,
}

fn timer() -> &'static Timer {
    static TIMER: OnceLock<&'static Timer> = OnceLock::new();
    TIMER.get_or_init(|| {
        let t: &'static Timer = Box::leak(Box::new(Timer {
            due: Mutex::new(Vec::new()),
            changed: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("sim-precise-timer".into())
            .spawn(move || t.run())
            .expect("the simulator's timer thread starts");
        t
    })
}

impl Timer {
    fn add(&self, at: Instant, tx: oneshot::Sender<()>) {
        self.due
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((at, tx));
        self.changed.notify_one();
    }

    fn run(&self) {
        let mut due = self.due.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let now = Instant::now();
            // Wake every waiter whose time has come (or who left).
            let mut i = 0;
            while i < due.len() {
                if due[i].0 <= now || due[i].1.is_closed() {
                    let (_, tx) = due.swap_remove(i);
                    let _ = tx.send(());
                } else {
                    i += 1;
                }
            }
            due = match due.iter().map(|(at, _)| *at).min() {
                None => self.changed.wait(due).unwrap_or_else(|p| p.into_inner()),
                Some(next) => {
                    self.changed
                        .wait_timeout(due, next.saturating_duration_since(now))
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn many_waits_at_once_each_end_and_none_before_its_deadline() {
        let start = Instant::now();
        let waits = (0..50u64).map(|i| {
            // Spread over 0–4.9 ms, some inside the coarse margin, one already past.
            let deadline = start + Duration::from_micros(i * 100);
            tokio::spawn(async move {
                sleep_until(deadline).await;
                Instant::now() >= deadline
            })
        });
        let ended = tokio::time::timeout(Duration::from_secs(10), futures_join(waits))
            .await
            .expect("every wait ends");
        assert!(
            ended.iter().all(|ok| *ok),
            "a wait ended before its deadline"
        );
    }

    async fn futures_join(waits: impl Iterator<Item = tokio::task::JoinHandle<bool>>) -> Vec<bool> {
        let mut out = Vec::new();
        for w in waits {
            out.push(w.await.unwrap());
        }
        out
    }
}
