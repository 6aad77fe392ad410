//! A per-connection token bucket for inbound frames (floods of any kind,
//! before they cost the hub anything).

use std::time::Instant;

/// `burst` frames at once, refilled at `per_sec`.
#[derive(Debug)]
pub struct FrameBudget {
    per_sec: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl FrameBudget {
    /// A full bucket.
    pub fn new(per_sec: u32, burst: u32, now: Instant) -> Self {
        FrameBudget {
            per_sec: f64::from(per_sec),
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            last: now,
        }
    }

    /// Takes one frame's token; `false` if the connection is over its rate.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let t0 = Instant::now();
        let mut b = FrameBudget::new(10, 5, t0);
        assert!((0..5).all(|_| b.take(t0)));
        assert!(!b.take(t0));
        // 100 ms at 10/s refills one frame.
        assert!(b.take(t0 + Duration::from_millis(100)));
        assert!(!b.take(t0 + Duration::from_millis(100)));
        // A long quiet spell refills only up to the burst.
        let later = t0 + Duration::from_secs(60);
        assert!((0..5).all(|_| b.take(later)));
        assert!(!b.take(later));
    }
}
