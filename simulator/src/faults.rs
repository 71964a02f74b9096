//! Fault injection: rules consumed by matching requests, plus periodic faults for load runs.

use std::collections::VecDeque;
use std::time::Duration;

/// One injected misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 with Twilio error 20429, with or without `Retry-After` (seconds).
    RateLimit { retry_after_secs: Option<u64> },
    /// A bare 5xx (or any) status with a Twilio error body.
    Status(u16),
    /// A 200 whose body is not JSON.
    Malformed,
    /// A 200 whose JSON body is cut in half.
    Truncated,
    /// A 200 with a body of this many bytes of padding JSON.
    Oversized(usize),
    /// Wait this long before answering normally.
    Delay(Duration),
    /// Close the connection without an answer.
    Reset,
    /// Answer with this status and JSON body instead (e.g. a hostile page link).
    Body(u16, String),
    /// Answer 200 with this body and `Content-Encoding` (an upstream that compresses anyway).
    Encoded(String, String),
    /// A 302 redirect to this URL.
    Redirect(String),
}

/// A fault applied to the next `times` requests whose path contains `path_contains`.
#[derive(Debug, Clone)]
pub struct FaultRule {
    /// Only requests with this method (any when `None`).
    pub method: Option<String>,
    pub path_contains: Option<String>,
    pub fault: Fault,
    pub times: u32,
}

impl FaultRule {
    /// A rule for any path.
    pub fn any(fault: Fault, times: u32) -> Self {
        Self {
            method: None,
            path_contains: None,
            fault,
            times,
        }
    }

    /// A rule for paths containing `needle`.
    pub fn on(needle: &str, fault: Fault, times: u32) -> Self {
        Self {
            method: None,
            path_contains: Some(needle.to_string()),
            fault,
            times,
        }
    }

    /// The next `times` requests with `method` whose path contains `needle` get `fault`.
    pub fn on_method(method: &str, needle: &str, fault: Fault, times: u32) -> Self {
        Self {
            method: Some(method.to_string()),
            ..Self::on(needle, fault, times)
        }
    }
}

/// All fault settings of a running simulator.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Time from a request's arrival to its answer. A read is answered from the state at
    /// arrival, built while the latency runs (so the simulator's own work, on its one thread,
    /// does not lengthen the round trip); a write waits first, then changes the state.
    pub latency: Duration,
    /// Every Nth request gets a 429 (0 = never).
    pub rate_limit_every: u64,
    /// Every Nth request gets a 503 (0 = never).
    pub error_every: u64,
    /// Every Nth request gets a malformed body (0 = never).
    pub malformed_every: u64,
    /// One-off rules, consumed in order.
    pub rules: VecDeque<FaultRule>,
    /// Twilio's limit on concurrent REST requests per account (off when `None`). Twilio's error
    /// page for 20429 (https://www.twilio.com/docs/api/errors/20429, "Too many requests")
    /// says it answers HTTP 429 with error 20429 when an account exceeds the allowed
    /// concurrency, that such requests are not processed and are safe to retry, and to watch
    /// the `Twilio-Concurrent-Requests` response header. With a limit of N, a request that
    /// arrives while N requests of the same account are being processed (the added `latency`
    /// and `Fault::Delay` count as processing) is answered at once with 429 and the same body
    /// as [`Fault::RateLimit`], without `Retry-After` (the page names no such header, and the
    /// periodic `rate_limit_every` 429 sends none either), and is neither routed nor consumes a
    /// fault rule. While it is on, every answer carries `Twilio-Concurrent-Requests`: the
    /// account's requests in flight when it arrived, itself included (so a throttled one reads
    /// N + 1). The account is the one whose credentials authenticated: an AC user is itself, an
    /// API key (SK) is the main account's (the fixture's keys are the main account's); a request
    /// whose credentials fail counts under the user it names (none: one anonymous bucket).
    /// See [`Simulator::concurrency_stats`](crate::Simulator::concurrency_stats).
    pub concurrency_limit: Option<usize>,
    /// Test-only, not a Twilio behaviour: every answer repeats the request's `Authorization`
    /// header, as it came, in each of these response headers. Nothing in Twilio's OpenAPI
    /// files or the seeds does this; it exists to prove the host's header hygiene (only the
    /// headers its vendor policy lets through reach a plugin, with the tenant's secret blanked
    /// in them). Empty, so off, by default.
    pub echo_authorization_in: Vec<String>,
}

impl Faults {
    /// The fault for request number `n` (1-based) to `path`, consuming a matching rule.
    pub fn take(&mut self, n: u64, method: &str, path: &str) -> Option<Fault> {
        if let Some(i) = self.rules.iter().position(|r| {
            r.times > 0
                && r.method.as_deref().is_none_or(|m| m == method)
                && r.path_contains.as_deref().is_none_or(|p| path.contains(p))
        }) {
            let rule = &mut self.rules[i];
            rule.times -= 1;
            let fault = rule.fault.clone();
            if rule.times == 0 {
                self.rules.remove(i);
            }
            return Some(fault);
        }
        let every = |k: u64| k > 0 && n.is_multiple_of(k);
        if every(self.rate_limit_every) {
            Some(Fault::RateLimit {
                retry_after_secs: None,
            })
        } else if every(self.error_every) {
            Some(Fault::Status(503))
        } else if every(self.malformed_every) {
            Some(Fault::Malformed)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_consumed_in_order_and_by_path() {
        let mut f = Faults::default();
        f.rules
            .push_back(FaultRule::on("/Usage/", Fault::Status(500), 1));
        f.rules.push_back(FaultRule::any(Fault::Malformed, 2));
        assert_eq!(
            f.take(1, "GET", "/2010-04-01/Accounts.json"),
            Some(Fault::Malformed)
        );
        assert_eq!(
            f.take(2, "GET", "/x/Usage/Records"),
            Some(Fault::Status(500))
        );
        assert_eq!(f.take(3, "GET", "/y"), Some(Fault::Malformed));
        assert_eq!(f.take(4, "GET", "/y"), None);
    }

    #[test]
    fn periodic_faults() {
        let mut f = Faults {
            rate_limit_every: 3,
            ..Faults::default()
        };
        let hits: Vec<_> = (1..=6)
            .filter(|n| f.take(*n, "GET", "/").is_some())
            .collect();
        assert_eq!(hits, vec![3, 6]);
    }
}
