//! Packet groups and the delay variation between them (GCC's inter-arrival
//! filter, draft-ietf-rmcat-gcc §5.2).
//!
//! Packets sent within [`BURST`] of a group's first packet form one group, as
//! do packets that arrive in a burst after being held up together (their
//! arrival spacing is under [`BURST`] and shorter than their send spacing).
//! Between two consecutive groups the delay variation is
//! `(arrival delta) − (send delta)`: positive while a queue grows.
//!
//! Arrival times come from the receiver's clock. Only differences between
//! them are used, so the offset between the clocks cancels; a receiver clock
//! that jumps (or runs backwards) resets the filter instead of producing a
//! giant delta.

use crate::time::Instant;

/// Send-time span of one group, and the arrival spacing under which packets
/// count as one burst (µs).
pub const BURST: u64 = 5_000;
/// An arrival delta this much larger than the send delta (µs) means the
/// receiver's clock jumped: the filter starts over.
const ARRIVAL_JUMP: i64 = 3_000_000;
/// Groups of packets that arrive in order this many times in a row before a
/// reordered one resets the filter; matches libwebrtc's tolerance.
const REORDER_RESET: u32 = 3;

#[derive(Clone, Copy, Debug)]
struct Group {
    first_send: Instant,
    last_send: Instant,
    first_arrival: Instant,
    last_arrival: Instant,
}

/// The delay variation between two consecutive groups.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Delta {
    /// Send-time spacing of the groups, µs.
    pub send_us: i64,
    /// Arrival-time spacing of the groups, µs.
    pub arrival_us: i64,
    /// Arrival of the later group's last packet (receiver clock).
    pub arrival: Instant,
}

impl Delta {
    /// How much longer the groups took to arrive than to be sent, µs.
    pub fn variation_us(&self) -> i64 {
        self.arrival_us.saturating_sub(self.send_us)
    }
}

/// Groups packets and emits the delta between each completed group and the
/// one before it.
#[derive(Clone, Debug, Default)]
pub(crate) struct InterArrival {
    prev: Option<Group>,
    current: Option<Group>,
    reordered: u32,
}

impl InterArrival {
    /// Feeds one received packet, in send order; returns a delta when the
    /// packet starts a new group and so completes the previous one. `reset`
    /// is set when the receiver clock misbehaved and history was dropped.
    pub fn add(&mut self, send: Instant, arrival: Instant) -> (Option<Delta>, bool) {
        let Some(cur) = self.current.as_mut() else {
            self.current = Some(new_group(send, arrival));
            return (None, false);
        };
        if send < cur.first_send {
            // Sent before the current group began: it is late, and its
            // group has already been judged.
            return (None, false);
        }
        if belongs(cur, send, arrival) {
            cur.last_send = cur.last_send.max(send);
            cur.last_arrival = cur.last_arrival.max(arrival);
            return (None, false);
        }
        let done = *cur;
        let mut delta = None;
        let mut reset = false;
        if let Some(prev) = self.prev {
            let d = Delta {
                send_us: done.last_send.signed_micros_since(prev.last_send),
                arrival_us: done.last_arrival.signed_micros_since(prev.last_arrival),
                arrival: done.last_arrival,
            };
            if d.arrival_us.saturating_sub(d.send_us) > ARRIVAL_JUMP || d.arrival_us < -ARRIVAL_JUMP
            {
                reset = true;
            } else if d.arrival_us < 0 {
                self.reordered += 1;
                if self.reordered >= REORDER_RESET {
                    reset = true;
                }
            } else {
                self.reordered = 0;
                delta = Some(d);
            }
        }
        if reset {
            *self = InterArrival::default();
            self.current = Some(new_group(send, arrival));
            return (None, true);
        }
        if delta.is_some() || self.prev.is_none() {
            self.prev = Some(done);
        }
        self.current = Some(new_group(send, arrival));
        (delta, false)
    }
}

fn new_group(send: Instant, arrival: Instant) -> Group {
    Group {
        first_send: send,
        last_send: send,
        first_arrival: arrival,
        last_arrival: arrival,
    }
}

fn belongs(group: &Group, send: Instant, arrival: Instant) -> bool {
    if send.saturating_duration_since(group.first_send).as_micros() <= BURST {
        return true;
    }
    // A burst: these arrived together after being queued together.
    let arrival_gap = arrival.signed_micros_since(group.last_arrival);
    let send_gap = send.signed_micros_since(group.last_send);
    let first_gap = arrival.signed_micros_since(group.first_arrival);
    arrival_gap >= 0 && arrival_gap < BURST as i64 && arrival_gap < send_gap && first_gap < 100_000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(v: u64) -> Instant {
        Instant::from_micros(v)
    }

    #[test]
    fn groups_by_send_time_and_measures_queue_growth() {
        let mut ia = InterArrival::default();
        // Three groups 20 ms apart, each of two packets 1 ms apart; the
        // network adds 2 ms more queueing to each group than the one before.
        let mut deltas = [None; 8];
        let mut n = 0;
        for g in 0..4u64 {
            for p in 0..2u64 {
                let send = 1_000_000 + g * 20_000 + p * 1_000;
                let arrival = 9_000_000 + send + g * 2_000;
                let (d, reset) = ia.add(us(send), us(arrival));
                assert!(!reset);
                deltas[n] = d;
                n += 1;
            }
        }
        let found: heapless::Vec<Delta, 8> = deltas.iter().flatten().copied().collect();
        // Groups 0..3 exist; group 3 is still open, so two deltas (1−0, 2−1).
        assert_eq!(found.len(), 2);
        for d in &found {
            assert_eq!(d.send_us, 20_000);
            assert_eq!(d.variation_us(), 2_000);
        }
    }

    #[test]
    fn a_burst_after_a_stall_is_one_group() {
        let mut ia = InterArrival::default();
        // Packets sent 10 ms apart all arrive within 1 ms: one burst.
        for i in 0..5u64 {
            let (d, _) = ia.add(us(i * 10_000), us(500_000 + i * 200));
            assert_eq!(d, None);
        }
    }

    #[test]
    fn a_receiver_clock_jump_resets_instead_of_reporting() {
        let mut ia = InterArrival::default();
        let mut resets = 0;
        for i in 0..6u64 {
            let jump = if i >= 3 { 3_600_000_000 } else { 0 };
            let (d, reset) = ia.add(us(i * 20_000), us(1_000 + i * 20_000 + jump));
            if let Some(d) = d {
                assert!(d.variation_us().abs() < 1_000, "no giant delta: {d:?}");
            }
            resets += usize::from(reset);
        }
        assert_eq!(resets, 1);
    }
}
