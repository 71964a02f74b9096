//! The client's in-flight limit, adapted to the upstream's limit on concurrent requests, as pure
//! rules (the executor in `retry.rs` feeds them; tests feed them tables):
//!
//! - **slow start**: one more slot per answer taken while the limit was in use (every slot
//!   taken, or requests waiting), so the limit doubles per window of answers, until the first
//!   throttle;
//! - **at a throttle** (HTTP 429) the level the upstream accepted becomes the ceiling: the
//!   upstream's own count when it reports one (Twilio's `Twilio-Concurrent-Requests`: the
//!   account's requests in flight, the refused one included, so the limit sits one under it),
//!   else the requests in flight less the refused one (never below half the limit), lowered
//!   by an eighth (no halving sawtooth);
//! - **back to the ceiling** quickly (one slot per answer), then **hold** it for
//!   [`PROBE_MIN_ANSWERS`] answers (at least half a window) and probe one slot above; a probe
//!   the upstream takes for a whole window, or an answer whose count is above the one it
//!   reported at the throttle, means its limit rose: climb as at the start;
//! - one **episode**: requests sent before the limit last fell lower nothing more (a count they
//!   report still may).
//!
//! One crate, two users: the plugin keeps a limit of its own by these rules (it cannot see the
//! other calls, and it keeps a plugin in a host without a gate from storming the upstream), and
//! the host holds every call for one account to the same rules at its gate
//! (`host/src/upstream_gate.rs`). No dependencies, so it builds for the component too.

/// Where the limit starts when nothing is known of the upstream: a first burst small enough
/// that a low upstream limit throttles few requests, large enough to reach a high one in a few
/// windows. A start of 128 spares a first sync the climb to a limit of 200 (BENCHMARKS.md,
/// 2026-12-02 17:13: its first sync as fast as the next), but had 84 of a 465-request sync
/// refused against a limit of 8 (18 %); a process that keeps state starts at what an earlier
/// one learned instead (`host/src/gate_memory.rs`). A vendor whose usual per-account limit is
/// known can start its accounts' gates there instead (the host's vendor policy,
/// `first_in_flight`).
pub const INITIAL: usize = 32;

/// Busy answers at the ceiling before a probe one slot above it: at least this many, so each
/// probe's throttle stays a small share of the requests (a sync at a limit of 8, where nearly
/// every refusal is a probe: 1.7 % refused, 2.5 % with a hold of 64; BENCHMARKS.md)...
pub const PROBE_MIN_ANSWERS: usize = 128;

/// ...and at least a window of answers divided by this (half a window), so a higher ceiling
/// is probed at the same share.
pub const PROBE_WINDOW_SHARE: usize = 2;

/// A request as the rules counted it going out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Its place in the order of sending.
    pub seq: u64,
}

/// What an answer tells the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The upstream took the request. `busy`: every slot was taken or requests were waiting,
    /// so the limit itself was tested; `reported`: the upstream's count of the account's
    /// requests in flight, this one included, when it gave one.
    Accepted { busy: bool, reported: Option<u32> },
    /// HTTP 429. `in_flight`: requests in flight when it came, itself included; `reported`: the
    /// upstream's count of the account's requests in flight, the refused one included.
    Throttled {
        in_flight: usize,
        reported: Option<u32>,
    },
    /// Nothing learned (no answer, a server error).
    Unknown,
}

/// What the rules learned about an upstream, in a form a later process can start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Learned {
    /// Where the limit starts.
    pub start: usize,
    /// The level the upstream accepted at the last throttle, if it throttled.
    pub ceiling: Option<usize>,
    /// The account's whole ceiling as the upstream reported it then, if it did.
    pub reported_ceiling: Option<usize>,
}

impl Learned {
    /// What a new limit knows: nothing.
    pub const NOTHING: Learned = Learned {
        start: INITIAL,
        ceiling: None,
        reported_ceiling: None,
    };
}

/// The adaptive limit (see the module's rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdaptiveLimit {
    limit: usize,
    cap: usize,
    /// The level the upstream accepted at the last throttle (none before the first, nor once
    /// the upstream accepted more).
    ceiling: Option<usize>,
    /// The account's whole ceiling as the upstream reported it at the last throttle.
    reported_ceiling: Option<usize>,
    /// Busy answers at or above the ceiling since the limit last moved.
    credit: usize,
    next_seq: u64,
    /// Requests sent before this one belong to the last throttle's episode.
    episode_end: u64,
    /// Where [`new`](Self::new) or [`resume`](Self::resume) started the limit (raised with it
    /// by [`raise_to`](Self::raise_to), lowered to what a throttle took).
    started_at: usize,
    /// The highest ceiling the upstream has since been seen to take more than (the level it
    /// surely takes while its limit does not fall), 0 for none.
    outgrown: usize,
}

impl AdaptiveLimit {
    /// Start at `initial`, never above `cap` (at least one slot either way).
    pub fn new(initial: usize, cap: usize) -> Self {
        let cap = cap.max(1);
        let limit = initial.clamp(1, cap);
        Self {
            limit,
            cap,
            ceiling: None,
            reported_ceiling: None,
            credit: 0,
            next_seq: 0,
            episode_end: 0,
            started_at: limit,
            outgrown: 0,
        }
    }

    /// Requests that may be in flight now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The level the upstream accepted at the last throttle, while it holds.
    pub fn ceiling(&self) -> Option<usize> {
        self.ceiling
    }

    /// What these rules learned about the upstream, to start a later process from
    /// ([`resume`](Self::resume)).
    pub fn learned(&self) -> Learned {
        match self.ceiling {
            Some(c) => Learned {
                start: c,
                ceiling: Some(c),
                reported_ceiling: self.reported_ceiling,
            },
            // Without a throttle, the limit grew one slot per busy answer: at least half of it
            // was in flight and taken at once (and where it started or resumed from was, before,
            // and a ceiling the upstream was seen to take more than; each lowered to what a
            // throttle since took).
            None => Learned {
                start: (self.limit / 2).max(self.started_at).max(self.outgrown),
                ceiling: None,
                reported_ceiling: None,
            },
        }
    }

    /// Start where `learned` says, never above `cap`: at a known ceiling, held there and
    /// probed as after a throttle (if the upstream's limit fell since, the first throttle
    /// lowers it as usual); without one, slow start from the level the upstream took.
    pub fn resume(learned: Learned, cap: usize) -> Self {
        let mut rules = Self::new(learned.start, cap);
        if let Some(c) = learned.ceiling {
            let c = c.clamp(1, rules.cap);
            rules.limit = c;
            rules.ceiling = Some(c);
            rules.reported_ceiling = learned.reported_ceiling;
        }
        rules
    }

    /// Raise a limit that has seen no throttle to `n` (never above the cap): where it would
    /// have started had the upstream been known (a host that holds a vendor's usual first
    /// burst back until an account's credentials have been answered once). A limit that was
    /// throttled, or is already higher, stays as it is.
    pub fn raise_to(&mut self, n: usize) {
        if self.episode_end == 0 && self.ceiling.is_none() && n > self.limit {
            self.limit = n.min(self.cap);
            self.started_at = self.started_at.max(self.limit);
        }
    }

    /// Count a request going out.
    pub fn sent(&mut self) -> Sent {
        let sent = Sent { seq: self.next_seq };
        self.next_seq += 1;
        sent
    }

    /// Learn from the answer to `sent`.
    pub fn learn(&mut self, sent: Sent, outcome: Outcome) {
        match outcome {
            Outcome::Accepted { busy, reported } => self.accepted(busy, reported),
            Outcome::Throttled {
                in_flight,
                reported,
            } => self.throttled(sent, in_flight, reported),
            Outcome::Unknown => {}
        }
    }

    /// Below the ceiling (or with none): one more slot. At it: one more after a hold. Above it
    /// for a window, or told the upstream took more than it had said: the ceiling is gone.
    fn accepted(&mut self, busy: bool, reported: Option<u32>) {
        let took = reported.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        if let (Some(was), Some(now)) = (self.reported_ceiling, took)
            && now > was
        {
            self.forget_ceiling();
        }
        if !busy {
            return;
        }
        match self.ceiling {
            None => self.limit = (self.limit + 1).min(self.cap),
            Some(c) if self.limit < c => self.limit = (self.limit + 1).min(c),
            Some(c) => {
                self.credit += 1;
                let hold = if self.limit == c {
                    PROBE_MIN_ANSWERS.max(self.limit / PROBE_WINDOW_SHARE)
                } else {
                    self.limit
                };
                if self.credit >= hold {
                    self.credit = 0;
                    if self.limit == c {
                        self.limit = (self.limit + 1).min(self.cap);
                    } else {
                        self.forget_ceiling();
                    }
                }
            }
        }
    }

    /// The upstream accepts more than the ceiling said: climb as at the start.
    fn forget_ceiling(&mut self) {
        if let Some(c) = self.ceiling {
            self.outgrown = self.outgrown.max(c);
        }
        self.ceiling = None;
        self.reported_ceiling = None;
        self.credit = 0;
    }

    fn throttled(&mut self, sent: Sent, in_flight: usize, reported: Option<u32>) {
        self.credit = 0;
        // What was in flight besides the refused one.
        let others = in_flight.saturating_sub(1).max(1);
        let whole = reported.map(|n| {
            usize::try_from(n)
                .unwrap_or(usize::MAX)
                .saturating_sub(1)
                .max(1)
        });
        let level = match whole {
            Some(w) => w.min(others),
            None => others.max(self.limit / 2),
        }
        .min(self.cap);
        // The upstream's limit may have fallen: what it took before, and where this limit
        // started, prove no more than this.
        self.outgrown = self.outgrown.min(level);
        self.started_at = self.started_at.min(level);
        if sent.seq < self.episode_end {
            // Already backed off for this episode; only a reported count lowers further.
            if whole.is_some() && level < self.limit {
                self.limit = level;
                self.ceiling = Some(level);
                self.reported_ceiling = whole;
            }
            return;
        }
        self.ceiling = Some(level);
        self.reported_ceiling = whole;
        self.limit = match whole {
            Some(_) => level,
            None => (level - level / 8).max(1),
        };
        self.episode_end = self.next_seq;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One step of a table.
    #[derive(Clone, Copy)]
    enum Step {
        /// `n` answers accepted while the limit was in use.
        Busy(usize),
        /// `n` answers accepted while it was not.
        Idle(usize),
        /// An answer accepted with this count reported.
        Counted(u32),
        /// A 429 with this many in flight and this report.
        Throttle(usize, Option<u32>),
        /// A 429 of a request sent just before the last throttle lowered the limit.
        Late(usize, Option<u32>),
    }
    use Step::*;

    fn run(initial: usize, cap: usize, steps: &[Step]) -> AdaptiveLimit {
        let mut r = AdaptiveLimit::new(initial, cap);
        let mut early = r.sent();
        for step in steps {
            match *step {
                Busy(n) | Idle(n) => {
                    for _ in 0..n {
                        let s = r.sent();
                        let busy = matches!(step, Busy(_));
                        r.learn(
                            s,
                            Outcome::Accepted {
                                busy,
                                reported: None,
                            },
                        );
                    }
                }
                Counted(n) => {
                    let s = r.sent();
                    r.learn(
                        s,
                        Outcome::Accepted {
                            busy: false,
                            reported: Some(n),
                        },
                    );
                }
                Throttle(in_flight, reported) => {
                    let s = r.sent();
                    early = r.sent();
                    r.learn(
                        s,
                        Outcome::Throttled {
                            in_flight,
                            reported,
                        },
                    );
                }
                Late(in_flight, reported) => r.learn(
                    early,
                    Outcome::Throttled {
                        in_flight,
                        reported,
                    },
                ),
            }
        }
        r
    }

    #[test]
    fn the_limit_follows_the_rules() {
        // (initial, answers, limit after, ceiling after), under a cap of 1000.
        type Row = (usize, &'static [Step], usize, Option<usize>);
        let table: &[Row] = &[
            // Slow start: one slot per busy answer (doubling per window).
            (32, &[Busy(32)], 64, None),
            (32, &[Busy(32 + 64 + 128)], 256, None),
            // Answers while the limit was not in use teach nothing.
            (32, &[Idle(500)], 32, None),
            // A reported count: one under it, held there...
            (32, &[Throttle(32, Some(9))], 8, Some(8)),
            (32, &[Throttle(32, Some(9)), Busy(127)], 8, Some(8)),
            (64, &[Busy(64), Throttle(128, Some(101))], 100, Some(100)),
            (
                64,
                &[Busy(64), Throttle(128, Some(101)), Busy(127)],
                100,
                Some(100),
            ),
            // ...and probed one above after the hold (128 answers, or half a window)...
            (32, &[Throttle(32, Some(9)), Busy(128)], 9, Some(8)),
            (
                64,
                &[Busy(64), Throttle(128, Some(101)), Busy(128)],
                101,
                Some(100),
            ),
            (300, &[Throttle(301, Some(301)), Busy(149)], 300, Some(300)),
            (300, &[Throttle(301, Some(301)), Busy(150)], 301, Some(300)),
            // ...and if the upstream takes more than it said, climbing resumes.
            (
                64,
                &[Throttle(64, Some(51)), Busy(128), Counted(51)],
                51,
                None,
            ),
            (
                64,
                &[Throttle(64, Some(51)), Busy(128), Counted(51), Busy(51)],
                102,
                None,
            ),
            (
                64,
                &[Throttle(64, Some(51)), Counted(50), Busy(10)],
                50,
                Some(50),
            ),
            // Others use the account too: what we had is the most we may have.
            (64, &[Throttle(21, Some(101))], 20, Some(20)),
            // No count: what we had, less an eighth, quickly back to it, then held...
            (64, &[Throttle(65, None)], 56, Some(64)),
            (64, &[Throttle(65, None), Busy(8)], 64, Some(64)),
            (64, &[Throttle(65, None), Busy(8 + 127)], 64, Some(64)),
            (64, &[Throttle(65, None), Busy(8 + 128)], 65, Some(64)),
            // ...and a whole window taken one above it: the ceiling is gone.
            (64, &[Throttle(65, None), Busy(8 + 128 + 64)], 65, Some(64)),
            (64, &[Throttle(65, None), Busy(8 + 128 + 65)], 65, None),
            (
                64,
                &[Throttle(65, None), Busy(8 + 128 + 65 + 65)],
                130,
                None,
            ),
            // Never more than halving at once.
            (64, &[Throttle(2, None)], 28, Some(32)),
            // One episode backs off once...
            (
                64,
                &[Throttle(65, None), Late(60, None), Late(50, None)],
                56,
                Some(64),
            ),
            // ...but a count its late answers report still lowers.
            (32, &[Throttle(32, Some(20)), Late(32, Some(9))], 8, Some(8)),
            (32, &[Throttle(32, Some(9)), Late(32, Some(20))], 8, Some(8)),
            // A new episode lowers again.
            (64, &[Throttle(65, None), Throttle(57, None)], 49, Some(56)),
            // A count of zero or one still leaves one slot.
            (32, &[Throttle(32, Some(0))], 1, Some(1)),
        ];
        for (i, (initial, steps, limit, ceiling)) in table.iter().enumerate() {
            let r = run(*initial, 1000, steps);
            let got = (r.limit(), r.ceiling());
            assert_eq!(got, (*limit, *ceiling), "row {i}: from {initial}");
        }
        // Never above the cap, never below one.
        assert_eq!(run(32, 100, &[Busy(1000)]).limit(), 100);
        assert_eq!(run(500, 100, &[]).limit(), 100);
        assert_eq!(run(0, 100, &[]).limit(), 1);
    }

    #[test]
    fn what_was_learned_starts_a_later_limit_where_it_left_off() {
        // A new limit has learned nothing.
        assert_eq!(
            AdaptiveLimit::new(INITIAL, 1000).learned(),
            Learned::NOTHING
        );
        // (answers seen, what is learned, the resumed limit and ceiling), under a cap of 1000.
        type Row = (&'static [Step], Learned, usize, Option<usize>);
        let table: &[Row] = &[
            // A throttle's ceiling: resumed at it, and held there.
            (
                &[Busy(32 + 64), Throttle(128, Some(101))],
                Learned {
                    start: 100,
                    ceiling: Some(100),
                    reported_ceiling: Some(100),
                },
                100,
                Some(100),
            ),
            // A low limit with no count: the level taken, not the eighth below it.
            (
                &[Throttle(9, None)],
                Learned {
                    start: 16,
                    ceiling: Some(16),
                    reported_ceiling: None,
                },
                16,
                Some(16),
            ),
            // No throttle: half the limit was in flight and taken.
            (
                &[Busy(32 + 64 + 128)],
                Learned {
                    start: 128,
                    ceiling: None,
                    reported_ceiling: None,
                },
                128,
                None,
            ),
            // Never below where a new limit starts.
            (&[Busy(10)], Learned::NOTHING, INITIAL, None),
            // Climbing again past a ceiling the upstream took more than: at least that ceiling
            // (not half of where the new climb had got to)...
            (
                &[
                    Busy(32 + 64 + 128),
                    Throttle(257, None),
                    Busy(32 + 128 + 257),
                ],
                Learned {
                    start: 256,
                    ceiling: None,
                    reported_ceiling: None,
                },
                256,
                None,
            ),
            // ...unless a throttle since said the upstream's limit fell.
            (
                &[
                    Busy(32 + 64 + 128),
                    Throttle(257, None),
                    Busy(32 + 128 + 257),
                    Throttle(161, None),
                    Busy(20 + 128 + 161),
                ],
                Learned {
                    start: 160,
                    ceiling: None,
                    reported_ceiling: None,
                },
                160,
                None,
            ),
        ];
        for (i, (steps, learned, limit, ceiling)) in table.iter().enumerate() {
            let got = run(32, 1000, steps).learned();
            assert_eq!(got, *learned, "row {i}");
            let resumed = AdaptiveLimit::resume(got, 1000);
            assert_eq!(
                (resumed.limit(), resumed.ceiling()),
                (*limit, *ceiling),
                "row {i}"
            );
        }
        // A limit started above INITIAL (a vendor's usual per-account limit) tells a later
        // process to start there too, however little it was used; a throttle still lowers it.
        let high = Learned {
            start: 100,
            ceiling: None,
            reported_ceiling: None,
        };
        assert_eq!(run(100, 1000, &[]).learned(), high);
        assert_eq!(run(100, 1000, &[Idle(50), Busy(10)]).learned(), high);
        assert_eq!(run(100, 1000, &[Throttle(9, Some(9))]).learned().start, 8);
        // Raised to a first burst before any throttle: it starts there, and says so...
        let mut raised = run(32, 1000, &[Busy(4)]);
        raised.raise_to(100);
        assert_eq!((raised.limit(), raised.learned()), (100, high));
        raised.raise_to(50);
        assert_eq!(raised.limit(), 100, "never lowered by a raise");
        // ...but a throttled limit is not raised, nor is one above the cap.
        let mut throttled = run(32, 1000, &[Throttle(9, Some(9))]);
        throttled.raise_to(100);
        assert_eq!(throttled.limit(), 8);
        let mut capped = run(32, 64, &[]);
        capped.raise_to(100);
        assert_eq!(capped.limit(), 64);
        // ...and once the upstream took more than that ceiling for a window and the limit
        // climbed again, still not the first burst: the throttle proved less.
        let after = run(100, 1000, &[Throttle(4, Some(9)), Busy(128), Busy(4)]).learned();
        assert_eq!(after.ceiling, None);
        assert!(after.start < 100, "{after:?}");
        // A limit started below INITIAL (a vendor's small first burst) tells that start, not
        // INITIAL.
        assert_eq!(run(10, 1000, &[]).learned().start, 10);
        // Resumed at a ceiling, the limit holds for a window of answers, probes one above it,
        // and a lower upstream limit lowers it at the first throttle.
        let at_100 = Learned {
            start: 100,
            ceiling: Some(100),
            reported_ceiling: Some(100),
        };
        let mut r = AdaptiveLimit::resume(at_100, 1000);
        for _ in 0..PROBE_MIN_ANSWERS - 1 {
            let s = r.sent();
            r.learn(
                s,
                Outcome::Accepted {
                    busy: true,
                    reported: None,
                },
            );
        }
        assert_eq!(r.limit(), 100);
        let s = r.sent();
        r.learn(
            s,
            Outcome::Accepted {
                busy: true,
                reported: None,
            },
        );
        assert_eq!(r.limit(), 101, "probed one above");
        let mut r = AdaptiveLimit::resume(at_100, 1000);
        let s = r.sent();
        r.learn(
            s,
            Outcome::Throttled {
                in_flight: 100,
                reported: Some(9),
            },
        );
        assert_eq!((r.limit(), r.ceiling()), (8, Some(8)));
        // A count above the one reported then: the upstream's limit rose, climb again.
        let mut r = AdaptiveLimit::resume(at_100, 1000);
        let s = r.sent();
        r.learn(
            s,
            Outcome::Accepted {
                busy: false,
                reported: Some(120),
            },
        );
        assert_eq!(r.ceiling(), None);
        // Never above the cap, never below one.
        let huge = Learned {
            start: usize::MAX,
            ceiling: Some(usize::MAX),
            reported_ceiling: None,
        };
        assert_eq!(AdaptiveLimit::resume(huge, 300).limit(), 300);
        let zero = Learned {
            start: 0,
            ceiling: Some(0),
            reported_ceiling: None,
        };
        assert_eq!(AdaptiveLimit::resume(zero, 300).limit(), 1);
        let no_ceiling = Learned {
            start: 5000,
            ceiling: None,
            reported_ceiling: None,
        };
        assert_eq!(AdaptiveLimit::resume(no_ceiling, 300).limit(), 300);
        // Resumed without a ceiling and then hardly used, it still knows where it started: a
        // quiet run does not halve what the next one starts at.
        let at_128 = Learned {
            start: 128,
            ceiling: None,
            reported_ceiling: None,
        };
        let mut r = AdaptiveLimit::resume(at_128, 1000);
        let s = r.sent();
        r.learn(
            s,
            Outcome::Accepted {
                busy: false,
                reported: None,
            },
        );
        assert_eq!(r.learned(), at_128);
    }

    /// An upstream that accepts `accepts` at once, seen through the rules for `answers`
    /// answers, with or without its count: the mean limit it was used at, and the throttles.
    fn against(accepts: usize, counted: bool, answers: usize) -> (f64, usize) {
        let mut r = AdaptiveLimit::new(INITIAL, 1000);
        let (mut sum, mut throttles) = (0usize, 0usize);
        for _ in 0..answers {
            let s = r.sent();
            let in_flight = r.limit();
            let outcome = if in_flight > accepts {
                throttles += 1;
                let reported = counted.then_some(accepts as u32 + 1);
                Outcome::Throttled {
                    in_flight,
                    reported,
                }
            } else {
                let reported = counted.then_some(in_flight as u32);
                Outcome::Accepted {
                    busy: true,
                    reported,
                }
            };
            r.learn(s, outcome);
            sum += r.limit().min(accepts);
        }
        (sum as f64 / answers as f64, throttles)
    }

    #[test]
    fn the_limit_stays_near_the_ceiling_not_at_three_quarters_of_it() {
        for (accepts, counted) in [(8, true), (8, false), (50, true), (50, false), (200, true)] {
            let answers = 100_000;
            let (mean, throttles) = against(accepts, counted, answers);
            let share = throttles as f64 / answers as f64;
            assert!(
                mean > 0.95 * accepts as f64,
                "{accepts} {counted}: mean {mean}"
            );
            assert!(share < 0.05, "{accepts} {counted}: {share} throttled");
        }
    }
}
