//! The rate controller: from delay, queue, delivery and loss signals to a
//! target rate.
//!
//! Two modes:
//!
//! - **Delay mode** (the normal one). A growing queue (the trend detector says
//!   overuse) or a standing queue above [`ControlTuning::queue_high`] cuts the
//!   target to the *delivered* rate less just enough to drain the queue within
//!   [`ControlTuning::drain`] (GCC always cuts 15%, which is its sawtooth).
//!   Otherwise the target grows, slowly at first and faster the longer no
//!   congestion is seen, so that a link near capacity is held with small
//!   excursions while new capacity is found within seconds. Below the
//!   capacity last measured, it climbs back at the fastest rate. Random loss
//!   without a queue is ignored; only heavy loss cuts.
//! - **Competing mode**. A queue that keeps growing through several cuts is
//!   not ours: a loss-based flow (TCP) shares the bottleneck and fills it.
//!   Yielding to it would starve us, so delay signals are ignored and the
//!   target follows loss instead, as GCC's loss-based controller does, until
//!   the queue empties again.

use super::rate::Bitrate;
use super::trend::Usage;
use crate::time::{Duration, Instant};

/// Knobs of the rate controller.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ControlTuning {
    /// A standing queue above this is congestion even with a flat trend
    /// (or above two packets' worth at the current rate, if that is
    /// longer: at low rates a packet or two always waits).
    pub queue_high: Duration,
    /// A cut aims to drain the standing queue within this long.
    pub drain: Duration,
    /// Smallest cut, as a fraction of the delivered rate.
    pub min_cut: f64,
    /// Largest cut, as a fraction of the delivered rate.
    pub max_cut: f64,
    /// Near the capacity measured at the last cuts, the target grows by this
    /// many bytes per response time (a round trip plus 100 ms).
    pub creep_packet: u32,
    /// Growth per second once past that capacity without congestion.
    pub growth_start: f64,
    /// How much the growth per second rises for every second without congestion.
    pub growth_accel: f64,
    /// The fastest growth per second; also used to climb back to the last
    /// measured capacity after a deep cut.
    pub growth_max: f64,
    /// The target never exceeds this multiple of the delivered rate (plus 10 kbit/s).
    pub delivered_headroom: f64,
    /// Loss above this fraction cuts the target even without a queue.
    pub heavy_loss: f64,
    /// A queue above the standing-queue mark for `competing_after`, through
    /// `competing_cuts` cuts in a row after each of which it still grew,
    /// means that a loss-based flow competes: our own queue shrinks once we
    /// cut, a competitor's keeps growing.
    pub competing_after: Duration,
    /// See `competing_after`.
    pub competing_cuts: u32,
    /// In competing mode, a queue below 10 ms for this long means the
    /// competitor left.
    pub competing_quiet: Duration,
}

impl Default for ControlTuning {
    fn default() -> Self {
        ControlTuning {
            queue_high: Duration::from_millis(20),
            drain: Duration::from_millis(500),
            min_cut: 0.03,
            max_cut: 0.5,
            creep_packet: 900,
            growth_start: 0.03,
            growth_accel: 0.35,
            growth_max: 0.6,
            delivered_headroom: 1.5,
            heavy_loss: 0.2,
            competing_after: Duration::from_secs(2),
            competing_cuts: 2,
            competing_quiet: Duration::from_secs(3),
        }
    }
}

/// What the controller learns from one feedback report.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Signals {
    pub usage: Usage,
    pub queue: Option<Duration>,
    pub delivered: Option<Bitrate>,
    /// Delivered over a shorter window: follows a sudden drop sooner.
    pub delivered_recent: Option<Bitrate>,
    pub loss: f64,
    pub rtt: Duration,
    pub app_limited: bool,
}

/// Loss-based mode below this loss grows the target.
const COMPETING_LOW_LOSS: f64 = 0.02;
/// Loss-based mode above this loss cuts the target.
const COMPETING_HIGH_LOSS: f64 = 0.1;
/// Growth per second in competing mode at least (GCC's loss-based increase);
/// at low rates a TCP-like packet per round trip per round trip is more.
const COMPETING_GROWTH: f64 = 0.08;
/// A cut counts as ineffective if the queue grew by more than this since it.
const QUEUE_GREW: Duration = Duration::from_millis(5);
/// The two-packet standing-queue mark is capped at this.
const QUEUE_HIGH_CAP: Duration = Duration::from_millis(60);
/// The loss window; loss-based cuts are spaced by at least this.
const LOSS_WINDOW: Duration = Duration::from_secs(1);
/// A standing queue below this means the path has room to spare.
const QUEUE_EMPTY: Duration = Duration::from_millis(5);
/// A queue below this ends competing mode.
const QUEUE_LOW: Duration = Duration::from_millis(10);
/// Responses to a cut take this long on top of the round trip.
const RESPONSE_EXTRA: Duration = Duration::from_millis(100);
/// The recent delivered rate below this fraction of the target, with a deep
/// and growing queue, means capacity fell below what we send.
const FALLING: f64 = 0.85;
/// Growth accelerates only once the delivered rate is past the measured
/// capacity by this factor: proof of new room, where a target past it may
/// just not have built its queue yet.
const BEYOND: f64 = 1.03;
/// Smoothing of the measured capacity.
const LINK_ALPHA: f64 = 0.05;

/// In competing mode, how often the controller steps aside to see whether
/// the queue is still someone else's.
const DRAIN_TEST_EVERY: Duration = Duration::from_secs(8);
/// How long it steps aside, on top of a round trip.
const DRAIN_TEST_LENGTH: Duration = Duration::from_millis(300);
/// Stepping aside means sending at this fraction of the delivered rate.
const DRAIN_TEST_FACTOR: f64 = 0.5;

/// The periodic check that a competitor is still there.
#[derive(Clone, Copy, Debug)]
enum DrainTest {
    Idle,
    Due(Instant),
    Running { until: Instant, restore: f64 },
}

/// The controller's mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Delay-based control.
    Delay,
    /// A loss-based flow competes: loss-based control.
    Competing,
}

/// The capacity measured at recent cuts: a mean and a variance normalised
/// by the mean, both in kbit/s as in GCC's link capacity estimator (whose
/// variance bounds assume those units).
#[derive(Clone, Copy, Debug)]
struct Link {
    mean: f64,
    var: f64,
}

impl Link {
    /// Whether `rate` (bit/s) is more than three deviations below the mean
    /// (compared squared, since `core` has no square root).
    fn well_below(&self, rate: f64) -> bool {
        let r = rate / 1_000.0;
        r < self.mean && (self.mean - r) * (self.mean - r) > 9.0 * self.var * self.mean
    }

    /// Whether `rate` (bit/s) is more than three deviations above the mean.
    fn well_above(&self, rate: f64) -> bool {
        let r = rate / 1_000.0;
        r > self.mean && (r - self.mean) * (r - self.mean) > 9.0 * self.var * self.mean
    }
}

/// Rate controller state.
#[derive(Clone, Debug)]
pub(crate) struct RateControl {
    tuning: ControlTuning,
    bounds: (Bitrate, Bitrate),
    min: f64,
    max: f64,
    target: f64,
    mode: Mode,
    link: Option<Link>,
    last_update: Option<Instant>,
    last_cut: Option<Instant>,
    grow_since: Instant,
    /// The queue when the last cut was made.
    queue_at_cut: Duration,
    /// Cuts in a row after which the queue kept growing.
    ineffective_cuts: u32,
    /// In competing mode, since when the queue has been low.
    quiet_since: Option<Instant>,
    /// Since when the queue has stayed above the standing-queue mark.
    high_since: Option<Instant>,
    drain_test: DrainTest,
    /// The standing queue in the latest report.
    queue: Duration,
    /// The standing queue in the report before.
    prev_queue: Duration,
    /// Since when the target has been growing past the measured capacity
    /// with the queue empty: looking for new capacity.
    seeking_since: Option<Instant>,
}

impl RateControl {
    pub fn new(
        tuning: ControlTuning,
        min: Bitrate,
        max: Bitrate,
        start: Bitrate,
        now: Instant,
    ) -> Self {
        RateControl {
            tuning,
            bounds: (min, max),
            min: min.as_f64(),
            max: max.as_f64(),
            target: start.as_f64(),
            mode: Mode::Delay,
            link: None,
            last_update: None,
            last_cut: None,
            grow_since: now,
            queue_at_cut: Duration::ZERO,
            ineffective_cuts: 0,
            quiet_since: None,
            high_since: None,
            drain_test: DrainTest::Idle,
            queue: Duration::ZERO,
            prev_queue: Duration::ZERO,
            seeking_since: None,
        }
    }

    pub fn target(&self) -> Bitrate {
        // Bounds past 2^53 bit/s are not exact as f64: clamp the integer too.
        Bitrate::from_f64(self.target).clamp_to(self.bounds.0, self.bounds.1)
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Since when the controller has been growing into apparently free
    /// capacity (past the last measured capacity, with no queue).
    pub fn seeking_since(&self) -> Option<Instant> {
        self.seeking_since
    }

    /// Sets the target directly (a probe proved a higher rate, or feedback
    /// stopped), within bounds; growth restarts gently from there.
    pub fn set_target(&mut self, rate: Bitrate, now: Instant) {
        self.target = rate.as_f64();
        self.grow_since = now;
        if self.link.is_some_and(|l| l.well_above(self.target)) {
            self.link = None;
        }
        self.clamp();
    }

    /// The link was silent and delivers again: the queue the gap built says
    /// nothing about a competing flow.
    pub fn outage_ended(&mut self) {
        self.high_since = None;
        self.ineffective_cuts = 0;
    }

    /// Digests one feedback report.
    pub fn update(&mut self, s: &Signals, now: Instant) {
        let dt = self
            .last_update
            .map_or(0.0, |l| secs(now.saturating_duration_since(l)).min(0.5));
        self.last_update = Some(now);
        let queue = s.queue.unwrap_or(Duration::ZERO);
        self.prev_queue = self.queue;
        self.queue = queue;
        self.track_competition(queue, now);
        match self.mode {
            Mode::Delay => self.delay_mode(s, queue, dt, now),
            Mode::Competing => self.competing_mode(s, dt, now),
        }
        self.clamp();
    }

    fn track_competition(&mut self, queue: Duration, now: Instant) {
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

    fn delay_mode(&mut self, s: &Signals, queue: Duration, dt: f64, now: Instant) {
        let response = s.rtt + RESPONSE_EXTRA;
        let can_cut = self.last_cut.is_none_or(|t| now >= t + response);
        let congested = s.usage == Usage::Over || queue > self.queue_high();
        if congested {
            if can_cut {
                let mut delivered = s.delivered.map_or(self.target, Bitrate::as_f64);
                if queue > self.queue_high().saturating_mul(2) {
                    // A deep queue means capacity fell: the longer window
                    // still remembers the old rate.
                    if let Some(recent) = s.delivered_recent {
                        delivered = delivered.min(recent.as_f64());
                    }
                }
                // The standing-queue mark's worth of queue is left: at most
                // a packet or two waits even on a link held just full, and
                // draining it too would only be overshot on the way back up.
                let excess =
                    queue.saturating_sub(Duration::from_micros(self.queue_high().as_micros() / 2));
                let cut = (secs(excess) / secs(self.tuning.drain))
                    .clamp(self.tuning.min_cut, self.tuning.max_cut);
                self.measured_capacity(delivered);
                self.cut_to(delivered * (1.0 - cut), now);
            } else if let Some(recent) = s.delivered_recent
                && queue > self.queue_high().saturating_mul(2)
                && queue > self.prev_queue
                && recent.as_f64() < FALLING * self.target
            {
                // Capacity is falling faster than cuts a response time
                // apart can follow: track the rate the bottleneck delivers
                // now on every report. A rate, not a fraction of the target,
                // so reports that repeat the same queue do not compound.
                let cut = (secs(queue) / secs(self.tuning.drain))
                    .clamp(self.tuning.min_cut, self.tuning.max_cut);
                self.target = self.target.min(recent.as_f64() * (1.0 - cut));
            }
            return;
        }
        let loss_settled = self.last_cut.is_none_or(|t| now >= t + LOSS_WINDOW);
        if s.loss > self.tuning.heavy_loss && loss_settled {
            self.cut_to(self.target * (1.0 - 0.5 * s.loss), now);
            return;
        }
        if s.usage == Usage::Under || s.app_limited {
            // Draining, or nothing to learn from: hold.
            return;
        }
        let seeking = self.seeking_since.take();
        let growth = match self.link {
            Some(l) if l.well_below(self.target) => {
                // Climbing back after a deep cut: with the queue empty, a
                // probe may find the capacity sooner than growth.
                if queue <= QUEUE_EMPTY {
                    self.seeking_since = Some(seeking.unwrap_or(now));
                }
                self.grow_since = now;
                self.tuning.growth_max
            }
            Some(l)
                if self.target < l.mean * 1_000.0
                    || queue > QUEUE_EMPTY
                    || s.delivered
                        .is_some_and(|d| d.as_f64() < l.mean * 1_000.0 * BEYOND) =>
            {
                // Near the capacity measured at the last cuts: creep by a
                // packet per response time, the same for every flow whatever
                // its rate, so that flows sharing a bottleneck converge to
                // equal shares (additive increase, multiplicative decrease).
                // Accelerate only once delivery is past it with the queue
                // empty: spare room, not just a trend that has not noticed
                // the queue yet. A target past it with the queue empty is
                // worth a probe (see `seeking_since`), which finds out at
                // once.
                if self.target >= l.mean * 1_000.0 && queue <= QUEUE_EMPTY {
                    self.seeking_since = Some(seeking.unwrap_or(now));
                }
                self.grow_since = now;
                let response = secs(s.rtt + RESPONSE_EXTRA);
                f64::from(self.tuning.creep_packet) * 8.0 / response / self.target.max(1.0)
            }
            _ => {
                self.seeking_since = Some(seeking.unwrap_or(now));
                let t = secs(now.saturating_duration_since(self.grow_since));
                (self.tuning.growth_start + self.tuning.growth_accel * t)
                    .min(self.tuning.growth_max)
            }
        };
        self.grow(growth * dt, s.delivered);
        if self.link.is_some_and(|l| l.well_above(self.target)) {
            // Beyond what the link carried at the last cuts: it changed.
            self.link = None;
        }
    }

    fn competing_mode(&mut self, s: &Signals, dt: f64, now: Instant) {
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

    /// The standing queue that counts as congestion at the current rate.
    fn queue_high(&self) -> Duration {
        let packets = 2.0 * f64::from(self.tuning.creep_packet) * 8.0 / self.target.max(1.0);
        // Saturating: an absurd creep packet at a tiny rate is just "never".
        let packets = Duration::from_micros((packets * 1e6) as u64);
        self.tuning.queue_high.max(packets.min(QUEUE_HIGH_CAP))
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

    fn grow(&mut self, fraction: f64, delivered: Option<Bitrate>) {
        let grown = self.target * (1.0 + fraction);
        let cap = delivered.map_or(f64::INFINITY, |d| {
            d.as_f64() * self.tuning.delivered_headroom + 10_000.0
        });
        // Never grow past what delivery supports, but never cut for it either.
        self.target = grown.min(cap.max(self.target));
    }

    fn cut_to(&mut self, rate: f64, now: Instant) {
        self.seeking_since = None;
        if self.last_cut.is_some() && self.queue > self.queue_at_cut + QUEUE_GREW {
            self.ineffective_cuts = self.ineffective_cuts.saturating_add(1);
        } else {
            self.ineffective_cuts = 0;
        }
        self.queue_at_cut = self.queue;
        self.target = self.target.min(rate);
        self.last_cut = Some(now);
        self.grow_since = now;
    }

    fn measured_capacity(&mut self, delivered: f64) {
        let kbps = delivered / 1_000.0;
        let link = match self.link {
            Some(l) if l.well_above(delivered) || l.well_below(delivered) => Link {
                mean: kbps,
                var: 0.4,
            },
            Some(l) => {
                let mean = (1.0 - LINK_ALPHA) * l.mean + LINK_ALPHA * kbps;
                let err = mean - kbps;
                let var = (1.0 - LINK_ALPHA) * l.var + LINK_ALPHA * err * err / mean.max(1.0);
                Link {
                    mean,
                    // As in libwebrtc: bounds keep the band meaningful at any rate.
                    var: var.clamp(0.4, 2.5),
                }
            }
            None => Link {
                mean: kbps,
                var: 0.4,
            },
        };
        self.link = Some(link);
    }

    fn clamp(&mut self) {
        if !self.target.is_finite() {
            self.target = self.min;
        }
        self.target = self.target.max(self.min).min(self.max);
    }
}

fn secs(d: Duration) -> f64 {
    d.as_micros() as f64 / 1_000_000.0
}
