//! Token buckets, in integer arithmetic so every platform agrees.

use super::config::RateConfig;
use crate::time::Instant;

/// Fixed-point scale: one token is this many units.
const UNIT: u64 = 1_000_000;

#[derive(Clone, Debug)]
pub(crate) struct Bucket {
    config: RateConfig,
    units: u64,
    at: Instant,
}

impl Bucket {
    pub(crate) fn new(config: RateConfig, now: Instant) -> Self {
        Bucket {
            config,
            units: u64::from(config.burst) * UNIT,
            at: now,
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_micros();
        self.at = self.at.max(now);
        // Micros × tokens-per-second is exactly units gained (UNIT = 1 s in µs).
        let gained = elapsed.saturating_mul(u64::from(self.config.per_sec));
        let cap = u64::from(self.config.burst) * UNIT;
        self.units = self.units.saturating_add(gained).min(cap);
        if self.units < UNIT {
            return false;
        }
        self.units -= UNIT;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills_at_the_rate() {
        let t0 = Instant::from_millis(1_000);
        let mut b = Bucket::new(
            RateConfig {
                per_sec: 10,
                burst: 3,
            },
            t0,
        );
        assert!(b.take(t0) && b.take(t0) && b.take(t0));
        assert!(!b.take(t0));
        assert!(!b.take(Instant::from_millis(1_099)));
        assert!(b.take(Instant::from_millis(1_100)));
        assert!(!b.take(Instant::from_millis(1_100)));
    }
}
