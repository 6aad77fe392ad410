//! Digesting the server's answer to a ping: what is refused (unknown,
//! forged, impossible or from a retired clock) and, for what is accepted,
//! the causal bounds on the offset that become a sample of the window.

use core::fmt;

use super::window::{Added, Sample};
use super::{ClockEvent, ClockSync};
use crate::proto::ClockPong;
use crate::time::{Duration, Instant};

/// Timestamps are whole microseconds on both sides: each of t1..t4 may be up to
/// 1 µs early, so every sample's interval is widened by this much.
const QUANTUM_US: f64 = 2.0;

/// Why a pong was refused. A refused pong changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClockError {
    /// No outstanding ping has this sequence number (duplicate, expired or forged).
    UnknownPing,
    /// The echoed `t1` differs from what was sent.
    EchoMismatch,
    /// The server's timestamps are impossible (`t3 < t2`, or it claims to have
    /// held the ping longer than the whole round trip), or so far from the
    /// local clock (over 2^63 µs) that the offset cannot be represented.
    InvalidTimestamps,
    /// The pong was read from a server clock that has since been replaced
    /// (an answer from before a restart, delayed past the first after it).
    RetiredClock,
}

impl fmt::Display for ClockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClockError::UnknownPing => "pong answers no outstanding ping",
            ClockError::EchoMismatch => "pong echoes a different send time",
            ClockError::InvalidTimestamps => "pong timestamps are impossible",
            ClockError::RetiredClock => "pong read from a server clock since replaced",
        })
    }
}

impl core::error::Error for ClockError {}

impl ClockSync {
    /// Digests the server's answer to one of our pings, received at local `now`.
    pub fn handle_pong(&mut self, pong: &ClockPong, now: Instant) -> Result<(), ClockError> {
        let now = self.advance(now);
        let pos = self
            .outstanding
            .iter()
            .position(|&(seq, _)| seq == pong.seq)
            .ok_or(ClockError::UnknownPing)?;
        let t1 = self.outstanding[pos].1;
        if pong.t1 != t1 {
            return Err(ClockError::EchoMismatch);
        }
        let rtt = now.saturating_duration_since(t1);
        if rtt > self.config.ping_timeout {
            // Counted as lost: the next timeout forgets it. A sample this old
            // would say little, and bounding the round trip bounds every
            // quantity derived from it.
            return Err(ClockError::UnknownPing);
        }
        let hold = pong
            .t3
            .checked_duration_since(pong.t2)
            .ok_or(ClockError::InvalidTimestamps)?;
        if hold > rtt {
            return Err(ClockError::InvalidTimestamps);
        }
        // Offsets are kept in i64 µs (±292,000 years): clocks further apart
        // than that cannot be compared honestly.
        let offset = |server: Instant, local: Instant| {
            i64::try_from(i128::from(server.as_micros()) - i128::from(local.as_micros()))
                .map_err(|_| ClockError::InvalidTimestamps)
        };
        let (lo, hi) = (offset(pong.t3, now)?, offset(pong.t2, t1)?);
        if self.retired.iter().any(|&c| c == pong.clock) {
            return Err(ClockError::RetiredClock);
        }
        self.outstanding.remove(pos);

        let restarted = self.clock.is_some_and(|c| c != pong.clock);
        if restarted {
            if let Some(old) = self.clock {
                if self.retired.is_full() {
                    self.retired.pop_front();
                }
                // Just made room above; cannot fail.
                let _ = self.retired.push_back(old);
            }
            self.window.clear();
            self.accepted = 0;
            self.hold = None;
            self.emit(ClockEvent::ServerRestarted { clock: pong.clock });
        }
        self.clock = Some(pong.clock);
        if self.provisional {
            self.window.clear();
            self.accepted = 0;
            self.provisional = false;
        }

        let rtt_us = rtt.as_micros();
        let sample = Sample {
            at: t1 + Duration::from_micros(rtt_us / 2),
            lo,
            hi,
            slack: QUANTUM_US + f64::from(self.config.max_drift_ppm) * 1e-6 * rtt_us as f64,
        };
        self.accepted = match self.window.add(sample, now) {
            Added::Agreed => self.accepted.saturating_add(1),
            Added::Contradicted => {
                // A clock stepped between the last agreeing sample and this
                // one, maybe during this very exchange. Pings already out may
                // straddle the step too; only a ping sent from now on is sure
                // to be clean.
                self.provisional = true;
                self.outstanding.clear();
                1
            }
        };
        self.retarget(now, restarted);
        Ok(())
    }
}
