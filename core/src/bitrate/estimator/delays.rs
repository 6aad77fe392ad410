//! Feeding the delay filters: received packets in send order, with the
//! packets a probe's burst delays kept out.

use heapless::Vec;

use super::{Estimator, FEEDBACK_SLICE};
use crate::bitrate::trend::Trendline;
use crate::time::{Duration, Instant};

/// A probe's burst is assumed to drain at this fraction of the target.
const SHADOW_SPARE: f64 = 0.5;
/// The delays of packets sent this long after a probe starts count again.
const SHADOW_MAX: Duration = Duration::from_millis(250);

impl Estimator {
    /// Feeds received packets to the delay filters in send order; packets
    /// older than ones already digested only counted toward delivery.
    pub(super) fn digest_delays(&mut self, batch: &mut Vec<(u64, Instant), FEEDBACK_SLICE>) {
        batch.sort_unstable_by_key(|(id, _)| *id);
        for &(id, arrival) in batch.iter() {
            if self.delay_front.is_some_and(|front| id <= front) {
                continue;
            }
            self.delay_front = Some(id);
            let Some(send) = self.history.get(id).map(|s| s.send_time) else {
                continue;
            };
            self.burst.add(send, arrival);
            let shadowed = self.shadow.is_some_and(|(a, b)| send >= a && send <= b);
            if !shadowed {
                self.queue.add(send, arrival);
            }
            let (delta, reset) = self.inter.add(send, arrival);
            if reset {
                self.trend = Trendline::default();
                self.burst.reset();
                self.queue.reset();
                self.acked.reset();
            } else if let Some(delta) = delta.filter(|_| !shadowed) {
                self.trend.add(&delta);
            }
        }
        batch.clear();
    }

    /// A probe packet of `size` bytes left at `send`. A probe's burst makes
    /// a queue by design (at 300 kbit/s, a 5-packet probe queues 160 ms), so
    /// the packets sent from its start until the bottleneck could have
    /// drained its extra bytes are kept out of the delay signals: asking for
    /// headroom must not by itself cut the rate. The drain assumes spare
    /// capacity of [`SHADOW_SPARE`] of the target, and the shadow lasts at
    /// most [`SHADOW_MAX`] so that real congestion is not hidden for long.
    pub(super) fn shadow_probe(&mut self, size: u32, send: Instant) {
        let spare = self.target().scale(SHADOW_SPARE).bps().max(1);
        let drain = Duration::from_micros(u64::from(size) * 8 * 1_000_000 / spare);
        self.shadow = Some(match self.shadow {
            Some((a, b)) if send <= b => (a, (b + drain).min(a + SHADOW_MAX)),
            _ => (send, send + drain.min(SHADOW_MAX)),
        });
    }
}
