//! What the rate controller remembers of the last seconds: the queue a
//! moment ago, and the highest target.

use crate::time::{Duration, Instant};

/// How often the queue is sampled: the one remembered is between one and
/// two of these old.
const QUEUE_EVERY: Duration = Duration::from_millis(500);
/// The highest target is kept per span this long, over the last two.
const TARGET_SPAN: Duration = Duration::from_secs(5);

/// Samples of the recent past, in constant space.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Marks {
    queue_newer: Option<(Instant, Duration)>,
    queue_older: Option<(Instant, Duration)>,
    /// The current span's start and highest target.
    target_span: Option<(Instant, f64)>,
    /// The highest target of the span before.
    target_before: f64,
}

impl Marks {
    /// Notes the queue of a report.
    pub fn queue(&mut self, queue: Duration, now: Instant) {
        if self.queue_newer.is_none_or(|(t, _)| now >= t + QUEUE_EVERY) {
            self.queue_older = self.queue_newer;
            self.queue_newer = Some((now, queue));
        }
    }

    /// The queue half a second to a second ago, and when it was sampled.
    pub fn queue_before(&self) -> Option<(Instant, Duration)> {
        self.queue_older
    }

    /// Notes the target after a report.
    pub fn target(&mut self, target: f64, now: Instant) {
        match &mut self.target_span {
            Some((start, max)) if now < *start + TARGET_SPAN => *max = max.max(target),
            _ => {
                self.target_before = self.target_span.map_or(0.0, |(_, m)| m);
                self.target_span = Some((now, target));
            }
        }
    }

    /// The highest target of the last five to ten seconds.
    pub fn recent_max(&self) -> f64 {
        self.target_span
            .map_or(0.0, |(_, m)| m)
            .max(self.target_before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_remembered_is_half_a_second_to_a_second_old() {
        let mut m = Marks::default();
        for ms in (0..=1_000).step_by(50) {
            m.queue(Duration::from_millis(ms / 10), Instant::from_millis(ms));
        }
        // Samples at 0, 500 and 1000 ms: the one before the newest is 500.
        assert_eq!(
            m.queue_before(),
            Some((Instant::from_millis(500), Duration::from_millis(50)))
        );
    }

    #[test]
    fn the_highest_target_is_kept_for_five_to_ten_seconds() {
        let mut m = Marks::default();
        m.target(2_000_000.0, Instant::from_millis(0));
        for s in 1..10 {
            m.target(100_000.0, Instant::from_millis(s * 1_000));
        }
        assert_eq!(m.recent_max(), 2_000_000.0);
        m.target(100_000.0, Instant::from_millis(10_000));
        assert_eq!(m.recent_max(), 100_000.0);
    }
}
