//! The fraction of packets lost, over the last second of feedback.

use heapless::Deque;

use crate::time::{Duration, Instant};

/// Buckets of the loss window.
const BUCKETS: usize = 5;
/// Span of each bucket (sender clock, feedback time).
const BUCKET: Duration = Duration::from_millis(250);
/// Results needed before the ratio is trusted.
const MIN_RESULTS: u32 = 20;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    start: Instant,
    received: u32,
    lost: u32,
}

/// Lost and received counts over a sliding window.
#[derive(Clone, Debug, Default)]
pub(crate) struct LossRatio {
    buckets: Deque<Bucket, BUCKETS>,
}

impl LossRatio {
    /// Counts one feedback result, reported at `now`.
    pub fn add(&mut self, lost: bool, now: Instant) {
        let fresh = match self.buckets.back() {
            Some(b) => now >= b.start + BUCKET,
            None => true,
        };
        if fresh {
            if self.buckets.is_full() {
                self.buckets.pop_front();
            }
            // Cannot fail: a slot was freed above if the deque was full.
            let _ = self.buckets.push_back(Bucket {
                start: now,
                received: 0,
                lost: 0,
            });
        }
        if let Some(b) = self.buckets.back_mut() {
            if lost {
                b.lost = b.lost.saturating_add(1);
            } else {
                b.received = b.received.saturating_add(1);
            }
        }
    }

    /// Fraction lost over the window ending at `now` (0.0 with too few results).
    pub fn ratio(&self, now: Instant) -> f64 {
        let horizon = now.saturating_sub(BUCKET.saturating_mul(BUCKETS as u64 - 1));
        let (mut received, mut lost) = (0u64, 0u64);
        for b in self.buckets.iter().filter(|b| b.start >= horizon) {
            received += u64::from(b.received);
            lost += u64::from(b.lost);
        }
        let total = received + lost;
        if total < u64::from(MIN_RESULTS) {
            return 0.0;
        }
        lost as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_over_the_last_second() {
        let mut l = LossRatio::default();
        for i in 0..100u64 {
            l.add(i % 10 == 0, Instant::from_millis(i * 10));
        }
        let r = l.ratio(Instant::from_millis(1_000));
        assert!((r - 0.1).abs() < 0.02, "{r}");
        // Two seconds of clean delivery later, the losses are forgotten.
        for i in 0..200u64 {
            l.add(false, Instant::from_millis(1_000 + i * 10));
        }
        assert_eq!(l.ratio(Instant::from_millis(3_000)), 0.0);
    }
}
