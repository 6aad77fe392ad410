//! The local monotonic clock in the core's microseconds, and the shared
//! estimate of the server's clock.

use std::sync::{Arc, Mutex, MutexGuard};

use onbeat_core::Instant;
use onbeat_core::timeline::{ClockConfig, ClockSync, Estimate};

/// `std::time::Instant` as microseconds since the client started.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LocalClock {
    start: std::time::Instant,
}

impl LocalClock {
    pub(crate) fn new() -> LocalClock {
        LocalClock {
            start: std::time::Instant::now(),
        }
    }

    pub(crate) fn now(&self) -> Instant {
        self.instant(std::time::Instant::now())
    }

    pub(crate) fn instant(&self, at: std::time::Instant) -> Instant {
        let micros = at.saturating_duration_since(self.start).as_micros();
        Instant::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }

    pub(crate) fn to_std(self, at: Instant) -> std::time::Instant {
        self.start + std::time::Duration::from_micros(at.as_micros())
    }
}

/// The server clock estimate, shared between the driver (which feeds it
/// pongs) and the app (which reads it).
#[derive(Clone, Debug)]
pub(crate) struct SharedClock {
    local: LocalClock,
    sync: Arc<Mutex<ClockSync>>,
}

impl SharedClock {
    pub(crate) fn new(local: LocalClock, config: ClockConfig) -> SharedClock {
        SharedClock {
            local,
            sync: Arc::new(Mutex::new(ClockSync::new(config, local.now()))),
        }
    }

    pub(crate) fn local(&self) -> LocalClock {
        self.local
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, ClockSync> {
        // A panic while holding the lock leaves a ClockSync that is still
        // consistent (every method validates before it changes anything).
        self.sync.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The server's clock now, with its error bound; `None` until the first
    /// clock sample.
    pub(crate) fn estimate(&self) -> Option<Estimate> {
        self.lock().estimate(self.local.now())
    }

    /// The local instant at which the server's clock reads `server_time`.
    pub(crate) fn local_time_of(&self, server_time: Instant) -> Option<std::time::Instant> {
        let local = self.lock().local_time_of(server_time)?;
        Some(self.local.to_std(local))
    }
}
