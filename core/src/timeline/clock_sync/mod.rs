//! Client-side estimate of the server's clock, with an honest error bound.

use core::fmt;

use heapless::{Deque, Vec};

use super::mapping::{Mapping, abs, ceil, floor};
use crate::proto::{ClockId, ClockPing, ClockPong};
use crate::time::{Duration, Instant};

mod hull;
mod window;

pub(crate) use window::WINDOW;
use window::{Added, Sample, Window};
/// Pings awaiting an answer; older ones are forgotten (counted as lost).
const OUTSTANDING: usize = 8;
/// Events buffered between `poll_output` calls; the oldest is dropped past it.
const EVENTS: usize = 8;
/// Replaced server clocks remembered, to refuse their late answers.
const RETIRED: usize = 4;
/// Timestamps are whole microseconds on both sides: each of t1..t4 may be up to
/// 1 µs early, so every sample's interval is widened by this much.
const QUANTUM_US: f64 = 2.0;
/// A path whose typical round trip queues this much longer than its quickest
/// (µs) leaves few clean samples: such a path is sampled at the fast interval.
const QUEUEING_FAST: f64 = 5_000.0;

/// How a [`ClockSync`] samples and corrects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockConfig {
    /// Time between pings once synchronised.
    pub interval: Duration,
    /// Time between pings while the estimate is unsettled: for the first
    /// `fast_samples` samples (at start, and again after a reset), and for as
    /// long as new samples keep moving the estimate by more than `settled`.
    pub fast_interval: Duration,
    /// How many samples are always taken at `fast_interval`. Until then the
    /// estimate is being acquired, and corrections apply at once.
    pub fast_samples: u8,
    /// The estimate counts as settled once new samples move it by less than
    /// this on average; a jittery path keeps sampling fast until then.
    pub settled: Duration,
    /// A ping not answered within this long is considered lost.
    pub ping_timeout: Duration,
    /// Largest relative drift between the two clocks that the bound allows
    /// for, in parts per million. Quartz is within ±100 ppm; the default leaves room.
    pub max_drift_ppm: u32,
    /// How much the drift itself may wander, in ppm per second of sample age.
    pub wander_ppm: u32,
    /// Once acquired, a correction larger than this is applied at once
    /// instead of slewed.
    pub step_threshold: Duration,
    /// Largest rate change used to slew a correction, in ppm (10,000 = 1%).
    pub max_slew_ppm: u32,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            interval: Duration::from_secs(1),
            fast_interval: Duration::from_millis(125),
            fast_samples: 16,
            settled: Duration::from_micros(500),
            ping_timeout: Duration::from_secs(5),
            max_drift_ppm: 500,
            wander_ppm: 1,
            step_threshold: Duration::from_millis(200),
            max_slew_ppm: 10_000,
        }
    }
}

/// The shared time at one local instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Estimate {
    /// Best estimate of the server's clock.
    pub server_time: Instant,
    /// The server's clock is within `server_time ± error_bound`, given only
    /// causality and the configured maximum drift: no symmetry assumption.
    pub error_bound: Duration,
}

/// What a [`ClockSync`] asks of its shell, or tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClockEvent {
    /// Send this ping to the server.
    Ping(ClockPing),
    /// The presented clock jumped by this many microseconds instead of slewing
    /// (first sync excepted). A negative step holds shared time still until
    /// it catches up; it never runs backwards.
    Stepped {
        /// Size of the jump, µs.
        by_us: i64,
    },
    /// The server's clock changed identity (the server restarted); earlier
    /// samples were discarded.
    ServerRestarted {
        /// The new clock.
        clock: ClockId,
    },
}

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

/// Client side of clock synchronisation: a sans-IO machine that sends pings,
/// digests pongs and presents the server's clock as a smooth, monotonic
/// function of local time with an honest error bound.
///
/// Every sample bounds the offset by causality alone; the window of samples is
/// intersected under a linear drift model (see the `region` module), so the
/// bound stays true for any path asymmetry. The estimate uses the quickest
/// forward and the quickest return trip independently and learns the drift
/// from the queue-free envelopes of both. Corrections are slewed at
/// `max_slew_ppm`; larger ones step. Duplicated, reordered, forged or late
/// pongs are refused with a [`ClockError`].
///
/// The local clock passed in must be monotonic: shells use
/// `std::time::Instant`, `performance.now()` or a hardware timer. Such a clock
/// stops while the device sleeps; the shell reports a sleep (or any other
/// jump it learns of) with [`ClockSync::handle_discontinuity`]. A jump of
/// the server's clock, or a long unreported one of ours, shows up as samples
/// that contradict each other and is recovered from; a short unreported one
/// can bend the bound by up to its own size until the window turns over.
///
/// Fixed capacity, no heap: usable with `default-features = false`.
#[derive(Clone, Debug)]
pub struct ClockSync {
    config: ClockConfig,
    clock: Option<ClockId>,
    retired: Deque<ClockId, RETIRED>,
    window: Window,
    /// The window holds only the sample that revealed a clock step, which may
    /// itself have been taken across the step: the next sample replaces it.
    provisional: bool,
    accepted: u32,
    /// Running mean of how far each new sample moved the estimate, µs.
    unsettled: f64,
    mapping: Option<Mapping>,
    /// After a backward step, shared time holds at this value until caught up:
    /// (local instant of the step, shared time then).
    hold: Option<(Instant, Instant)>,
    outstanding: Vec<(u32, Instant), OUTSTANDING>,
    next_seq: u32,
    next_ping: Instant,
    events: Deque<ClockEvent, EVENTS>,
    last_now: Instant,
}

impl ClockSync {
    /// A machine that has not yet synchronised; it wants its first ping at `now`.
    pub fn new(config: ClockConfig, now: Instant) -> Self {
        ClockSync {
            config,
            clock: None,
            retired: Deque::new(),
            window: Window::new(config.max_drift_ppm, config.wander_ppm),
            provisional: false,
            accepted: 0,
            unsettled: f64::MAX,
            mapping: None,
            hold: None,
            outstanding: Vec::new(),
            next_seq: 0,
            next_ping: now,
            events: Deque::new(),
            last_now: now,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClockConfig {
        &self.config
    }

    /// Samples accepted since the server's clock was last (re)learned.
    pub fn samples(&self) -> u32 {
        self.accepted
    }

    /// The server clock the estimate refers to, once known.
    pub fn server_clock(&self) -> Option<ClockId> {
        self.clock
    }

    /// The next thing to do: a ping to send or an event to report.
    pub fn poll_output(&mut self) -> Option<ClockEvent> {
        self.events.pop_front()
    }

    /// When `handle_timeout` is next needed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        Some(self.next_ping)
    }

    /// Sends a ping when one is due and forgets pings that went unanswered.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        let timeout = self.config.ping_timeout;
        self.outstanding.retain(|&(_, t1)| now < t1 + timeout);
        if now < self.next_ping {
            return;
        }
        if self.outstanding.is_full() {
            self.outstanding.remove(0);
        }
        let ping = ClockPing {
            seq: self.next_seq,
            t1: now,
        };
        self.next_seq = self.next_seq.wrapping_add(1);
        // Just made room above; cannot fail.
        let _ = self.outstanding.push((ping.seq, now));
        self.emit(ClockEvent::Ping(ping));
        self.next_ping = now + self.pace();
    }

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

    /// The local clock jumped, or stood still while time went on (the device
    /// slept, the process was frozen): nothing measured before compares with
    /// what comes after. Samples and pings in flight are dropped, a ping is
    /// due at once, and until its answer the estimate carries on unchanged
    /// with an unbounded error.
    pub fn handle_discontinuity(&mut self, now: Instant) {
        let now = self.advance(now);
        self.window.clear();
        self.accepted = 0;
        self.provisional = false;
        self.unsettled = f64::MAX;
        self.outstanding.clear();
        self.next_ping = now;
    }

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

    fn advance(&mut self, now: Instant) -> Instant {
        self.last_now = self.last_now.max(now);
        self.last_now
    }

    fn emit(&mut self, event: ClockEvent) {
        if self.events.is_full() {
            self.events.pop_front();
        }
        // Just made room above; cannot fail.
        let _ = self.events.push_back(event);
    }

    /// Time to the next ping: fast until the estimate has settled.
    fn pace(&self) -> Duration {
        let settled = self.unsettled <= self.config.settled.as_micros() as f64;
        let jittery = self.window.queueing() > QUEUEING_FAST;
        if self.accepted < u32::from(self.config.fast_samples) || !settled || jittery {
            self.config.fast_interval
        } else {
            self.config.interval
        }
    }

    /// Points the presented clock at the window's estimate, slewing toward
    /// it, or stepping when the gap is too large to slew.
    fn retarget(&mut self, now: Instant, restarted: bool) {
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

#[cfg(test)]
mod tests;
