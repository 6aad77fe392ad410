//! The presented clock: the server's time as a smooth, monotonic function
//! of local time with its error bound, and how a new estimate is taken up
//! (slewed, or stepped when too far off).

use super::super::mapping::{Mapping, abs, ceil, floor};
use super::{ClockEvent, ClockSync};
use crate::time::{Duration, Instant};

/// The shared time at one local instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Estimate {
    /// Best estimate of the server's clock.
    pub server_time: Instant,
    /// The server's clock is within `server_time ± error_bound`, given only
    /// causality and the configured maximum drift: no symmetry assumption.
    pub error_bound: Duration,
}

impl ClockSync {
    /// The server's time at local instant `now`, or `None` before the first
    /// sample. Right after a discontinuity the bound is [`Duration::MAX`].
    pub fn estimate(&self, now: Instant) -> Option<Estimate> {
        let mapping = self.mapping.as_ref()?;
        let now = now.max(self.last_now);
        let presented = mapping.server_at(now).clamp(0, i128::from(u64::MAX));
        // In range after the clamp.
        let mut server = Instant::from_micros(presented as u64);
        if let Some((_, held)) = self.hold {
            server = server.max(held);
        }
        let Some((base, lo, hi)) = self.window.offset_range(now) else {
            return Some(Estimate {
                server_time: server,
                error_bound: Duration::MAX,
            });
        };
        // The true server time lies in `now + base + [lo, hi]`; measure from
        // there in whole microseconds first, so no large number meets a float.
        let from_base =
            i128::from(server.as_micros()) - i128::from(now.as_micros()) - i128::from(base);
        let s = from_base as f64;
        let bound = (s - lo).max(hi - s);
        Some(Estimate {
            server_time: server,
            // Saturating float-to-int conversion: an absurd bound reads as MAX.
            error_bound: Duration::from_micros((ceil(bound).max(0.0) as u64).saturating_add(1)),
        })
    }

    /// The earliest local instant at which the estimate reads at least
    /// `server_time`, assuming no new sample arrives before then.
    pub fn local_time_of(&self, server_time: Instant) -> Option<Instant> {
        let mapping = self.mapping.as_ref()?;
        if let Some((at, held)) = self.hold {
            if server_time <= held {
                return Some(at);
            }
        }
        mapping.local_time_of(i128::from(server_time.as_micros()))
    }

    /// Points the presented clock at the window's estimate, slewing toward
    /// it, or stepping when the gap is too large to slew.
    pub(super) fn retarget(&mut self, now: Instant, restarted: bool) {
        let Some((base, centre, rate)) = self.window.target(now) else {
            return;
        };
        let slew = f64::from(self.config.max_slew_ppm) * 1e-6;
        let target = i128::from(now.as_micros()) + i128::from(base);
        let fresh = Mapping {
            anchor: now,
            origin: target + floor(centre) as i128,
            rate,
            gap: 0.0,
            slew,
        };
        let Some(current) = self.mapping else {
            self.mapping = Some(fresh);
            return;
        };
        let presented = current.server_at(now);
        // Where the estimate wants shared time to be, relative to where it is.
        let gap = (target - presented) as f64 + centre;
        // How far this sample moved the estimate. Most samples on a jittery
        // path move it not at all and a few move it a lot, so the measure is
        // the largest recent move, decaying by an eighth per sample.
        let moved = abs(gap - current.gap_left(now));
        self.unsettled = if self.unsettled == f64::MAX {
            moved
        } else {
            moved.max(self.unsettled * 7.0 / 8.0)
        };
        // While the first samples come in (at start, after a restart or a
        // step) the estimate is still being acquired and nobody is counting
        // on it yet: corrections apply at once, as chrony's `makestep` does.
        // Afterwards only a gap too large to slew is stepped.
        let acquiring = self.accepted <= u32::from(self.config.fast_samples);
        let jump = restarted || abs(gap) > self.config.step_threshold.as_micros() as f64;
        if jump {
            self.unsettled = f64::MAX;
        }
        if jump || acquiring {
            if gap < 0.0 && !restarted {
                if let Some(e) = self.estimate(now) {
                    let held = self
                        .hold
                        .map_or(e.server_time, |(_, h)| h.max(e.server_time));
                    self.hold = Some((now, held));
                }
            }
            self.mapping = Some(fresh);
            self.emit(ClockEvent::Stepped { by_us: gap as i64 });
        } else {
            self.mapping = Some(Mapping {
                origin: presented,
                gap,
                ..fresh
            });
        }
    }
}
