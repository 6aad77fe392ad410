//! The standing queue at the bottleneck, in absolute terms.
//!
//! GCC looks only at the delay *trend*, which is blind to a queue that stopped
//! growing; NADA (RFC 8698 §4.2) and SCReAM (RFC 8298 §4.1.1) also track the
//! queuing delay itself: the one-way delay now minus the smallest one-way
//! delay seen over a long window. The two clocks are unsynchronised, so the
//! one-way delay is only known up to a constant — which cancels in the
//! difference. Per feedback report the smallest one-way delay is used, which
//! ignores jitter and reads the queue that packets could not avoid.

use heapless::Deque;

use crate::time::{Duration, Instant};

/// Buckets of the base-delay window.
const BUCKETS: usize = 6;
/// Span of each bucket: the base delay is the minimum over the last
/// `BUCKETS × BUCKET` of sending (30 s), long enough to have seen the queue
/// empty, short enough to follow a route change.
const BUCKET: Duration = Duration::from_secs(5);

/// Windowed minimum of the relative one-way delay.
#[derive(Clone, Debug, Default)]
pub(crate) struct QueueDelay {
    /// (bucket start on the sender's clock, minimum relative delay µs).
    buckets: Deque<(Instant, i64), BUCKETS>,
    /// Smallest relative one-way delay in the latest report.
    latest: Option<i64>,
}

impl QueueDelay {
    /// Forgets everything (the receiver's clock jumped).
    pub fn reset(&mut self) {
        *self = QueueDelay::default();
    }

    /// Starts a new feedback report.
    pub fn begin_report(&mut self) {
        self.latest = None;
    }

    /// A packet sent at `send` (sender clock) arrived at `arrival` (receiver clock).
    pub fn add(&mut self, send: Instant, arrival: Instant) {
        let owd = arrival.signed_micros_since(send);
        self.latest = Some(self.latest.map_or(owd, |l| l.min(owd)));
        match self.buckets.back_mut() {
            Some((start, min)) if send < *start + BUCKET => *min = (*min).min(owd),
            _ => {
                if self.buckets.is_full() {
                    self.buckets.pop_front();
                }
                // Cannot fail: a slot was freed above if the window was full.
                let _ = self.buckets.push_back((send, owd));
            }
        }
    }

    /// The standing queue seen by the latest report, if it had any packet.
    pub fn queue(&self) -> Option<Duration> {
        let latest = self.latest?;
        let base = self.buckets.iter().map(|(_, m)| *m).min()?;
        Some(Duration::from_micros(
            latest.saturating_sub(base).max(0).unsigned_abs(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_is_delay_above_the_windowed_minimum() {
        let mut q = QueueDelay::default();
        let offset = 7_000_000_000u64; // receiver clock far ahead of the sender's
        q.begin_report();
        q.add(
            Instant::from_millis(0),
            Instant::from_micros(offset + 50_000),
        );
        assert_eq!(q.queue(), Some(Duration::ZERO));
        q.begin_report();
        q.add(
            Instant::from_millis(100),
            Instant::from_micros(offset + 100_000 + 80_000),
        );
        q.add(
            Instant::from_millis(110),
            Instant::from_micros(offset + 110_000 + 90_000),
        );
        assert_eq!(q.queue(), Some(Duration::from_millis(30)));
        // 40 s later the old minimum has left the window.
        for s in 1..=40u64 {
            q.begin_report();
            let send = s * 1_000_000;
            q.add(
                Instant::from_micros(send),
                Instant::from_micros(offset + send + 70_000),
            );
        }
        assert_eq!(q.queue(), Some(Duration::ZERO));
    }
}
