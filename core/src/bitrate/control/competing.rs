//! Competing mode: telling a loss-based flow's queue from our own, and
//! following loss while one shares the bottleneck.

use super::{LOSS_WINDOW, Mode, RESPONSE_EXTRA, RateControl, Signals, secs};
use crate::bitrate::rate::Bitrate;
use crate::time::{Duration, Instant};

/// Loss-based mode below this loss grows the target.
const COMPETING_LOW_LOSS: f64 = 0.02;
/// Loss-based mode above this loss cuts the target.
const COMPETING_HIGH_LOSS: f64 = 0.1;
/// Growth per second in competing mode at least (GCC's loss-based increase);
/// at low rates a TCP-like packet per round trip per round trip is more.
const COMPETING_GROWTH: f64 = 0.08;
/// A queue below this ends competing mode.
const QUEUE_LOW: Duration = Duration::from_millis(10);

/// In competing mode, how often the controller steps aside to see whether
/// the queue is still someone else's.
const DRAIN_TEST_EVERY: Duration = Duration::from_secs(8);
/// How long it steps aside, on top of a round trip.
const DRAIN_TEST_LENGTH: Duration = Duration::from_millis(300);
/// Stepping aside means sending at this fraction of the delivered rate.
const DRAIN_TEST_FACTOR: f64 = 0.5;

/// The periodic check that a competitor is still there.
#[derive(Clone, Copy, Debug)]
pub(super) enum DrainTest {
    Idle,
    Due(Instant),
    Running { until: Instant, restore: f64 },
}

impl RateControl {
    pub(super) fn track_competition(&mut self, queue: Duration, now: Instant) {
        match self.mode {
            Mode::Delay => {
                if queue > self.queue_high() {
                    self.high_since.get_or_insert(now);
                } else {
                    self.high_since = None;
                }
                let persistent = self
                    .high_since
                    .is_some_and(|t| now >= t + self.tuning.competing_after);
                if persistent && self.ineffective_cuts >= self.tuning.competing_cuts {
                    self.mode = Mode::Competing;
                    self.link = None;
                    self.quiet_since = None;
                    self.drain_test = DrainTest::Due(now + DRAIN_TEST_EVERY);
                }
            }
            Mode::Competing => {
                if queue >= QUEUE_LOW {
                    self.quiet_since = None;
                } else if let DrainTest::Running { .. } = self.drain_test {
                    // We stepped aside and the queue emptied: it was ours.
                    self.leave_competing(now);
                } else if now >= *self.quiet_since.get_or_insert(now) + self.tuning.competing_quiet
                {
                    self.leave_competing(now);
                }
            }
        }
    }

    pub(super) fn competing_mode(&mut self, s: &Signals, dt: f64, now: Instant) {
        match self.drain_test {
            DrainTest::Due(at) if now >= at => {
                // Step aside briefly: if the queue empties, it was ours.
                let delivered = s.delivered.map_or(self.target, Bitrate::as_f64);
                self.drain_test = DrainTest::Running {
                    until: now + s.rtt + DRAIN_TEST_LENGTH,
                    restore: self.target,
                };
                self.target = self.target.min(delivered * DRAIN_TEST_FACTOR);
                return;
            }
            DrainTest::Running { until, restore } => {
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
        self.ineffective_cuts = 0;
        self.high_since = None;
    }
}
