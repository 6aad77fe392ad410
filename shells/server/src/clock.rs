//! Server time: a monotonic clock read as microseconds since the Unix epoch
//! at boot.
//!
//! The hub, the timelines and clients all speak this time. Anchoring it at
//! the boot's wall-clock time makes it readable (≈ Unix µs) and makes every
//! run's numbers larger than the previous run's, so the boot time serves as
//! both the [`ClockId`] and the hub's topic epoch: a restart never reuses one.
//! After boot only the monotonic clock is read, so wall-clock steps cannot
//! move server time backwards.

use std::time::{Instant as StdInstant, SystemTime, UNIX_EPOCH};

use onbeat_core::proto::{ClockId, JSON_SAFE_MAX};
use onbeat_core::time::Instant;

/// The server's clock. Cheap to copy.
#[derive(Clone, Copy, Debug)]
pub struct ServerClock {
    boot: StdInstant,
    boot_micros: u64,
}

impl ServerClock {
    /// Starts the clock at the current wall-clock time.
    pub fn start() -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        ServerClock {
            boot: StdInstant::now(),
            // Kept below 2^53 so that browsers read every time exactly.
            boot_micros: wall & JSON_SAFE_MAX,
        }
    }

    /// The current server time.
    pub fn now(&self) -> Instant {
        let elapsed = self.boot.elapsed().as_micros() as u64;
        Instant::from_micros(self.boot_micros.saturating_add(elapsed))
    }

    /// This run's clock id (its boot time).
    pub fn id(&self) -> ClockId {
        ClockId(self.boot_micros)
    }

    /// The first topic epoch of this run (its boot time).
    pub fn epoch(&self) -> u64 {
        self.boot_micros
    }

    /// The server time of a Unix time in seconds (a token's expiry).
    pub fn at_unix_secs(&self, secs: u64) -> Instant {
        Instant::from_micros(secs.saturating_mul(1_000_000))
    }

    /// The current time in Unix seconds, by this clock.
    pub fn unix_secs(&self) -> u64 {
        self.now().as_micros() / 1_000_000
    }

    /// The monotonic instant at which server time reaches `at`.
    pub fn std_instant(&self, at: Instant) -> StdInstant {
        let micros = at.as_micros().saturating_sub(self.boot_micros);
        self.boot + std::time::Duration::from_micros(micros)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_starts_at_the_boot_and_never_goes_back() {
        let clock = ServerClock::start();
        let a = clock.now();
        let b = clock.now();
        assert!(a.as_micros() >= clock.epoch());
        assert!(b >= a);
        assert_eq!(clock.id(), ClockId(clock.epoch()));
        assert!(clock.std_instant(a) <= StdInstant::now());
    }
}
