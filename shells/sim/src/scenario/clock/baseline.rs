//! Textbook estimators fed the same samples as `ClockSync`, for comparison.
//!
//! Each sample is the four timestamps of one exchange: client send `t1`,
//! server receive `t2`, server send `t3`, client receive `t4`. Its offset is
//! `θ = ((t2 − t1) + (t3 − t4)) / 2` and its delay `δ = (t4 − t1) − (t3 − t2)`.
//! Neither baseline models drift or gives an error bound.

use onbeat_core::Instant;
use onbeat_core::proto::ClockId;

/// How many recent samples the NTP-style filter looks at.
pub const NTP_WINDOW: usize = 8;

#[derive(Clone, Copy, Debug)]
struct Sample {
    theta: i64,
    delay: i64,
}

/// Cristian's algorithm (offset of the last sample) and NTP's clock filter
/// (offset of the minimum-delay sample among the last [`NTP_WINDOW`]).
#[derive(Clone, Debug, Default)]
pub struct Baselines {
    clock: Option<ClockId>,
    recent: Vec<Sample>,
}

impl Baselines {
    /// Adds one exchange read from server clock `clock`; a new clock
    /// discards the old samples.
    pub fn add(&mut self, clock: ClockId, t1: Instant, t2: Instant, t3: Instant, t4: Instant) {
        if self.clock != Some(clock) {
            self.clock = Some(clock);
            self.recent.clear();
        }
        let theta = (t2.signed_micros_since(t1) + t3.signed_micros_since(t4)) / 2;
        let delay = t4.signed_micros_since(t1) - t3.signed_micros_since(t2);
        if self.recent.len() == NTP_WINDOW {
            self.recent.remove(0);
        }
        self.recent.push(Sample { theta, delay });
    }

    /// The clock the samples were read from.
    pub fn clock(&self) -> Option<ClockId> {
        self.clock
    }

    /// Cristian's estimate of server time at local `now`.
    pub fn cristian(&self, now: Instant) -> Option<Instant> {
        let last = self.recent.last()?;
        Some(now.saturating_add_signed(last.theta))
    }

    /// The NTP clock filter's estimate of server time at local `now`.
    pub fn ntp_filter(&self, now: Instant) -> Option<Instant> {
        // Ties go to the newer sample.
        let best = self.recent.iter().rev().min_by_key(|s| s.delay)?;
        Some(now.saturating_add_signed(best.theta))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(us: u64) -> Instant {
        Instant::from_micros(us)
    }

    #[test]
    fn offsets_follow_the_textbook_formulas() {
        let mut b = Baselines::default();
        let c = ClockId(1);
        // Server is 1000 µs ahead; 40 µs each way, symmetric.
        b.add(c, at(100), at(1_140), at(1_150), at(190));
        // Slow return path: 40 out, 440 back; θ is off by 200.
        b.add(c, at(1_000), at(2_040), at(2_050), at(1_490));
        assert_eq!(b.cristian(at(5_000)), Some(at(5_800)));
        assert_eq!(b.ntp_filter(at(5_000)), Some(at(6_000)));
    }

    #[test]
    fn window_and_restart_forget_old_samples() {
        let mut b = Baselines::default();
        b.add(ClockId(1), at(0), at(500), at(500), at(10));
        for i in 1..=NTP_WINDOW as u64 {
            b.add(
                ClockId(1),
                at(i * 1_000),
                at(i * 1_000 + 50),
                at(i * 1_000 + 50),
                at(i * 1_000 + 100),
            );
        }
        // The fast sample with θ = 495 fell out of the window.
        assert_eq!(b.ntp_filter(at(0)), Some(at(0)));
        b.add(ClockId(2), at(0), at(7_000), at(7_000), at(0));
        assert_eq!(b.clock(), Some(ClockId(2)));
        assert_eq!(b.ntp_filter(at(0)), Some(at(7_000)));
    }
}
