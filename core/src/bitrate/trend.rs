//! The delay trend and the overuse detector (GCC's trendline filter and
//! adaptive threshold, draft-ietf-rmcat-gcc §5.3–5.4, as in libwebrtc).
//!
//! Each group delta adds its delay variation to an accumulated one-way delay,
//! which is smoothed and fitted by least squares over the last
//! [`TREND_WINDOW`] groups against arrival time. The slope (queue growth per
//! unit time) is amplified by the number of samples and compared with a
//! threshold that adapts to it: it rises slowly toward persistent large
//! trends (a competing loss-based flow keeps the queue moving) and falls
//! quickly back, so self-inflicted queues are caught early.

use heapless::Deque;

use super::arrival::Delta;

/// Groups in the least-squares fit.
pub const TREND_WINDOW: usize = 20;
/// Smoothing of the accumulated delay.
const SMOOTHING: f64 = 0.9;
/// Amplification of the fitted slope before thresholding.
const TREND_GAIN: f64 = 4.0;
/// The slope counts for at most this many deltas' worth of confidence.
const MAX_CONFIDENCE: f64 = 60.0;
/// Threshold adaptation toward larger and smaller trends (per ms).
const K_UP: f64 = 0.0087;
const K_DOWN: f64 = 0.039;
/// Trends further than this past the threshold (ms) are spikes and do not
/// move it.
const MAX_ADAPT_OFFSET: f64 = 15.0;
/// Range of the threshold (ms).
const THRESHOLD_MIN: f64 = 6.0;
const THRESHOLD_MAX: f64 = 600.0;
const THRESHOLD_START: f64 = 12.5;
/// The trend must exceed the threshold for this long (ms) to signal overuse.
const OVERUSE_TIME: f64 = 10.0;

/// What the delay trend says about the bottleneck queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// The queue is steady.
    Normal,
    /// The queue is growing: sending faster than the bottleneck drains.
    Over,
    /// The queue is shrinking.
    Under,
}

/// Least-squares delay trend with an adaptive overuse threshold.
#[derive(Clone, Debug)]
pub(crate) struct Trendline {
    window: Deque<(f64, f64), TREND_WINDOW>,
    first_arrival_us: Option<u64>,
    accumulated: f64,
    smoothed: f64,
    deltas: u32,
    prev_trend: f64,
    modified: f64,
    threshold: f64,
    last_threshold_update_ms: Option<f64>,
    over_time: Option<f64>,
    over_count: u32,
    usage: Usage,
}

impl Default for Trendline {
    fn default() -> Self {
        Trendline {
            window: Deque::new(),
            first_arrival_us: None,
            accumulated: 0.0,
            smoothed: 0.0,
            deltas: 0,
            prev_trend: 0.0,
            modified: 0.0,
            threshold: THRESHOLD_START,
            last_threshold_update_ms: None,
            over_time: None,
            over_count: 0,
            usage: Usage::Normal,
        }
    }
}

impl Trendline {
    /// Adds a group delta and returns the detector's verdict.
    pub fn add(&mut self, delta: &Delta) -> Usage {
        let variation_ms = delta.variation_us() as f64 / 1_000.0;
        let send_ms = delta.send_us as f64 / 1_000.0;
        let arrival_us = delta.arrival.as_micros();
        let first = *self.first_arrival_us.get_or_insert(arrival_us);
        let x = arrival_us.saturating_sub(first) as f64 / 1_000.0;
        self.deltas = self.deltas.saturating_add(1).min(1_000);
        self.accumulated += variation_ms;
        self.smoothed = SMOOTHING * self.smoothed + (1.0 - SMOOTHING) * self.accumulated;
        if self.window.is_full() {
            self.window.pop_front();
        }
        // Cannot fail: a slot was freed above if the window was full.
        let _ = self.window.push_back((x, self.smoothed));
        let trend = if self.window.is_full() {
            slope(&self.window).unwrap_or(self.prev_trend)
        } else {
            self.prev_trend
        };
        self.detect(trend, send_ms, x);
        self.usage
    }

    /// The last verdict.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// The current (adaptive) threshold, ms.
    #[cfg(test)]
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    fn detect(&mut self, trend: f64, send_delta_ms: f64, now_ms: f64) {
        if self.deltas < 2 {
            self.usage = Usage::Normal;
            return;
        }
        let modified = f64::from(self.deltas).min(MAX_CONFIDENCE) * trend * TREND_GAIN;
        self.modified = modified;
        if modified > self.threshold {
            let t = match self.over_time {
                None => send_delta_ms / 2.0,
                Some(t) => t + send_delta_ms,
            };
            self.over_time = Some(t);
            self.over_count += 1;
            if t > OVERUSE_TIME && self.over_count > 1 && trend >= self.prev_trend {
                self.over_time = Some(0.0);
                self.over_count = 0;
                self.usage = Usage::Over;
            }
        } else if modified < -self.threshold {
            self.over_time = None;
            self.over_count = 0;
            self.usage = Usage::Under;
        } else {
            self.over_time = None;
            self.over_count = 0;
            self.usage = Usage::Normal;
        }
        self.prev_trend = trend;
        self.adapt_threshold(modified, now_ms);
    }

    fn adapt_threshold(&mut self, modified: f64, now_ms: f64) {
        let last = *self.last_threshold_update_ms.get_or_insert(now_ms);
        let magnitude = if modified < 0.0 { -modified } else { modified };
        if magnitude > self.threshold + MAX_ADAPT_OFFSET {
            self.last_threshold_update_ms = Some(now_ms);
            return;
        }
        let k = if magnitude < self.threshold {
            K_DOWN
        } else {
            K_UP
        };
        let dt = (now_ms - last).clamp(0.0, 100.0);
        self.threshold += k * (magnitude - self.threshold) * dt;
        self.threshold = self.threshold.clamp(THRESHOLD_MIN, THRESHOLD_MAX);
        self.last_threshold_update_ms = Some(now_ms);
    }
}

/// Least-squares slope of `points`, or `None` if their x values coincide.
fn slope(points: &Deque<(f64, f64), TREND_WINDOW>) -> Option<f64> {
    let n = points.len() as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
    let (mx, my) = (sx / n, sy / n);
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), (x, y)| {
        (num + (x - mx) * (y - my), den + (x - mx) * (x - mx))
    });
    (den > 0.0).then(|| num / den).filter(|s| s.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Instant;

    fn feed(t: &mut Trendline, n: u64, start: u64, growth_us: i64) -> Usage {
        let mut usage = Usage::Normal;
        for i in 0..n {
            usage = t.add(&Delta {
                send_us: 20_000,
                arrival_us: 20_000 + growth_us,
                arrival: Instant::from_micros((start + i) * 20_000),
            });
        }
        usage
    }

    #[test]
    fn growing_queue_is_overuse_and_draining_is_underuse() {
        let mut t = Trendline::default();
        assert_eq!(feed(&mut t, 40, 0, 0), Usage::Normal);
        assert_eq!(feed(&mut t, 30, 40, 2_000), Usage::Over);
        assert_eq!(feed(&mut t, 40, 70, -2_000), Usage::Under);
        assert_eq!(feed(&mut t, 60, 110, 0), Usage::Normal);
    }

    #[test]
    fn threshold_rises_toward_a_persistent_trend_and_falls_back() {
        let mut t = Trendline::default();
        let start = t.threshold();
        // A steady trend a little above the starting threshold: the
        // threshold follows it up, so it stops counting as overuse...
        feed(&mut t, 200, 0, 1_200);
        let raised = t.threshold();
        assert!(raised > start, "threshold adapts up: {start} -> {raised}");
        // ...and a flat delay brings it back down, fast.
        feed(&mut t, 100, 200, 0);
        assert!(t.threshold() < raised, "and back down: {}", t.threshold());
        assert!(t.threshold() >= THRESHOLD_MIN);
    }
}
