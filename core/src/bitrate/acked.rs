//! The rate at which the receiver is getting our packets.
//!
//! Bytes are binned by arrival time on the receiver's clock, so the rate is
//! what left the bottleneck, not what was sent: while a queue stands, it is
//! the bottleneck's capacity. A short window follows a capacity drop within a
//! few hundred milliseconds, which GCC's longer Bayesian window does not.

use heapless::Deque;

use super::rate::Bitrate;
use crate::time::Instant;

/// Width of an arrival bin, µs.
const BIN: u64 = 10_000;
/// Bins kept; the widest window that can be asked for.
const BINS: usize = 64;
/// Packets needed in the window before the rate means anything.
const MIN_PACKETS: u32 = 5;

#[derive(Clone, Copy, Debug)]
struct Bin {
    index: u64,
    bytes: u64,
    packets: u32,
}

/// Received bytes binned by arrival time.
#[derive(Clone, Debug, Default)]
pub(crate) struct AckedRate {
    bins: Deque<Bin, BINS>,
    last_arrival: Option<Instant>,
}

impl AckedRate {
    /// Forgets everything (the receiver's clock jumped).
    pub fn reset(&mut self) {
        *self = AckedRate::default();
    }

    /// `size` bytes arrived at `arrival` (receiver clock).
    pub fn add(&mut self, arrival: Instant, size: u32) {
        let index = arrival.as_micros() / BIN;
        let newest = self.bins.back().map(|b| b.index);
        match newest {
            Some(n) if index <= n => {
                // Reordered across bins: credit the bin it belongs to if kept.
                if let Some(bin) = self.bins.iter_mut().rev().find(|b| b.index == index) {
                    bin.bytes += u64::from(size);
                    bin.packets += 1;
                }
            }
            _ => {
                if newest.is_some_and(|n| index - n > BINS as u64) {
                    self.bins.clear();
                }
                if self.bins.is_full() {
                    self.bins.pop_front();
                }
                // Cannot fail: a slot was freed above if the deque was full.
                let _ = self.bins.push_back(Bin {
                    index,
                    bytes: u64::from(size),
                    packets: 1,
                });
                self.last_arrival = Some(arrival);
            }
        }
        if self.last_arrival.is_none_or(|l| arrival > l) {
            self.last_arrival = Some(arrival);
        }
    }

    /// The delivery rate over the last `window_us` of arrivals (at most
    /// `BINS × BIN`), or `None` while there are too few packets.
    pub fn rate(&self, window_us: u64) -> Option<Bitrate> {
        let last = self.last_arrival?;
        let newest = self.bins.back()?.index;
        let bins = (window_us / BIN).clamp(1, BINS as u64);
        let oldest = newest.saturating_sub(bins - 1);
        let (mut bytes, mut packets, mut first) = (0u64, 0u32, newest);
        for b in self.bins.iter().filter(|b| b.index >= oldest) {
            bytes += b.bytes;
            packets += b.packets;
            first = first.min(b.index);
        }
        if packets < MIN_PACKETS {
            return None;
        }
        let span = last.as_micros().saturating_sub(first * BIN).max(BIN);
        Bitrate::from_bytes_over(bytes, span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_arrival_rate_and_follows_a_drop() {
        let mut a = AckedRate::default();
        assert_eq!(a.rate(300_000), None);
        // 1 Mbit/s: 1250-byte packets every 10 ms, for 1 s...
        let mut t = 0u64;
        for _ in 0..100 {
            a.add(Instant::from_micros(t), 1_250);
            t += 10_000;
        }
        let r = a.rate(300_000).unwrap().bps();
        assert!((950_000..=1_050_000).contains(&r), "{r}");
        // ...then 250 kbit/s for 300 ms.
        for _ in 0..8 {
            a.add(Instant::from_micros(t), 1_250);
            t += 40_000;
        }
        let r = a.rate(300_000).unwrap().bps();
        assert!(r < 400_000, "{r}");
    }

    #[test]
    fn a_clock_leap_starts_over() {
        let mut a = AckedRate::default();
        for i in 0..10u64 {
            a.add(Instant::from_micros(i * 10_000), 1_000);
        }
        a.add(Instant::from_micros(u64::MAX), 1_000);
        assert_eq!(
            a.rate(300_000),
            None,
            "one packet after the leap is not a rate"
        );
    }
}
