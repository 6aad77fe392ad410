//! The world's clocks: true time, the client's drifting clock, the server
//! clocks' offsets, and what the machine has been told of local time.

use onbeat_core::proto::ClockId;
use onbeat_core::time::Instant;

use super::{TRUTHFUL_HORIZON, World};

impl World {
    /// The client's clock at true time `t`.
    fn local_at(&self, t: u64) -> Instant {
        let elapsed = t.saturating_sub(self.seg_true) as f64 * (1.0 + self.drift);
        Instant::from_micros(self.seg_local.saturating_add(elapsed as u64))
    }

    pub(super) fn local(&self) -> Instant {
        self.local_at(self.now)
    }

    /// The earliest true time at which the client's clock reads `local`.
    pub(super) fn true_at(&self, local: Instant) -> u64 {
        let ahead = local.as_micros().saturating_sub(self.seg_local) as f64;
        let t = (ahead / (1.0 + self.drift)).ceil() as u64;
        let t = self.seg_true.saturating_add(t);
        // Rounding may land a microsecond early.
        if self.local_at(t) < local {
            t.saturating_add(1)
        } else {
            t
        }
    }

    pub(super) fn server_offset(&self, clock: ClockId) -> Option<i64> {
        self.servers
            .iter()
            .rev()
            .find(|(id, _)| *id == clock)
            .map(|&(_, off)| off)
    }

    pub(super) fn server_at(t: u64, offset: i64) -> Instant {
        let v = i128::from(t) + i128::from(offset);
        Instant::from_micros(v.clamp(0, i128::from(u64::MAX)) as u64)
    }

    /// Moves true time on, keeping truthful worlds inside their horizon.
    pub(super) fn advance(&mut self, by: u64) {
        let mut to = self.now.saturating_add(by);
        if self.truthful {
            // Pongs may arrive past the horizon; time must not come back.
            to = to.min(TRUTHFUL_HORIZON.max(self.now));
        }
        self.now = to;
    }

    /// Records that the machine is being told of local instant `at`.
    pub(super) fn told(&mut self, at: Instant) -> Instant {
        self.last_now = self.last_now.max(at);
        at
    }
}
