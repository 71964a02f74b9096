//! The request client every app uses. Its in-flight limit adapts to the upstream's limit on
//! concurrent requests (`limiter.rs`: slow start up to the host's cap, one under the upstream's
//! reported count at a throttle, then hold and probe upward slowly). A throttled request (429,
//! which the upstream did not process) is retried as long as its wait still fits in the call's
//! time budget, honouring `Retry-After`; a read that meets a server error or a broken
//! connection is retried a bounded number of times; every wait is jittered, so requests refused
//! together do not come back together.

use crate::errors::{self, ConnectorError};
use crate::http::{Answer, Method, Request, Response, Ticket, Transport};
use crate::options;
use connector_limit::{self as limiter, AdaptiveLimit, Outcome, Sent};
use std::collections::{BTreeMap, VecDeque};

/// Most requests in flight when the host names no cap.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 100;

/// The call's time budget when the host names none (the host's default call timeout).
pub const DEFAULT_BUDGET_MS: u64 = 300_000;

/// Refusals of one request after which a `Retry-After` wait is also at least the growing
/// backoff.
pub const RETRY_AFTER_ALONE: u32 = 3;

/// Refusals of one request that wait for a free slot instead of a timer, when the refusal
/// reported the account's requests in flight and asked for no wait: the upstream refused it
/// for concurrency, the limit has just been lowered under that count, so the request goes again
/// as soon as one of this call's own requests is answered. Later refusals back off.
pub const SLOT_RETRIES: u32 = 2;

/// Retry and concurrency policy.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Attempts per read that meets a server error or a broken connection, the first included.
    /// Throttles do not count: the budget governs them.
    pub max_attempts: u32,
    /// First backoff step.
    pub base_backoff_ms: u64,
    /// Longest computed backoff (a `Retry-After` is honoured as said, budget permitting).
    pub max_backoff_ms: u64,
    /// Most requests in flight at once.
    pub max_in_flight: usize,
    /// Where the in-flight limit starts (it climbs from there, up to `max_in_flight`).
    pub start_in_flight: usize,
    /// The call's wall-clock budget: a retry waits only while its wait fits in the budget less
    /// a fifth, kept for the rest of the call.
    pub budget_ms: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_backoff_ms: 100,
            max_backoff_ms: 20_000,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            start_in_flight: limiter::INITIAL,
            budget_ms: DEFAULT_BUDGET_MS,
        }
    }
}

impl Policy {
    /// The policy for a call: up to the host's in-flight cap (or [`DEFAULT_MAX_IN_FLIGHT`]),
    /// lowered by the configured concurrency, within the host's call budget. The limit starts
    /// at what the host lets the account have now (at least [`limiter::INITIAL`]): the host's
    /// gate holds every call for the account to that, so a call offering it loses no round
    /// trips to slow start, and throttles nothing the gate would not.
    pub fn for_config(cfg: &crate::model::Config) -> Self {
        let parse = |k: &str| {
            cfg.option(k)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|n| *n > 0)
        };
        let as_count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let cap = parse(options::HOST_MAX_IN_FLIGHT).map_or(DEFAULT_MAX_IN_FLIGHT, as_count);
        let wanted = parse(options::CONCURRENCY).map_or(cap, as_count);
        let learned = parse(options::HOST_ACCOUNT_IN_FLIGHT).map_or(0, as_count);
        Policy {
            max_in_flight: wanted.min(cap).max(1),
            start_in_flight: limiter::INITIAL.max(learned),
            budget_ms: parse(options::HOST_CALL_BUDGET_MS).unwrap_or(DEFAULT_BUDGET_MS),
            ..Policy::default()
        }
    }

    /// How long after the call's start a retry may still be waited for.
    fn retry_window_ms(&self) -> u64 {
        self.budget_ms - self.budget_ms / 5
    }
}

/// Wraps a transport with the retry/backoff policy and counts requests.
pub struct Client<'t> {
    transport: &'t mut dyn Transport,
    policy: Policy,
    limit: AdaptiveLimit,
    /// When the call started, on the transport's monotonic clock.
    started_ms: u64,
    next_ticket: Ticket,
    /// Requests actually handed to the transport (retries included).
    pub sent: u64,
}

/// Where an answer's follow-up requests go: a continuation (the next page of a list) starts
/// before anything still queued, so a chain finishes early and its state is released early; a
/// new dependent read that nothing waits on in turn (a leaf, e.g. the Daily refinement of a
/// month) starts after what is queued, so the reads that may still start chains of their own
/// go first and the leaves fill the last rounds instead of trailing them.
pub struct FollowUps<T> {
    jobs: Vec<(T, Request)>,
    later: Vec<(T, Request)>,
}

impl<T> FollowUps<T> {
    /// Send `request` next, tagged `tag`.
    pub fn push(&mut self, tag: T, request: Request) {
        self.jobs.push((tag, request));
    }

    /// Send `request` after everything already queued, tagged `tag`.
    pub fn push_later(&mut self, tag: T, request: Request) {
        self.later.push((tag, request));
    }
}

/// One request waiting to be sent, sent, or waiting for its retry.
struct Job<T> {
    tag: T,
    request: Request,
    /// 429s so far.
    refusals: u32,
    /// Server errors and broken connections so far.
    failures: u32,
    /// When its first 429 came.
    throttled_since: Option<u64>,
}

impl<T> Job<T> {
    fn new(tag: T, request: Request) -> Self {
        Self {
            tag,
            request,
            refusals: 0,
            failures: 0,
            throttled_since: None,
        }
    }
}

/// What becomes of an answer: a retry at a time, or the final answer.
enum Settled<T> {
    Retry(u64, Job<T>),
    Done(Job<T>, Result<Response, ConnectorError>),
}

/// What kind of answer it is, for retrying.
enum Verdict {
    /// 429: not processed, safe to retry whatever the method.
    Throttled,
    /// A read's server error or broken connection, with the server's `Retry-After` if any.
    Failed(Option<u64>),
    /// Anything else is the answer.
    Final,
}

/// 429 is always safe to retry (Twilio did not process the request); 5xx and broken
/// connections only for reads, so an update is never applied twice by surprise.
fn verdict(request: &Request, result: &Result<Response, ConnectorError>) -> Verdict {
    let read = request.method == Method::Get;
    match result {
        Ok(r) if r.status == 429 => Verdict::Throttled,
        Ok(r) if matches!(r.status, 500 | 502 | 503 | 504) && read => {
            Verdict::Failed(r.retry_after_ms)
        }
        Err(ConnectorError::Transport(_)) if read => Verdict::Failed(None),
        _ => Verdict::Final,
    }
}

/// A request as an error names it: method and URL without the query.
fn what(request: &Request) -> String {
    let url = request.url.split(['?', '#']).next().unwrap_or_default();
    format!("{} {url}", request.method.as_str())
}

impl<'t> Client<'t> {
    /// A client over `transport` with `policy`; the call's budget counts from now.
    pub fn new(transport: &'t mut dyn Transport, policy: Policy) -> Self {
        let started_ms = transport.monotonic_ms();
        Self {
            transport,
            policy,
            limit: AdaptiveLimit::new(policy.start_in_flight, policy.max_in_flight),
            started_ms,
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
        self.limit.limit()
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
    /// (after retries) to `on_answer` as soon as it arrives, and queue the follow-ups it asks
    /// for ahead of what was queued before (a list's next page before new lists). The slot an
    /// answer frees goes to the head of the queue before the answer is read. An error from
    /// `on_answer` stops everything and is returned; the requests in flight then (that slot's
    /// among them) are dropped unread.
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
            .map(|(tag, request)| Job::new(tag, request))
            .collect();
        let mut flying: BTreeMap<Ticket, (Sent, Job<T>)> = BTreeMap::new();
        // Retries waiting for their back-off, with the monotonic time they may go.
        let mut delayed: Vec<(u64, Job<T>)> = Vec::new();
        loop {
            let now = self.transport.monotonic_ms();
            requeue_due(&mut delayed, &mut queue, now);
            self.start_queued(&mut queue, &mut flying);
            if flying.is_empty() && queue.is_empty() && delayed.is_empty() {
                return Ok(());
            }
            let timeout = delayed.iter().map(|(at, _)| at.saturating_sub(now)).min();
            let answers = self.transport.wait_answers(timeout);
            // As these answers came: how many were in flight, and whether the limit was in use.
            let in_flight = flying.len();
            let busy = in_flight >= self.limit.limit() || !queue.is_empty();
            let mut follow = FollowUps {
                jobs: Vec::new(),
                later: Vec::new(),
            };
            for answer in answers {
                let Some((sent, job)) = flying.remove(&answer.ticket) else {
                    continue;
                };
                match self.settle(sent, job, answer, in_flight, busy) {
                    Settled::Retry(at, job) => delayed.push((at, job)),
                    Settled::Done(job, result) => {
                        // Its slot goes to a queued request before the answer is read: what
                        // was queued never waits on it, and the round trip overlaps the
                        // reading.
                        self.start_queued(&mut queue, &mut flying);
                        if let Err(e) = on_answer(job.tag, result, &mut follow) {
                            self.transport.cancel_all();
                            return Err(e);
                        }
                    }
                }
                // Slots are refilled as each answer is handled, not after every answer of the
                // batch: reading a large answer must not hold back the requests that could
                // already be on their way. Its follow-ups go first among what is queued.
                for (tag, request) in follow.jobs.drain(..).rev() {
                    queue.push_front(Job::new(tag, request));
                }
                for (tag, request) in follow.later.drain(..) {
                    queue.push_back(Job::new(tag, request));
                }
                self.start_queued(&mut queue, &mut flying);
            }
        }
    }

    /// Start queued requests while the limit allows.
    fn start_queued<T>(
        &mut self,
        queue: &mut VecDeque<Job<T>>,
        flying: &mut BTreeMap<Ticket, (Sent, Job<T>)>,
    ) {
        while flying.len() < self.limit.limit() {
            let Some(job) = queue.pop_front() else { break };
            let ticket = self.next_ticket;
            self.next_ticket += 1;
            self.sent += 1;
            self.transport.start(ticket, &job.request);
            flying.insert(ticket, (self.limit.sent(), job));
        }
    }

    /// Learn from an answer and decide what becomes of it: retried after a wait that fits in
    /// the budget, or final (a throttle that outlasted the budget becomes its error).
    fn settle<T>(
        &mut self,
        sent: Sent,
        mut job: Job<T>,
        answer: Answer,
        in_flight: usize,
        busy: bool,
    ) -> Settled<T> {
        let now = self.transport.monotonic_ms();
        let Answer {
            result,
            upstream_in_flight,
            ..
        } = answer;
        match verdict(&job.request, &result) {
            Verdict::Throttled => {
                let outcome = Outcome::Throttled {
                    in_flight,
                    reported: upstream_in_flight,
                };
                self.limit.learn(sent, outcome);
                job.refusals += 1;
                let since = *job.throttled_since.get_or_insert(now);
                let retry_after = result.as_ref().ok().and_then(|r| r.retry_after_ms);
                // Refused for concurrency: its first refusals wait for a slot, and the
                // backoff after them starts from its first step.
                let slot_refusals = if upstream_in_flight.is_some() && retry_after.is_none() {
                    SLOT_RETRIES
                } else {
                    0
                };
                let wait = match job.refusals.checked_sub(slot_refusals) {
                    None | Some(0) => 0,
                    Some(backed_off) => self.wait_ms(backed_off, retry_after),
                };
                if self.fits(now, wait) {
                    return Settled::Retry(now + wait, job);
                }
                let error = match &result {
                    Ok(r) => errors::throttled(
                        &what(&job.request),
                        r,
                        job.refusals,
                        now.saturating_sub(since),
                    ),
                    Err(e) => e.clone(),
                };
                Settled::Done(job, Err(error))
            }
            Verdict::Failed(retry_after) => {
                self.limit.learn(sent, Outcome::Unknown);
                job.failures += 1;
                let wait = self.wait_ms(job.failures, retry_after);
                if job.failures < self.policy.max_attempts && self.fits(now, wait) {
                    Settled::Retry(now + wait, job)
                } else {
                    Settled::Done(job, result)
                }
            }
            Verdict::Final => {
                let accepted = matches!(&result, Ok(r) if r.status < 500);
                let outcome = if accepted {
                    Outcome::Accepted {
                        busy,
                        reported: upstream_in_flight,
                    }
                } else {
                    Outcome::Unknown
                };
                self.limit.learn(sent, outcome);
                Settled::Done(job, result)
            }
        }
    }

    /// Whether a wait of `wait` from `now` still ends inside the budget's retry window.
    fn fits(&self, now: u64, wait: u64) -> bool {
        now.saturating_add(wait)
            <= self
                .started_ms
                .saturating_add(self.policy.retry_window_ms())
    }

    /// The wait before attempt `attempt + 1`: `Retry-After` when given, never under a backoff
    /// that grows once the same request has been refused [`RETRY_AFTER_ALONE`] times (a jitter
    /// of one step before that, so requests refused together come back spread out, and an
    /// upstream that keeps saying `Retry-After: 0` is not asked again every few milliseconds
    /// for the whole budget), else exponential backoff with full jitter.
    fn wait_ms(&mut self, attempt: u32, retry_after_ms: Option<u64>) -> u64 {
        match retry_after_ms {
            Some(ra) => ra.max(self.backoff_ms(attempt.saturating_sub(RETRY_AFTER_ALONE))),
            None => self.backoff_ms(attempt),
        }
    }

    /// Between half of `base × 2^attempt` and all of it (at most `max_backoff_ms`): the step
    /// grows whatever the dice say, and requests refused together spread over its upper half.
    fn backoff_ms(&mut self, attempt: u32) -> u64 {
        let cap = self
            .policy
            .base_backoff_ms
            .saturating_mul(1u64 << attempt.min(16))
            .min(self.policy.max_backoff_ms);
        cap / 2 + self.jitter(cap - cap / 2)
    }

    /// A random number below `n` (zero when `n` is).
    fn jitter(&mut self, n: u64) -> u64 {
        self.transport.random_u64() % n.max(1)
    }
}

/// Move the retries whose wait is over to the front of the queue.
fn requeue_due<T>(delayed: &mut Vec<(u64, Job<T>)>, queue: &mut VecDeque<Job<T>>, now: u64) {
    let mut i = 0;
    while i < delayed.len() {
        if delayed[i].0 <= now {
            queue.push_front(delayed.swap_remove(i).1);
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{FakeTransport, Scripted};

    fn get(n: usize) -> Vec<Request> {
        (0..n)
            .map(|i| Request::get(format!("https://h/{i}")))
            .collect()
    }

    fn ok_everywhere() -> FakeTransport {
        FakeTransport::new().json(Method::Get, "https://h/*", 200, serde_json::json!({}))
    }

    fn with_cap(max_in_flight: usize) -> Policy {
        Policy {
            max_in_flight,
            ..Policy::default()
        }
    }

    /// Starting at 32 rather than [`limiter::INITIAL`], so a few hundred requests show windows.
    fn from_32(max_in_flight: usize) -> Policy {
        Policy {
            start_in_flight: 32,
            ..with_cap(max_in_flight)
        }
    }

    #[test]
    fn slow_start_reaches_the_cap() {
        let mut t = ok_everywhere();
        let mut c = Client::new(&mut t, from_32(100));
        let out = c.send_all(get(1000));
        assert!(out.iter().all(|r| r.as_ref().unwrap().status == 200));
        assert_eq!(c.in_flight_limit(), 100);
        assert_eq!(c.sent, 1000, "nothing sent twice");
        let peak = |from: usize, to: usize| t.in_flight_at_start[from..to].iter().max().copied();
        assert_eq!(
            peak(0, 32),
            Some(32),
            "starts where it was told, below the cap"
        );
        assert_eq!(peak(32, 96), Some(64), "doubles per window of answers");
        assert_eq!(peak(96, 1000), Some(100), "up to the cap, never past it");
    }

    #[test]
    fn a_throttle_with_the_upstreams_count_sets_the_limit_just_under_it() {
        let mut t = ok_everywhere().script_answers([Scripted::throttled(Some(0), Some(9))]);
        let mut c = Client::new(&mut t, from_32(100));
        let out = c.send_all(get(60));
        assert!(out.iter().all(|r| r.as_ref().unwrap().status == 200));
        assert_eq!(c.sent, 61, "one retry");
        assert_eq!(
            c.in_flight_limit(),
            8,
            "the upstream said 9 with the refused one"
        );
        assert_eq!(t.in_flight_at_start[32..].iter().max(), Some(&8));
    }

    #[test]
    fn a_throttle_without_a_count_lowers_the_limit_by_an_eighth_and_it_recovers() {
        let mut t = ok_everywhere().script([429]);
        let mut c = Client::new(&mut t, with_cap(16));
        let out = c.send_all(get(40));
        assert!(out.iter().all(|r| r.as_ref().unwrap().status == 200));
        assert_eq!(c.sent, 41, "one retry, nothing sent twice otherwise");
        assert_eq!(c.in_flight_limit(), 15);
        assert_eq!(t.in_flight_at_start[..16].iter().max(), Some(&16));
        // 15 were in flight besides the refused one: 14 slots, back to 15 by the next answers,
        // held there (never back at 16 at once, no halving).
        assert_eq!(t.in_flight_at_start[16..].iter().max(), Some(&15));
        assert_eq!(t.slept, vec![1000], "honours Retry-After");
    }

    #[test]
    fn a_request_throttled_eight_times_in_a_row_succeeds() {
        let refusals = std::iter::repeat_n(Scripted::throttled(Some(0), None), 8);
        let mut t = ok_everywhere().script_answers(refusals);
        let mut c = Client::new(&mut t, Policy::default());
        let r = c.send(Request::get("https://h/x".into())).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(c.sent, 9);
        // `Retry-After: 0`: three waits of half a backoff step and a jitter, then a step that
        // doubles each time (the fake's dice always say 7).
        assert_eq!(t.slept, vec![57, 57, 57, 107, 207, 407, 807, 1607]);
    }

    #[test]
    fn a_throttle_that_outlasts_the_budget_is_an_error_naming_how_long_it_was_retried() {
        let refusals = std::iter::repeat_n(Scripted::throttled(Some(1000), None), 100);
        let mut t = ok_everywhere().script_answers(refusals);
        let policy = Policy {
            budget_ms: 10_000,
            ..Policy::default()
        };
        let mut c = Client::new(&mut t, policy);
        let e = c
            .send(Request::get("https://h/x?Page=2".into()))
            .unwrap_err();
        // Retried while the wait ended within 8 of the 10 seconds (a fifth kept for the rest):
        // a second each as Retry-After says, until the growing backoff (1.6 s) no longer fits.
        assert_eq!(c.sent, 8);
        let ConnectorError::RateLimited {
            retry_after_ms,
            message,
        } = e
        else {
            panic!("not rate limited: {e:?}");
        };
        assert_eq!(retry_after_ms, Some(1000));
        assert!(
            message.contains("GET https://h/x was refused 8 time(s) and retried for 7.0 s"),
            "{message}"
        );
        assert!(message.contains("throttled by Twilio"), "{message}");
    }

    #[test]
    fn an_upstream_that_keeps_saying_retry_after_zero_is_not_hammered() {
        let refusals = std::iter::repeat_n(Scripted::throttled(Some(0), None), 10_000);
        let mut t = ok_everywhere().script_answers(refusals);
        let policy = Policy {
            budget_ms: 60_000,
            ..Policy::default()
        };
        let mut c = Client::new(&mut t, policy);
        let e = c.send(Request::get("https://h/x".into())).unwrap_err();
        assert!(matches!(e, ConnectorError::RateLimited { .. }), "{e:?}");
        // Three quick retries, then a backoff that grows: a handful of requests in the 48 s
        // the budget allows for retries, not one every few milliseconds.
        assert!((8..=30).contains(&c.sent), "{} requests", c.sent);
    }

    #[test]
    fn a_retry_after_longer_than_the_budget_is_not_waited_for() {
        let mut t = ok_everywhere().script_answers([Scripted::throttled(Some(60_000), None)]);
        let policy = Policy {
            budget_ms: 30_000,
            ..Policy::default()
        };
        let mut c = Client::new(&mut t, policy);
        let e = c.send(Request::get("https://h/x".into())).unwrap_err();
        assert!(e.to_string().contains("refused 1 time(s)"), "{e}");
        assert!(t.slept.is_empty());
    }

    #[test]
    fn throttles_without_retry_after_back_off_exponentially_with_jitter() {
        let refusals = std::iter::repeat_n(Scripted::throttled(None, None), 3);
        // A random number one under a multiple of every step: each wait just under its step.
        let mut t = ok_everywhere().script_answers(refusals).random(7_999);
        let mut c = Client::new(&mut t, Policy::default());
        let r = c.send(Request::get("https://h/x".into())).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(t.slept, vec![199, 399, 799]);
    }

    #[test]
    fn a_refusal_for_concurrency_waits_for_a_slot_then_backs_off() {
        // Refused four times, each time with the account's count and no Retry-After.
        let refusals = std::iter::repeat_n(Scripted::throttled(None, Some(9)), 4);
        let mut t = ok_everywhere().script_answers(refusals).random(7_999);
        let mut c = Client::new(&mut t, Policy::default());
        let r = c.send(Request::get("https://h/x".into())).unwrap();
        assert_eq!(r.status, 200);
        // Two refusals went again at once (the limit now sits under the count); the next two
        // backed off as a refusal without a count does from the start.
        assert_eq!(t.slept, vec![199, 399]);
    }

    #[test]
    fn a_follow_up_goes_before_requests_queued_earlier() {
        let mut t = ok_everywhere();
        let mut c = Client::new(&mut t, with_cap(2));
        let mut order = Vec::new();
        c.run(
            [
                (0u32, Request::get("https://h/a".into())),
                (1, Request::get("https://h/b".into())),
                (2, Request::get("https://h/c".into())),
                (3, Request::get("https://h/d".into())),
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
        // c takes the slot a frees before a is read (it never waited on a); the follow-ups of
        // a and b then go before d, which was queued earlier.
        assert_eq!(order, vec![0, 1, 2, 10, 11, 3]);
    }

    #[test]
    fn an_error_from_the_handler_stops_the_run() {
        let mut t = ok_everywhere();
        let mut c = Client::new(&mut t, from_32(100));
        let e = c
            .run(get(100).into_iter().enumerate(), |i, _, _| {
                if i == 3 {
                    Err(ConnectorError::MalformedResponse("page 3".into()))
                } else {
                    Ok(())
                }
            })
            .unwrap_err();
        assert!(matches!(e, ConnectorError::MalformedResponse(_)));
        // 32 at first; answers 0 to 3 each free a slot and, being busy, raise the limit by one:
        // two more each. Nothing after the error.
        assert_eq!(c.sent, 40, "nothing more is started after the error");
    }

    #[test]
    fn concurrency_goes_to_the_hosts_cap_unless_configured_lower() {
        let cfg = |pairs: &[(&str, &str)]| crate::model::Config {
            options: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        let policy = |pairs: &[(&str, &str)]| Policy::for_config(&cfg(pairs));
        assert_eq!(policy(&[]).max_in_flight, DEFAULT_MAX_IN_FLIGHT);
        assert_eq!(
            policy(&[(options::HOST_MAX_IN_FLIGHT, "250")]).max_in_flight,
            250
        );
        assert_eq!(policy(&[(options::CONCURRENCY, "64")]).max_in_flight, 64);
        let both = [
            (options::CONCURRENCY, "64"),
            (options::HOST_MAX_IN_FLIGHT, "32"),
        ];
        assert_eq!(policy(&both).max_in_flight, 32);
        assert_eq!(
            policy(&[(options::HOST_MAX_IN_FLIGHT, "4")]).max_in_flight,
            4
        );
        assert_eq!(policy(&[(options::CONCURRENCY, "0")]).max_in_flight, 100);
        let start = |learned: &str| policy(&[(options::HOST_ACCOUNT_IN_FLIGHT, learned)]);
        assert_eq!(policy(&[]).start_in_flight, limiter::INITIAL);
        assert_eq!(start("20").start_in_flight, limiter::INITIAL);
        assert_eq!(
            start("200").start_in_flight,
            200,
            "what the host's gate allows the account now"
        );
        assert_eq!(policy(&[]).budget_ms, DEFAULT_BUDGET_MS);
        assert_eq!(
            policy(&[(options::HOST_CALL_BUDGET_MS, "30000")]).budget_ms,
            30_000
        );
        assert_eq!(
            policy(&[(options::HOST_CALL_BUDGET_MS, "soon")]).budget_ms,
            DEFAULT_BUDGET_MS
        );
    }

    #[test]
    fn server_errors_on_reads_are_retried_a_bounded_number_of_times() {
        let mut t = FakeTransport::new().script(std::iter::repeat_n(503, 100));
        let mut c = Client::new(&mut t, Policy::default());
        let r = c.send(Request::get("https://h/x".into())).unwrap();
        assert_eq!(r.status, 503);
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

    #[test]
    fn throttled_updates_are_retried() {
        let mut t = FakeTransport::new()
            .script_answers([Scripted::throttled(Some(0), None)])
            .json(Method::Post, "https://h/x", 200, serde_json::json!({}));
        let mut c = Client::new(&mut t, Policy::default());
        let r = c.send(Request::post_form(
            "https://h/x".into(),
            &[("Status", "closed")],
        ));
        assert_eq!(r.unwrap().status, 200);
        assert_eq!(c.sent, 2, "a 429 was not processed: safe to send again");
    }
}
