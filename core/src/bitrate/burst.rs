//! Bursty delivery: whether the link hands packets over in clumps, as a
//! cellular link's scheduler does, rather than one after another.
//!
//! On a wired or smoothly shaped bottleneck two packets never arrive closer
//! together than the link takes to serialize the second, so the arrival
//! spacing of two consecutive packets is at least their send spacing times
//! our share of the link. A cellular link holds packets through its
//! scheduling gaps and then delivers several within the same instant
//! (Winstein et al., NSDI 2013, model its delivery as such a point
//! process): packets sent milliseconds apart arrive almost together. The
//! share of such compressed pairs tells the two kinds of link apart: in
//! onbeat-sim it stays under 4% on every smooth-link scenario (one or two
//! media flows, TCP, random loss) and is 7–90% on the cellular traces.

use crate::time::Instant;

/// A pair counts as compressed if it was sent at least this far apart
/// (µs)...
const MIN_SEND_SPACING: i64 = 1_000;
/// ...and arrived at least this many times closer together.
const COMPRESSION: i64 = 8;
/// The share is an exponential average over about this many pairs.
const WINDOW: i64 = 256;
/// Fixed-point scale of the share (integers keep it exact and portable).
const ONE: i64 = 1 << 16;
/// Delivery counts as bursty once the share passes 10%...
const ENTER: i64 = ONE / 10;
/// ...and until it falls below 5%.
const LEAVE: i64 = ONE / 20;

/// The share of compressed pairs among recent consecutive packets.
#[derive(Clone, Debug, Default)]
pub(crate) struct Burstiness {
    /// Send and arrival time of the previous packet.
    prev: Option<(Instant, Instant)>,
    /// Exponential average of the indicator, scaled by [`ONE`].
    share: i64,
    bursty: bool,
}

impl Burstiness {
    /// A packet sent at `send` arrived at `arrival` (receiver clock); packets
    /// come in send order. Reordered pairs and pairs sent too close together
    /// to tell say nothing.
    pub fn add(&mut self, send: Instant, arrival: Instant) {
        if let Some((prev_send, prev_arrival)) = self.prev {
            let sent = send.signed_micros_since(prev_send);
            let arrived = arrival.signed_micros_since(prev_arrival);
            if sent >= MIN_SEND_SPACING && arrived >= 0 {
                let hit = if arrived.saturating_mul(COMPRESSION) <= sent {
                    ONE
                } else {
                    0
                };
                self.share += (hit - self.share) / WINDOW;
            }
        }
        self.prev = Some((send, arrival));
        if self.share > ENTER {
            self.bursty = true;
        } else if self.share < LEAVE {
            self.bursty = false;
        }
    }

    /// Whether delivery is bursty.
    pub fn bursty(&self) -> bool {
        self.bursty
    }

    /// Forgets the previous packet (the receiver's clock jumped).
    pub fn reset(&mut self) {
        self.prev = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `n` packets sent every 2 ms; `arrival(k)` is the k-th arrival in µs.
    fn feed(b: &mut Burstiness, n: u64, arrival: impl Fn(u64) -> u64) {
        for k in 0..n {
            b.add(
                Instant::from_micros(k * 2_000),
                Instant::from_micros(10_000_000 + arrival(k)),
            );
        }
    }

    #[test]
    fn smooth_delivery_is_not_bursty_even_through_a_queue() {
        let mut b = Burstiness::default();
        // Arrivals at the send spacing, then a queue that stretches them.
        feed(&mut b, 500, |k| 50_000 + k * 2_000);
        feed(&mut b, 500, |k| 50_000 + k * 2_500);
        assert!(!b.bursty());
    }

    #[test]
    fn clumped_delivery_is_bursty_until_it_smooths_again() {
        let mut b = Burstiness::default();
        // Five packets at a time, 10 ms apart: four of five pairs arrive together.
        feed(&mut b, 500, |k| 50_000 + (k / 5) * 10_000);
        assert!(b.bursty());
        // One pair in sixteen clumped (about 6%): between the marks, still bursty.
        feed(&mut b, 800, |k| {
            50_000 + k * 2_000 - u64::from(k % 16 == 15) * 2_000
        });
        assert!(b.bursty());
        feed(&mut b, 1_500, |k| 50_000 + k * 2_000);
        assert!(!b.bursty());
    }
}
