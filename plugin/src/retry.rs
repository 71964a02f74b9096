//! The request client every app uses: bounded concurrency that adapts to rate limiting
//! (halve on 429, grow by one on success, like TCP's AIMD), and bounded retries with
//! exponential backoff and jitter that honour `Retry-After`.

use crate::errors::ConnectorError;
use crate::http::{Method, Request, Response, Transport};
use crate::options;

/// Retry and concurrency policy.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff step.
    pub base_backoff_ms: u64,
    /// Longest single wait, whatever `Retry-After` says.
    pub max_backoff_ms: u64,
    /// Most requests in flight at once.
    pub max_in_flight: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_backoff_ms: 200,
            max_backoff_ms: 20_000,
            max_in_flight: 16,
        }
    }
}

impl Policy {
    /// The policy for a call: the configured concurrency (default 16), never above the host's
    /// limit.
    pub fn for_config(cfg: &crate::model::Config) -> Self {
        let parse = |k: &str| {
            cfg.option(k)
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|n| *n > 0)
        };
        let wanted = parse(options::CONCURRENCY).unwrap_or(Policy::default().max_in_flight);
        let cap = parse(options::HOST_MAX_IN_FLIGHT).unwrap_or(usize::MAX);
        Policy {
            max_in_flight: wanted.min(cap).max(1),
            ..Policy::default()
        }
    }
}

/// Wraps a transport with the retry/backoff policy and counts requests.
pub struct Client<'t> {
    transport: &'t mut dyn Transport,
    policy: Policy,
    in_flight: usize,
    /// Requests actually handed to the transport (retries included).
    pub sent: u64,
}

impl<'t> Client<'t> {
    /// A client over `transport` with `policy`.
    pub fn new(transport: &'t mut dyn Transport, policy: Policy) -> Self {
        let in_flight = policy.max_in_flight.max(1);
        Self {
            transport,
            policy,
            in_flight,
            sent: 0,
        }
    }

    /// Current wall-clock time as the plugin sees it.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.transport.now()
    }

    /// Current adaptive in-flight limit.
    pub fn in_flight_limit(&self) -> usize {
        self.in_flight
    }

    /// Send one request with retries.
    pub fn send(&mut self, request: Request) -> Result<Response, ConnectorError> {
        self.send_all(vec![request])
            .pop()
            .expect("one result per request")
    }

    /// Send many requests, at most `in_flight` at a time, each retried on its own; results in
    /// input order.
    pub fn send_all(&mut self, requests: Vec<Request>) -> Vec<Result<Response, ConnectorError>> {
        let mut results: Vec<Option<Result<Response, ConnectorError>>> =
            (0..requests.len()).map(|_| None).collect();
        let mut attempts = vec![0u32; requests.len()];
        let mut pending: std::collections::VecDeque<usize> = (0..requests.len()).collect();
        while !pending.is_empty() {
            let take = self.in_flight.min(pending.len());
            let wave: Vec<usize> = pending.drain(..take).collect();
            let batch: Vec<Request> = wave.iter().map(|&i| requests[i].clone()).collect();
            self.sent += batch.len() as u64;
            let answers = self.transport.send_batch(&batch);
            let mut wait_ms = 0u64;
            let mut throttled = false;
            let mut retry = Vec::new();
            for (&i, answer) in wave.iter().zip(answers) {
                attempts[i] += 1;
                match retry_delay(&requests[i], &answer) {
                    Some(hint) if attempts[i] < self.policy.max_attempts => {
                        if matches!(&answer, Ok(r) if r.status == 429) {
                            throttled = true;
                        }
                        let backoff = self.backoff_ms(attempts[i], hint);
                        wait_ms = wait_ms.max(backoff);
                        retry.push(i);
                    }
                    _ => results[i] = Some(answer),
                }
            }
            if throttled {
                self.in_flight = (self.in_flight / 2).max(1);
            } else if retry.is_empty() {
                self.in_flight = (self.in_flight + 1).min(self.policy.max_in_flight.max(1));
            }
            if !retry.is_empty() {
                self.transport.sleep_ms(wait_ms);
                // Retried requests go first so order of completion stays close to input order.
                for i in retry.into_iter().rev() {
                    pending.push_front(i);
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every request answered"))
            .collect()
    }

    /// Exponential backoff with full jitter, at least `Retry-After` when given.
    fn backoff_ms(&mut self, attempt: u32, retry_after_ms: Option<u64>) -> u64 {
        let cap = self
            .policy
            .base_backoff_ms
            .saturating_mul(1u64 << attempt.min(16))
            .min(self.policy.max_backoff_ms);
        let jitter = self.transport.random_u64() % cap.max(1);
        let base = cap / 2 + jitter / 2;
        match retry_after_ms {
            Some(ra) => ra.min(self.policy.max_backoff_ms).max(base / 4),
            None => base,
        }
    }
}

/// Whether an answer is worth retrying, and the server's `Retry-After` hint if any.
/// 429 is always safe to retry (Twilio did not process the request); 5xx and broken
/// connections only for reads, so an update is never applied twice by surprise.
fn retry_delay(
    request: &Request,
    answer: &Result<Response, ConnectorError>,
) -> Option<Option<u64>> {
    match answer {
        Ok(r) if r.status == 429 => Some(r.retry_after_ms),
        Ok(r) if matches!(r.status, 500 | 502 | 503 | 504) && request.method == Method::Get => {
            Some(r.retry_after_ms)
        }
        Err(ConnectorError::Transport(_)) if request.method == Method::Get => Some(None),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeTransport;

    fn get(n: usize) -> Vec<Request> {
        (0..n)
            .map(|i| Request::get(format!("https://h/{i}")))
            .collect()
    }

    #[test]
    fn rate_limit_halves_concurrency_then_recovers() {
        let mut t = FakeTransport::new().script([429, 200, 200, 200]).json(
            Method::Get,
            "https://h/*",
            200,
            serde_json::json!({}),
        );
        let policy = Policy {
            max_in_flight: 4,
            ..Policy::default()
        };
        let mut c = Client::new(&mut t, policy);
        let out = c.send_all(get(12));
        assert!(out.iter().all(|r| r.as_ref().unwrap().status == 200));
        assert_eq!(c.sent, 13, "one retry, nothing sent twice otherwise");
        assert_eq!(c.in_flight_limit(), 4, "recovered to the maximum");
        assert_eq!(t.batches[0], 4);
        assert_eq!(t.batches[1], 2, "halved after the 429");
        assert_eq!(t.slept, vec![1000], "honours Retry-After");
    }

    #[test]
    fn concurrency_is_configurable_but_capped_by_the_host() {
        let cfg = |pairs: &[(&str, &str)]| crate::model::Config {
            options: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        assert_eq!(Policy::for_config(&cfg(&[])).max_in_flight, 16);
        assert_eq!(
            Policy::for_config(&cfg(&[(options::CONCURRENCY, "64")])).max_in_flight,
            64
        );
        assert_eq!(
            Policy::for_config(&cfg(&[
                (options::CONCURRENCY, "64"),
                (options::HOST_MAX_IN_FLIGHT, "32")
            ]))
            .max_in_flight,
            32
        );
        assert_eq!(
            Policy::for_config(&cfg(&[(options::HOST_MAX_IN_FLIGHT, "4")])).max_in_flight,
            4
        );
        assert_eq!(
            Policy::for_config(&cfg(&[(options::CONCURRENCY, "0")])).max_in_flight,
            16
        );
    }

    #[test]
    fn retries_are_bounded() {
        let mut t = FakeTransport::new().script(std::iter::repeat_n(429, 100));
        let mut c = Client::new(&mut t, Policy::default());
        let r = c.send(Request::get("https://h/x".into())).unwrap();
        assert_eq!(r.status, 429);
        assert_eq!(c.sent, 6);
    }

    #[test]
    fn server_errors_on_updates_are_not_retried() {
        let mut t = FakeTransport::new().script([503]);
        let mut c = Client::new(&mut t, Policy::default());
        let r = c.send(Request::post_form(
            "https://h/x".into(),
            &[("Status", "closed")],
        ));
        assert_eq!(r.unwrap().status, 503);
        assert_eq!(c.sent, 1);
    }
}
