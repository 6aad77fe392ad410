//! Competing mode: telling a loss-based flow's queue from our own, and
//! following loss while one shares the bottleneck.

use super::{LOSS_WINDOW, Mode, QUEUE_GREW, RESPONSE_EXTRA, RateControl, Signals, secs};
use crate::bitrate::rate::Bitrate;
use crate::time::{Duration, Instant};

/// Loss-based mode below this loss grows the target.
const COMPETING_LOW_LOSS: f64 = 0.02;
/// Loss-based mode above this loss cuts the target.
const COMPETING_HIGH_LOSS: f64 = 0.1;
/// Growth per second in competing mode at least (GCC's loss-based increase);
/// at low rates a TCP-like packet per round trip per round trip is more.
const COMPETING_GROWTH: f64 = 0.08;
/// Entering competing mode, the target is at least this share of the
/// highest target of the last five to ten seconds.
const ENTRY_SHARE: f64 = 0.5;
/// A queue below this ends competing mode.
const QUEUE_LOW: Duration = Duration::from_millis(10);

/// In competing mode, how often the controller steps aside to see whether
/// the queue is still someone else's.
const DRAIN_TEST_EVERY: Duration = Duration::from_secs(8);
/// How long it steps aside, on top of a round trip.
const DRAIN_TEST_LENGTH: Duration = Duration::from_millis(300);
/// A drain test starts only with at least this much queue standing: an
/// empty queue as it starts says the competitor just backed off (TCP
/// halving after a loss), not that the queue was ours.
const DRAIN_TEST_QUEUE: Duration = Duration::from_millis(50);
/// Stepping aside means sending at this fraction of the delivered rate.
const DRAIN_TEST_FACTOR: f64 = 0.5;

/// The periodic check that a competitor is still there.
#[derive(Clone, Copy, Debug)]
pub(super) enum DrainTest {
    Idle,
    Due(Instant),
    Running {
        /// When the step aside ends.
        until: Instant,
        /// From when the queue says what stepping aside did: packets sent
        /// before it, still queued, say nothing.
        judge_from: Instant,
        restore: f64,
    },
}

impl RateControl {
    /// Whether the standing queue is a loss-based flow's (in delay mode).
    ///
    /// Our own queue, and that of delay-based flows like us, falls within a
    /// response time of the cuts it causes. A loss-based flow fills the
    /// queue until it overflows, whatever we do. So: a queue standing above
    /// the mark for [`ControlTuning::competing_after`], twice the mark deep
    /// now and half a second to a second ago, not lower now than then, while
    /// our target fell to [`ControlTuning::competing_fall`] of what it was
    /// when the queue rose. Two delay-based flows settling on the same
    /// bottleneck hold it near the mark, or drain it, or take seconds to
    /// trade that much rate.
    ///
    /// [`ControlTuning::competing_after`]: super::ControlTuning::competing_after
    /// [`ControlTuning::competing_fall`]: super::ControlTuning::competing_fall
    fn competitor_found(&mut self, queue: Duration, now: Instant) -> bool {
        let mark = self.queue_high();
        let Some(since) = self.high_since.filter(|_| queue > mark) else {
            self.high_since = (queue > mark).then_some(now);
            self.target_at_rise = self.target;
            return false;
        };
        let deep = mark.saturating_mul(2);
        let persistent = now >= since + self.tuning.competing_after;
        let not_falling = self
            .marks
            .queue_before()
            .is_some_and(|(t, q)| t >= since && q > deep && queue + QUEUE_GREW >= q);
        let yielded = self.target <= self.tuning.competing_fall * self.target_at_rise;
        persistent && queue > deep && not_falling && yielded
    }

    pub(super) fn track_competition(&mut self, queue: Duration, now: Instant) {
        match self.mode {
            Mode::Delay => {
                if self.competitor_found(queue, now) {
                    self.mode = Mode::Competing;
                    // The cuts that yielded to it were in vain and it will
                    // not yield back: take back a share of the rate held
                    // before them, rather than climb from the bottom of
                    // the spiral while it keeps the queue full.
                    self.target = self.target.max(ENTRY_SHARE * self.marks.recent_max());
                    self.link = None;
                    self.quiet_since = None;
                    self.drain_test = DrainTest::Due(now + DRAIN_TEST_EVERY);
                }
            }
            Mode::Competing => {
                if queue >= QUEUE_LOW {
                    self.quiet_since = None;
                } else if let DrainTest::Running { judge_from, .. } = self.drain_test {
                    if now >= judge_from {
                        // We stepped aside and the queue emptied: it was ours.
                        self.leave_competing(now);
                    }
                } else if now >= *self.quiet_since.get_or_insert(now) + self.tuning.competing_quiet
                {
                    self.leave_competing(now);
                }
            }
        }
    }

    pub(super) fn competing_mode(&mut self, s: &Signals, dt: f64, now: Instant) {
        match self.drain_test {
            DrainTest::Due(at) if now >= at && self.queue >= DRAIN_TEST_QUEUE => {
                // Step aside briefly: if the queue empties, it was ours.
                let delivered = s.delivered.map_or(self.target, Bitrate::as_f64);
                self.drain_test = DrainTest::Running {
                    until: now + s.rtt + DRAIN_TEST_LENGTH,
                    judge_from: now + s.rtt,
                    restore: self.target,
                };
                self.target = self.target.min(delivered * DRAIN_TEST_FACTOR);
                return;
            }
            DrainTest::Running { until, restore, .. } => {
                if now >= until {
                    self.target = restore;
                    self.drain_test = DrainTest::Due(now + DRAIN_TEST_EVERY);
                }
                return;
            }
            DrainTest::Due(_) | DrainTest::Idle => {}
        }
        let spacing = (s.rtt + RESPONSE_EXTRA).max(LOSS_WINDOW);
        if s.loss > COMPETING_HIGH_LOSS {
            if self.last_cut.is_none_or(|t| now >= t + spacing) {
                self.cut_to(self.target * (1.0 - 0.5 * s.loss), now);
            }
        } else if s.loss < COMPETING_LOW_LOSS && !s.app_limited {
            // As fast as a TCP flow on the same path: a packet per round trip, per round trip.
            let rtt = secs(s.rtt).max(0.05);
            let per_rtt = f64::from(self.tuning.creep_packet) * 8.0 / (rtt * rtt);
            let growth = COMPETING_GROWTH.max(per_rtt / self.target.max(1.0));
            self.grow(growth * dt, s.delivered);
        }
    }

    fn leave_competing(&mut self, now: Instant) {
        if let DrainTest::Running { restore, .. } = self.drain_test {
            // Alone after all: resume from just under the rate held before.
            self.target = restore * (1.0 - self.tuning.min_cut);
        }
        self.mode = Mode::Delay;
        self.drain_test = DrainTest::Idle;
        self.grow_since = now;
        self.high_since = None;
    }
}
