//! The presented clock: how local time is turned into shared (server) time.
//!
//! Estimates jump when a good sample arrives; the presented clock must not.
//! It follows the estimate with a rate change of at most `max_slew` (1% by
//! default), so that a countdown never visibly stutters and shared time never
//! runs backwards. Only a gap larger than the step threshold is closed at once.

use crate::time::Instant;

/// The presented clock as a function of local time.
///
/// From `anchor` on, shared time advances at `1 + rate` and additionally
/// closes `gap` at `slew`, until the gap is closed. Whole microseconds are
/// kept in integers (`origin`) and only the advance since the anchor in
/// floating point, so the clock is exact and monotonic whatever the two
/// clocks' epochs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Mapping {
    /// Local instant at which the mapping was last set.
    pub anchor: Instant,
    /// Shared time at `anchor`, µs.
    pub origin: i128,
    /// Drift of the offset, as a fraction (µs per µs).
    pub rate: f64,
    /// Correction still to apply, µs (signed).
    pub gap: f64,
    /// Maximum correction rate, as a fraction (µs per µs).
    pub slew: f64,
}

impl Mapping {
    /// Microseconds from `anchor` to `now`; instants before the anchor read as
    /// the anchor so that the mapping never runs backwards.
    fn elapsed(&self, now: Instant) -> f64 {
        now.saturating_duration_since(self.anchor).as_micros() as f64
    }

    /// Time at which the gap is closed, µs after the anchor.
    fn slew_end(&self) -> f64 {
        if self.slew > 0.0 {
            abs(self.gap) / self.slew
        } else {
            0.0
        }
    }

    /// Shared time elapsed from the anchor to local `now`, µs.
    fn advance(&self, now: Instant) -> f64 {
        let dt = self.elapsed(now);
        let corrected = if dt >= self.slew_end() {
            self.gap
        } else {
            signum(self.gap) * self.slew * dt
        };
        dt + self.rate * dt + corrected
    }

    /// Shared time at local `now`, µs. Monotonic in `now`: the advance grows
    /// at no less than `1 + rate − slew`, well above zero, and flooring keeps
    /// order.
    pub(crate) fn server_at(&self, now: Instant) -> i128 {
        self.origin + floor(self.advance(now)) as i128
    }

    /// The part of the correction not yet applied at `now`, µs.
    pub(crate) fn gap_left(&self, now: Instant) -> f64 {
        let dt = self.elapsed(now);
        if dt >= self.slew_end() {
            0.0
        } else {
            self.gap - signum(self.gap) * self.slew * dt
        }
    }

    /// The earliest local instant at which shared time reaches `server` (µs),
    /// or `None` if that is out of range.
    pub(crate) fn local_time_of(&self, server: i128) -> Option<Instant> {
        let d = (server - self.origin) as f64;
        let fast = 1.0 + self.rate + signum(self.gap) * self.slew;
        let end = self.slew_end();
        let dt = if d <= end * fast {
            d / fast
        } else {
            (d - self.gap) / (1.0 + self.rate)
        };
        // Saturating float-to-int: an absurd `dt` lands out of range below.
        let guess = i128::from(self.anchor.as_micros()) + ceil(dt) as i128;
        let guess = guess.clamp(0, i128::from(u64::MAX)) as u64;
        if server <= self.origin {
            // Before the anchor the mapping does not hold; extrapolate.
            return Some(Instant::from_micros(guess));
        }
        // The float solution is close; `server_at` is exact and monotonic, so
        // bracket the answer around it and bisect to the earliest microsecond.
        let reaches = |t: u64| self.server_at(Instant::from_micros(t)) >= server;
        let mut width = 16u64;
        let (mut lo, mut hi) = loop {
            let (lo, hi) = (guess.saturating_sub(width), guess.saturating_add(width));
            let below = lo == 0 || !reaches(lo);
            if below && reaches(hi) {
                break (lo, hi);
            }
            if lo == 0 && hi == u64::MAX {
                return None;
            }
            width = width.saturating_mul(16);
        };
        if lo == 0 && reaches(0) {
            hi = 0;
        }
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            if reaches(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(Instant::from_micros(hi))
    }
}

pub(crate) fn abs(v: f64) -> f64 {
    if v < 0.0 { -v } else { v }
}

fn signum(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Every `f64` this large is a whole number already.
const WHOLE: f64 = 4_503_599_627_370_496.0; // 2^52

/// `f64::floor`, which `core` lacks.
pub(crate) fn floor(v: f64) -> f64 {
    if v.is_nan() || abs(v) >= WHOLE {
        return v;
    }
    let t = v as i64 as f64;
    if t > v { t - 1.0 } else { t }
}

/// `f64::ceil`, which `core` lacks.
pub(crate) fn ceil(v: f64) -> f64 {
    if v.is_nan() || abs(v) >= WHOLE {
        return v;
    }
    let t = v as i64 as f64;
    if t < v { t + 1.0 } else { t }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(gap: f64) -> Mapping {
        Mapping {
            anchor: Instant::from_micros(1_000_000),
            origin: 1_000_500,
            rate: 50e-6,
            gap,
            slew: 0.01,
        }
    }

    #[test]
    fn slews_at_the_configured_rate_then_follows_the_drift() {
        let m = mapping(-2_000.0);
        // 100 ms in: 1 ms of the 2 ms gap closed, plus 5 µs of drift.
        let at = m.server_at(Instant::from_micros(1_100_000));
        assert_eq!(at, 1_000_500 + 100_000 + 5 - 1_000);
        // Gap closes after 200 ms; afterwards only drift.
        let at = m.server_at(Instant::from_micros(2_000_000));
        assert_eq!(at, 1_000_500 + 1_000_000 + 50 - 2_000);
    }

    #[test]
    fn inverse_matches_forward() {
        for gap in [-3_000.0, 0.0, 2_500.0] {
            let m = mapping(gap);
            for t in [1_000_000u64, 1_050_000, 1_300_000, 9_000_000] {
                let server = m.server_at(Instant::from_micros(t));
                let back = m.local_time_of(server).unwrap();
                assert!(m.server_at(back) >= server, "gap {gap}: {t}");
                assert!(
                    back.as_micros().abs_diff(t) <= 1,
                    "gap {gap}: {t} -> {back:?}"
                );
            }
        }
    }

    #[test]
    fn monotonic_whatever_the_epochs() {
        // Shared and local epochs 2^62 µs apart: nothing is lost to rounding.
        let m = Mapping {
            anchor: Instant::from_micros(1 << 62),
            origin: 3,
            rate: -400e-6,
            gap: -150_000.0,
            slew: 0.01,
        };
        let mut last = i128::MIN;
        for t in 0..100_000u64 {
            let now = Instant::from_micros((1 << 62) + t * 7);
            let s = m.server_at(now);
            assert!(s >= last, "ran backwards at {t}");
            last = s;
        }
    }

    #[test]
    fn rounding_helpers() {
        assert_eq!(floor(-1.5), -2.0);
        assert_eq!(floor(1.5), 1.0);
        assert_eq!(ceil(-1.5), -1.0);
        assert_eq!(ceil(1.5), 2.0);
        assert_eq!(ceil(2.0), 2.0);
        assert_eq!(floor(1e19), 1e19);
        assert_eq!(ceil(-1e19), -1e19);
    }
}
