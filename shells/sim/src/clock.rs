//! A node's own clock as a function of the simulator's true time.
//!
//! `local = offset + (1 + drift_ppm·1e-6)·true + Σ steps applied so far`.
//! The drift is kept in parts per billion and the arithmetic in `i128`, so the
//! mapping is exact integer arithmetic and identical on every platform.

use onbeat_core::Instant;

const PPB: i128 = 1_000_000_000;

/// A step of a node's clock: at true time `at`, its local reading jumps by
/// `micros` (forwards if positive, backwards if negative).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockStep {
    /// True time of the step.
    pub at: Instant,
    /// Size of the jump in microseconds, either sign.
    pub micros: i64,
}

/// A node's local clock: a fixed offset, a constant rate error and steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeClock {
    offset_us: i64,
    drift_ppb: i64,
    /// Sorted by `at`.
    steps: Vec<ClockStep>,
}

impl NodeClock {
    /// A clock that reads `offset_us` at true time zero and gains `drift_ppm`
    /// microseconds per second of true time (negative: loses).
    pub fn new(offset_us: i64, drift_ppm: f64) -> Self {
        NodeClock {
            offset_us,
            drift_ppb: (drift_ppm * 1_000.0).round() as i64,
            steps: Vec::new(),
        }
    }

    /// The same clock with a step added.
    pub fn with_step(mut self, step: ClockStep) -> Self {
        let pos = self.steps.partition_point(|s| s.at <= step.at);
        self.steps.insert(pos, step);
        self
    }

    /// The clock's rate error in parts per million.
    pub fn drift_ppm(&self) -> f64 {
        self.drift_ppb as f64 / 1_000.0
    }

    /// The clock's steps, in true-time order.
    pub fn steps(&self) -> &[ClockStep] {
        &self.steps
    }

    /// The local reading at true time `t`. Readings before the epoch clamp to zero.
    pub fn local(&self, t: Instant) -> Instant {
        let stepped: i64 = self
            .steps
            .iter()
            .take_while(|s| s.at <= t)
            .map(|s| s.micros)
            .sum();
        clamp(self.linear(t) + stepped as i128)
    }

    /// The earliest true instant at or after `not_before` at which the local
    /// clock reads `local` or later; `None` if it never does.
    ///
    /// This is how a timer armed on local time is placed in true time. With a
    /// backwards step a local reading can occur twice; the first occurrence
    /// after `not_before` wins, as it would for a real timer.
    pub fn true_at(&self, local: Instant, not_before: Instant) -> Option<Instant> {
        let target = local.as_micros() as i128;
        let mut stepped: i128 = self
            .steps
            .iter()
            .take_while(|s| s.at <= not_before)
            .map(|s| s.micros as i128)
            .sum();
        let mut start = not_before;
        let later = self.steps.iter().filter(|s| s.at > not_before);
        for seg_end in later.map(Some).chain(core::iter::once(None)) {
            // Within a segment local is strictly increasing, so solve for the
            // first true microsecond whose reading reaches the target.
            if let Some(t) = self.solve(target - stepped, start)
                && seg_end.is_none_or(|s| t < s.at)
            {
                return Some(t);
            }
            match seg_end {
                Some(s) => {
                    stepped += s.micros as i128;
                    start = s.at;
                }
                None => return None,
            }
        }
        None
    }

    /// Exact `offset + true + ⌊true·drift⌋` before steps.
    fn linear(&self, t: Instant) -> i128 {
        // The same exact value in 64 bits whenever the product fits (any
        // run shorter than decades): a 128-bit division is a library call.
        if let Ok(micros) = i64::try_from(t.as_micros())
            && let Some(product) = micros.checked_mul(self.drift_ppb)
        {
            let drift = product.div_euclid(PPB as i64);
            return self.offset_us as i128 + micros as i128 + drift as i128;
        }
        let t = t.as_micros() as i128;
        self.offset_us as i128 + t + (t * self.drift_ppb as i128).div_euclid(PPB)
    }

    /// First true instant `≥ start` with `linear(t) ≥ target`.
    fn solve(&self, target: i128, start: Instant) -> Option<Instant> {
        if self.linear(start) >= target {
            return Some(start);
        }
        let rate = PPB + self.drift_ppb as i128;
        let guess = ((target - self.offset_us as i128) * PPB).div_euclid(rate);
        let mut t = guess.max(start.as_micros() as i128);
        // The floor in `linear` can leave the guess a microsecond or two short.
        while self.linear(Instant::from_micros(u64::try_from(t).ok()?)) < target {
            t += 1;
        }
        while t > start.as_micros() as i128
            && self.linear(Instant::from_micros((t - 1) as u64)) >= target
        {
            t -= 1;
        }
        Some(Instant::from_micros(u64::try_from(t).ok()?))
    }
}

fn clamp(v: i128) -> Instant {
    Instant::from_micros(v.clamp(0, u64::MAX as i128) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use onbeat_core::Duration;

    fn at(us: u64) -> Instant {
        Instant::from_micros(us)
    }

    #[test]
    fn drift_and_offset_apply() {
        let c = NodeClock::new(1_000, 100.0);
        assert_eq!(c.local(at(0)), at(1_000));
        // 100 ppm over 10 s is 1 ms.
        assert_eq!(c.local(at(10_000_000)), at(10_000_000 + 1_000 + 1_000));
        let slow = NodeClock::new(5_000_000, -50.0);
        assert_eq!(slow.local(at(20_000_000)), at(25_000_000 - 1_000));
    }

    #[test]
    fn round_trip_without_steps() {
        for (offset, ppm) in [
            (0, 0.0),
            (123_456, 99.9),
            (9_000_000_000, -100.0),
            (7, 0.001),
        ] {
            let c = NodeClock::new(offset, ppm);
            for t in [0u64, 1, 999, 1_000_000, 37_123_457, 3_600_000_000] {
                let l = c.local(at(t));
                let back = c.true_at(l, at(0)).unwrap();
                // A slow clock can read the same microsecond twice; the inverse
                // is the first of them.
                assert_eq!(c.local(back), l, "offset {offset} ppm {ppm} t {t}");
                assert!(back <= at(t) && at(t) - back <= Duration::from_micros(1));
            }
        }
    }

    #[test]
    fn forward_step_skips_local_readings() {
        let c = NodeClock::new(0, 0.0).with_step(ClockStep {
            at: at(1_000),
            micros: 500,
        });
        assert_eq!(c.local(at(999)), at(999));
        assert_eq!(c.local(at(1_000)), at(1_500));
        // Readings inside the skipped gap are first reached at the step.
        assert_eq!(c.true_at(at(1_200), at(0)), Some(at(1_000)));
        assert_eq!(c.true_at(at(1_600), at(0)), Some(at(1_100)));
    }

    #[test]
    fn backward_step_repeats_local_readings() {
        let c = NodeClock::new(0, 0.0).with_step(ClockStep {
            at: at(1_000),
            micros: -400,
        });
        assert_eq!(c.local(at(1_000)), at(600));
        assert_eq!(c.true_at(at(800), at(0)), Some(at(800)));
        // After the step the reading 800 comes round again, 200 µs later.
        assert_eq!(c.true_at(at(800), at(1_000)), Some(at(1_200)));
        assert_eq!(c.true_at(at(1_100), at(0)), Some(at(1_500)));
    }

    #[test]
    fn round_trip_with_steps_after_each_step() {
        let c = NodeClock::new(42, 37.5)
            .with_step(ClockStep {
                at: at(3_000_000),
                micros: -250_000,
            })
            .with_step(ClockStep {
                at: at(1_000_000),
                micros: 80_000,
            });
        assert_eq!(c.steps()[0].at, at(1_000_000));
        for t in (0..6_000_000u64).step_by(77_777) {
            let l = c.local(at(t));
            // Within one step segment local time is strictly increasing, so the
            // inverse from the segment's start is exact.
            let seg_start = c.steps().iter().map(|s| s.at).rfind(|&s| s <= at(t));
            assert_eq!(
                c.true_at(l, seg_start.unwrap_or(at(0))),
                Some(at(t)),
                "t {t}"
            );
        }
    }
}
