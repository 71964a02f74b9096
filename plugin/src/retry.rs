//! The request client every app uses: bounded concurrency that adapts to rate limiting
//! (halve on 429, grow by one on success, like TCP's AIMD), and bounded retries with
//! exponential backoff and jitter that honour `Retry-After`.

use crate::errors::ConnectorError;
use crate::http::{Method, Request, Response, Ticket, Transport};
use crate::options;
use std::collections::{BTreeMap, VecDeque};

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
    /// Successes since the limit last grew (it grows by one per window of answers).
    successes: usize,
    next_ticket: Ticket,
    /// Requests actually handed to the transport (retries included).
    pub sent: u64,
}

/// Where an answer's follow-up requests go: they start before anything still queued, so a
/// chain (next page, dependent read) finishes early and its state is released early.
pub struct FollowUps<T> {
    jobs: Vec<(T, Request)>,
}

impl<T> FollowUps<T> {
    /// Send `request` next, tagged `tag`.
    pub fn push(&mut self, tag: T, request: Request) {
        self.jobs.push((tag, request));
    }
}

/// One request waiting to be sent, sent, or waiting for its retry.
struct Job<T> {
    tag: T,
    request: Request,
    attempts: u32,
}

impl<'t> Client<'t> {
    /// A client over `transport` with `policy`.
    pub fn new(transport: &'t mut dyn Transport, policy: Policy) -> Self {
        let in_flight = policy.max_in_flight.max(1);
        Self {
            transport,
            policy,
            in_flight,
            successes: 0,
            next_ticket: 0,
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

    /// Send many requests, each retried on its own; results in input order.
    pub fn send_all(&mut self, requests: Vec<Request>) -> Vec<Result<Response, ConnectorError>> {
        let mut results: Vec<Option<Result<Response, ConnectorError>>> =
            (0..requests.len()).map(|_| None).collect();
        let outcome = self.run(requests.into_iter().enumerate(), |i, answer, _| {
            results[i] = Some(answer);
            Ok(())
        });
        debug_assert!(outcome.is_ok(), "collecting answers never fails");
        results
            .into_iter()
            .map(|r| r.expect("every request answered"))
            .collect()
    }

    /// The pipelined executor: keep up to the in-flight limit busy, hand each final answer
    /// (after retries) to `on_answer` as soon as it arrives, and start the follow-ups it asks
    /// for at once. An error from `on_answer` stops everything and is returned.
    pub fn run<T>(
        &mut self,
        jobs: impl IntoIterator<Item = (T, Request)>,
        mut on_answer: impl FnMut(
            T,
            Result<Response, ConnectorError>,
            &mut FollowUps<T>,
        ) -> Result<(), ConnectorError>,
    ) -> Result<(), ConnectorError> {
        let mut queue: VecDeque<Job<T>> = jobs
            .into_iter()
            .map(|(tag, request)| Job {
                tag,
                request,
                attempts: 0,
            })
            .collect();
        let mut flying: BTreeMap<Ticket, Job<T>> = BTreeMap::new();
        // Retries waiting for their back-off, with the monotonic time they may go.
        let mut delayed: Vec<(u64, Job<T>)> = Vec::new();
        loop {
            let now = self.transport.monotonic_ms();
            let mut i = 0;
            while i < delayed.len() {
                if delayed[i].0 <= now {
                    queue.push_front(delayed.swap_remove(i).1);
                } else {
                    i += 1;
                }
            }
            while flying.len() < self.in_flight {
                let Some(job) = queue.pop_front() else { break };
                let ticket = self.next_ticket;
                self.next_ticket += 1;
                self.sent += 1;
                self.transport.start(ticket, &job.request);
                flying.insert(ticket, job);
            }
            if flying.is_empty() && queue.is_empty() && delayed.is_empty() {
                return Ok(());
            }
            let timeout = delayed.iter().map(|(at, _)| at.saturating_sub(now)).min();
            let answers = self.transport.wait(timeout);
            let mut follow = FollowUps { jobs: Vec::new() };
            for (ticket, answer) in answers {
                let Some(mut job) = flying.remove(&ticket) else {
                    continue;
                };
                job.attempts += 1;
                match retry_delay(&job.request, &answer) {
                    Some(hint) if job.attempts < self.policy.max_attempts => {
                        if matches!(&answer, Ok(r) if r.status == 429) {
                            self.in_flight = (self.in_flight / 2).max(1);
                            self.successes = 0;
                        }
                        let wait = self.backoff_ms(job.attempts, hint);
                        delayed.push((self.transport.monotonic_ms() + wait, job));
                    }
                    _ => {
                        if answer.is_ok() {
                            self.grow();
                        }
                        if let Err(e) = on_answer(job.tag, answer, &mut follow) {
                            self.transport.cancel_all();
                            return Err(e);
                        }
                    }
                }
            }
            for (tag, request) in follow.jobs.into_iter().rev() {
                queue.push_front(Job {
                    tag,
                    request,
                    attempts: 0,
                });
            }
        }
    }

    /// Additive increase: one more slot per window of answers at the current limit.
    fn grow(&mut self) {
        let max = self.policy.max_in_flight.max(1);
        if self.in_flight >= max {
            return;
        }
        self.successes += 1;
        if self.successes >= self.in_flight {
            self.in_flight += 1;
            self.successes = 0;
        }
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
        assert_eq!(
            t.in_flight_at_start[..4],
            [1, 2, 3, 4],
            "starts at the limit"
        );
        assert_eq!(
            t.in_flight_at_start[4..8],
            [1, 2, 3, 1],
            "halved to two by the 429, one more per window of successes, never back at four at once"
        );
        assert_eq!(t.slept, vec![1000], "honours Retry-After");
    }

    #[test]
    fn a_follow_up_starts_as_soon_as_its_input_arrives() {
        let mut t =
            FakeTransport::new().json(Method::Get, "https://h/*", 200, serde_json::json!({}));
        let mut c = Client::new(
            &mut t,
            Policy {
                max_in_flight: 2,
                ..Policy::default()
            },
        );
        let mut order = Vec::new();
        c.run(
            [
                (0u32, Request::get("https://h/a".into())),
                (1, Request::get("https://h/b".into())),
                (2, Request::get("https://h/c".into())),
            ],
            |tag, answer, follow| {
                assert_eq!(answer.unwrap().status, 200);
                order.push(tag);
                if tag < 2 {
                    follow.push(10 + tag, Request::get(format!("https://h/{tag}/next")));
                }
                Ok(())
            },
        )
        .unwrap();
        // The follow-ups of a and b go before c, which was queued earlier.
        assert_eq!(order, vec![0, 1, 10, 11, 2]);
    }

    #[test]
    fn an_error_from_the_handler_stops_the_run() {
        let mut t =
            FakeTransport::new().json(Method::Get, "https://h/*", 200, serde_json::json!({}));
        let mut c = Client::new(&mut t, Policy::default());
        let e = c
            .run(get(40).into_iter().enumerate(), |i, _, _| {
                if i == 3 {
                    Err(ConnectorError::MalformedResponse("page 3".into()))
                } else {
                    Ok(())
                }
            })
            .unwrap_err();
        assert!(matches!(e, ConnectorError::MalformedResponse(_)));
        assert!(c.sent < 40, "nothing more is started after the error");
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
