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
//! - **Competing mode**. A deep queue that does not fall while our cuts take
//!   a quarter off the target is not ours: a loss-based flow (TCP) shares
//!   the bottleneck and fills it. Yielding to it would starve us, so the
//!   target takes back half of the rate held before those cuts, delay
//!   signals are ignored, and the target follows loss instead, as GCC's
//!   loss-based controller does, until the queue empties again.

use super::rate::Bitrate;
use super::trend::Usage;
use crate::time::{Duration, Instant};

mod competing;
mod link;
mod marks;
mod tuning;

use competing::DrainTest;
use link::Link;
use marks::Marks;
pub use tuning::ControlTuning;

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
    /// The link delivers in bursts (a cellular link's scheduler).
    pub bursty: bool,
}

/// A queue within this of an earlier one has not fallen since.
const QUEUE_GREW: Duration = Duration::from_millis(5);
/// The two-packet standing-queue mark is capped at this.
const QUEUE_HIGH_CAP: Duration = Duration::from_millis(60);
/// The loss window; loss-based cuts are spaced by at least this.
const LOSS_WINDOW: Duration = Duration::from_secs(1);
/// A standing queue below this means the path has room to spare.
const QUEUE_EMPTY: Duration = Duration::from_millis(5);
/// Responses to a cut take this long on top of the round trip.
const RESPONSE_EXTRA: Duration = Duration::from_millis(100);
/// The recent delivered rate below this fraction of the target, with a deep
/// and growing queue, means capacity fell below what we send.
const FALLING: f64 = 0.85;
/// Growth accelerates only once the delivered rate is past the measured
/// capacity by this factor: proof of new room, where a target past it may
/// just not have built its queue yet.
const BEYOND: f64 = 1.03;
/// Growth per second on a bursty link with no queue standing.
const BURSTY_GROWTH: f64 = 0.7;
/// Smoothing of the measured capacity.
const LINK_ALPHA: f64 = 0.05;

/// The controller's mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Delay-based control.
    Delay,
    /// A loss-based flow competes: loss-based control.
    Competing,
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
    /// The target when the queue last rose above the standing-queue mark.
    target_at_rise: f64,
    marks: Marks,
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
            target_at_rise: start.as_f64(),
            marks: Marks::default(),
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
        self.marks.queue(queue, now);
        self.track_competition(queue, now);
        match self.mode {
            Mode::Delay => self.delay_mode(s, queue, dt, now),
            Mode::Competing => self.competing_mode(s, dt, now),
        }
        self.clamp();
        self.marks.target(self.target, now);
    }

    fn delay_mode(&mut self, s: &Signals, queue: Duration, dt: f64, now: Instant) {
        let response = s.rtt + RESPONSE_EXTRA;
        let can_cut = self.last_cut.is_none_or(|t| now >= t + response);
        // On a bursty link the trend's slope follows the scheduler's clumps,
        // not our queue: a standing queue (and the estimator's window) are
        // the congestion signals there.
        let usage = if s.bursty { Usage::Normal } else { s.usage };
        let congested = usage == Usage::Over || queue > self.queue_high();
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
                if queue >= QUEUE_EMPTY {
                    // Only a cut at a standing queue measures the capacity:
                    // a trend that fires with the queue empty (bursty
                    // delivery on a cellular link) saw our own rate, not the
                    // link's, and taking that as the capacity would leave
                    // the climb back to the slow creep.
                    self.measured_capacity(delivered);
                }
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
        if usage == Usage::Under || s.app_limited {
            // Draining, or nothing to learn from: hold.
            return;
        }
        let seeking = self.seeking_since.take();
        let growth = match self.link {
            _ if s.bursty && queue <= QUEUE_EMPTY => {
                // The capacity a bursty link showed at the last cut was a
                // moment of its scheduler's, and the creep that shares a
                // smooth link fairly would take seconds to find what it
                // delivers a moment later. With no queue standing, climb at
                // once: the window cuts within a report when delivery falls.
                self.seeking_since = Some(seeking.unwrap_or(now));
                self.grow_since = now;
                BURSTY_GROWTH
            }
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

    /// The standing queue that counts as congestion at the current rate.
    fn queue_high(&self) -> Duration {
        let packets = 2.0 * f64::from(self.tuning.creep_packet) * 8.0 / self.target.max(1.0);
        // Saturating: an absurd creep packet at a tiny rate is just "never".
        let packets = Duration::from_micros((packets * 1e6) as u64);
        self.tuning.queue_high.max(packets.min(QUEUE_HIGH_CAP))
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
        self.target = self.target.min(rate);
        self.last_cut = Some(now);
        self.grow_since = now;
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

#[cfg(test)]
mod tests;
