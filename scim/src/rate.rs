//! Bounded request rates per client: a token bucket per key (the client's name).
//!
//! Each key may make `burst` requests at once, and one more each `1 / per_second` seconds
//! after; a refused request takes no token. The bucket is kept as the time it will be full
//! again (the generic cell rate algorithm, equivalent to a token bucket), so the arithmetic is
//! exact in [`Duration`]s, with no drift from adding fractions of tokens.
//!
//! The map of keys is bounded by [`MAX_KEYS`] (or [`RateLimiter::with_max_keys`]). Keys come
//! from the clients file, so the bound is a guard, not a working limit. When a new key would
//! pass it, the buckets that are full again are forgotten first (a full bucket is the same
//! as a new one, so nothing is lost), and if none is, the least recently used key is evicted:
//! that key starts again with a full bucket when it returns.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How many keys a [`RateLimiter::new`] keeps at most.
pub const MAX_KEYS: usize = 10_000;

/// The longest time between two tokens: rates below one a day are taken as one a day.
const MAX_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// A token bucket per key, shared between threads.
#[derive(Debug)]
pub struct RateLimiter {
    /// The time one token takes to come back.
    interval: Duration,
    /// How far ahead of now a bucket's full time may be and still give a token:
    /// `(burst - 1) * interval`.
    tolerance: Duration,
    max_keys: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    buckets: HashMap<String, Bucket>,
    /// Counts uses, to order keys by their last one.
    clock: u64,
}

#[derive(Debug)]
struct Bucket {
    /// When the bucket is full again; at or before now, it is full.
    full_at: Instant,
    /// The `clock` of its last use.
    used: u64,
}

impl RateLimiter {
    /// `per_second` requests a second per key, `burst` at once, at most [`MAX_KEYS`] keys.
    /// A `burst` of 0 is taken as 1.
    ///
    /// # Panics
    ///
    /// If `per_second` is not a positive number.
    pub fn new(per_second: f64, burst: u32) -> RateLimiter {
        RateLimiter::with_max_keys(per_second, burst, MAX_KEYS)
    }

    /// As [`RateLimiter::new`], keeping at most `max_keys` keys (at least 1).
    ///
    /// # Panics
    ///
    /// If `per_second` is not a positive number.
    pub fn with_max_keys(per_second: f64, burst: u32, max_keys: usize) -> RateLimiter {
        assert!(
            per_second.is_finite() && per_second > 0.0,
            "a rate must be a positive number of requests a second"
        );
        let interval = Duration::try_from_secs_f64(1.0 / per_second)
            .unwrap_or(MAX_INTERVAL)
            .min(MAX_INTERVAL);
        let tolerance = interval
            .checked_mul(burst.max(1) - 1)
            .unwrap_or(Duration::MAX);
        RateLimiter {
            interval,
            tolerance,
            max_keys: max_keys.max(1),
            state: Mutex::new(State::default()),
        }
    }

    /// Take a token for `key` at `now`, or say how long until one is there.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.clock += 1;
        let used = state.clock;
        if !state.buckets.contains_key(key) {
            if state.buckets.len() >= self.max_keys {
                state.make_room(now, self.max_keys);
            }
            state
                .buckets
                .insert(key.to_string(), Bucket { full_at: now, used });
        }
        let bucket = state
            .buckets
            .get_mut(key)
            .expect("the bucket was just made");
        bucket.used = used;
        let full_at = bucket.full_at.max(now);
        let ahead = full_at - now;
        if ahead > self.tolerance {
            return Err(ahead - self.tolerance);
        }
        bucket.full_at = full_at.checked_add(self.interval).unwrap_or(full_at);
        Ok(())
    }

    /// How many keys are kept now.
    pub fn keys(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .buckets
            .len()
    }
}

impl State {
    /// Room for one more key: forget the full buckets, or else the least recently used key.
    fn make_room(&mut self, now: Instant, max_keys: usize) {
        self.buckets.retain(|_, b| b.full_at > now);
        while self.buckets.len() >= max_keys {
            let Some(oldest) = self
                .buckets
                .iter()
                .min_by_key(|(_, b)| b.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.buckets.remove(&oldest);
        }
    }
}

/// A retry-after in whole seconds, rounded up, at least 1 (for a `Retry-After` header).
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait
        .as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0));
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn burst_then_refused_then_refilled() {
        let limiter = RateLimiter::new(2.0, 3);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(
                limiter.check("okta", t0),
                Ok(()),
                "request {i} of the burst"
            );
        }
        assert_eq!(limiter.check("okta", t0), Err(ms(500)));
        assert_eq!(limiter.check("okta", t0 + ms(200)), Err(ms(300)));
        // A refused request takes nothing: still one token at 500 ms, not later.
        assert_eq!(limiter.check("okta", t0 + ms(500)), Ok(()));
        assert_eq!(limiter.check("okta", t0 + ms(500)), Err(ms(500)));
        // After long enough, the whole burst again, and no more.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(limiter.check("okta", later), Ok(()));
        }
        assert_eq!(limiter.check("okta", later), Err(ms(500)));
    }

    #[test]
    fn steady_rate_is_allowed() {
        let limiter = RateLimiter::new(10.0, 1);
        let t0 = Instant::now();
        for i in 0..1000 {
            let now = t0 + ms(100 * i);
            assert_eq!(limiter.check("k", now), Ok(()), "request {i}");
            assert_eq!(limiter.check("k", now), Err(ms(100)), "request {i} again");
        }
    }

    #[test]
    fn partial_refill() {
        let limiter = RateLimiter::new(1.0, 2);
        let t0 = Instant::now();
        assert!(limiter.check("k", t0).is_ok());
        assert!(limiter.check("k", t0).is_ok());
        assert_eq!(limiter.check("k", t0 + ms(400)), Err(ms(600)));
        assert!(limiter.check("k", t0 + ms(1000)).is_ok());
        assert_eq!(limiter.check("k", t0 + ms(1000)), Err(ms(1000)));
        // 2.5 s after: one token back, not yet two.
        assert!(limiter.check("k", t0 + ms(3500)).is_ok());
        assert!(limiter.check("k", t0 + ms(3500)).is_ok());
        assert_eq!(limiter.check("k", t0 + ms(3500)), Err(ms(1000)));
    }

    #[test]
    fn slow_rates_and_zero_burst() {
        let limiter = RateLimiter::new(0.1, 0);
        let t0 = Instant::now();
        assert!(limiter.check("k", t0).is_ok());
        assert_eq!(limiter.check("k", t0), Err(Duration::from_secs(10)));
        let tiny = RateLimiter::new(1e-30, 1);
        assert!(tiny.check("k", t0).is_ok());
        assert_eq!(tiny.check("k", t0), Err(MAX_INTERVAL));
    }

    #[test]
    fn an_earlier_instant_is_taken_as_the_latest() {
        let limiter = RateLimiter::new(1.0, 1);
        let t0 = Instant::now();
        assert!(limiter.check("k", t0 + ms(5000)).is_ok());
        assert_eq!(limiter.check("k", t0), Err(ms(6000)));
    }

    #[test]
    fn keys_are_independent() {
        let limiter = RateLimiter::new(1.0, 1);
        let t0 = Instant::now();
        assert!(limiter.check("okta", t0).is_ok());
        assert!(limiter.check("okta", t0).is_err());
        assert!(limiter.check("entra", t0).is_ok());
        assert!(limiter.check("entra", t0).is_err());
        assert!(limiter.check("Okta", t0).is_ok());
        assert_eq!(limiter.keys(), 3);
    }

    #[test]
    fn the_number_of_keys_is_capped() {
        let limiter = RateLimiter::with_max_keys(1.0, 1, 3);
        let t0 = Instant::now();
        for k in ["a", "b", "c"] {
            assert!(limiter.check(k, t0).is_ok());
        }
        // "a" used again, so "b" is now the least recently used.
        assert!(limiter.check("a", t0).is_err());
        assert!(limiter.check("d", t0).is_ok());
        assert_eq!(limiter.keys(), 3);
        // "b" was evicted: it starts again with a full bucket. "a" and "c" were kept.
        assert!(limiter.check("b", t0).is_ok());
        assert_eq!(limiter.keys(), 3);
        assert!(limiter.check("a", t0).is_err());
        assert!(limiter.check("d", t0).is_err());
        for i in 0..100 {
            let _ = limiter.check(&format!("k{i}"), t0);
            assert!(limiter.keys() <= 3);
        }
    }

    #[test]
    fn full_buckets_are_forgotten_before_any_eviction() {
        let limiter = RateLimiter::with_max_keys(1.0, 1, 2);
        let t0 = Instant::now();
        assert!(limiter.check("a", t0).is_ok());
        assert!(limiter.check("b", t0 + ms(900)).is_ok());
        // At 1.5 s "a" is full again and "b" is not: "a" is forgotten (losing nothing), "b" kept.
        assert!(limiter.check("c", t0 + ms(1500)).is_ok());
        assert_eq!(limiter.keys(), 2);
        assert!(limiter.check("b", t0 + ms(1500)).is_err());
        assert_eq!(limiter.check("c", t0 + ms(1500)), Err(ms(1000)));
    }

    #[test]
    fn the_least_recently_used_goes_even_if_throttled() {
        let limiter = RateLimiter::with_max_keys(1.0, 1, 2);
        let t0 = Instant::now();
        assert!(limiter.check("old", t0).is_ok());
        assert!(limiter.check("new", t0 + ms(10)).is_ok());
        assert!(limiter.check("third", t0 + ms(20)).is_ok());
        assert_eq!(limiter.keys(), 2);
        assert!(limiter.check("new", t0 + ms(20)).is_err());
        assert!(limiter.check("old", t0 + ms(20)).is_ok(), "old was evicted");
    }

    #[test]
    fn a_poisoned_lock_is_recovered() {
        let limiter = RateLimiter::new(1.0, 1);
        let t0 = Instant::now();
        assert!(limiter.check("k", t0).is_ok());
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _held = limiter.state.lock().unwrap();
            panic!("poison the lock");
        }));
        assert!(limiter.state.is_poisoned());
        assert_eq!(limiter.check("k", t0), Err(ms(1000)));
        assert_eq!(limiter.keys(), 1);
    }

    #[test]
    fn shared_between_threads() {
        let limiter = std::sync::Arc::new(RateLimiter::new(1.0, 100));
        let t0 = Instant::now();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let limiter = limiter.clone();
                std::thread::spawn(move || {
                    (0..50).filter(|_| limiter.check("k", t0).is_ok()).count()
                })
            })
            .collect();
        let allowed: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(allowed, 100);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let cases = [
            (Duration::ZERO, 1),
            (Duration::from_nanos(1), 1),
            (ms(500), 1),
            (ms(1000), 1),
            (ms(1001), 2),
            (ms(2500), 3),
            (Duration::from_secs(10), 10),
            (Duration::MAX, u64::MAX),
        ];
        for (wait, want) in cases {
            assert_eq!(retry_after_secs(wait), want, "{wait:?}");
        }
    }

    #[test]
    #[should_panic(expected = "positive number")]
    fn a_zero_rate_is_refused() {
        let _ = RateLimiter::new(0.0, 1);
    }
}
