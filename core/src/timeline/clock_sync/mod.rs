//! Client-side estimate of the server's clock, with an honest error bound.

use core::fmt;

use heapless::{Deque, Vec};

use super::mapping::{Mapping, abs, ceil, floor};
use crate::proto::{ClockId, ClockPing, ClockPong};
use crate::time::{Duration, Instant};

mod window;

pub(crate) use window::WINDOW;
use window::{Added, Sample, Window};
/// Pings awaiting an answer; older ones are forgotten (counted as lost).
const OUTSTANDING: usize = 8;
/// Events buffered between `poll_output` calls; the oldest is dropped past it.
const EVENTS: usize = 8;
/// Timestamps are whole microseconds on both sides: each of t1..t4 may be up to
/// 1 µs early, so every sample's interval is widened by this much.
const QUANTUM_US: f64 = 2.0;

/// How a [`ClockSync`] samples and corrects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockConfig {
    /// Time between pings once synchronised.
    pub interval: Duration,
    /// Time between pings while the estimate is unsettled: for the first
    /// `fast_samples` samples (at start, and again after a reset), and for as
    /// long as new samples keep moving the estimate by more than `settled`.
    pub fast_interval: Duration,
    /// How many samples are always taken at `fast_interval`.
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
    /// A correction larger than this is applied at once instead of slewed.
    pub step_threshold: Duration,
    /// Largest rate change used to slew a correction, in ppm (10,000 = 1%).
    pub max_slew_ppm: u32,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            interval: Duration::from_secs(1),
            fast_interval: Duration::from_millis(250),
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
    /// held the ping longer than the whole round trip).
    InvalidTimestamps,
}

impl fmt::Display for ClockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClockError::UnknownPing => "pong answers no outstanding ping",
            ClockError::EchoMismatch => "pong echoes a different send time",
            ClockError::InvalidTimestamps => "pong timestamps are impossible",
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
/// The local clock passed in must be monotonic (it may stop, as a suspended
/// device's does, but not run backwards): shells use `std::time::Instant`,
/// `performance.now()` or a hardware timer.
///
/// Fixed capacity, no heap: usable with `default-features = false`.
#[derive(Clone, Debug)]
pub struct ClockSync {
    config: ClockConfig,
    clock: Option<ClockId>,
    window: Window,
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
            window: Window::new(config.max_drift_ppm, config.wander_ppm),
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
        let hold = pong
            .t3
            .checked_duration_since(pong.t2)
            .ok_or(ClockError::InvalidTimestamps)?;
        if hold > rtt {
            return Err(ClockError::InvalidTimestamps);
        }
        self.outstanding.remove(pos);

        let restarted = self.clock.is_some_and(|c| c != pong.clock);
        if restarted {
            self.window.clear();
            self.accepted = 0;
            self.hold = None;
            self.emit(ClockEvent::ServerRestarted { clock: pong.clock });
        }
        self.clock = Some(pong.clock);

        let rtt_us = rtt.as_micros();
        let sample = Sample {
            at: t1 + Duration::from_micros(rtt_us / 2),
            lo: pong.t3.signed_micros_since(now),
            hi: pong.t2.signed_micros_since(t1),
            slack: QUANTUM_US + f64::from(self.config.max_drift_ppm) * 1e-6 * rtt_us as f64,
        };
        self.accepted = match self.window.add(sample, now) {
            Added::Agreed => self.accepted.saturating_add(1),
            Added::Contradicted => 1,
        };
        self.retarget(now, restarted);
        Ok(())
    }

    /// The server's time at local instant `now`, or `None` before the first sample.
    pub fn estimate(&self, now: Instant) -> Option<Estimate> {
        let mapping = self.mapping.as_ref()?;
        let now = now.max(self.last_now);
        let presented = now.as_micros() as f64 + mapping.offset_at(now);
        let mut server = Instant::from_micros(floor(presented).max(0.0) as u64);
        if let Some((_, held)) = self.hold {
            server = server.max(held);
        }
        let (lo, hi) = self.window.offset_range(now)?;
        let local = now.as_micros() as f64;
        let s = server.as_micros() as f64;
        let bound = (s - (local + lo)).max((local + hi) - s);
        Some(Estimate {
            server_time: server,
            error_bound: Duration::from_micros(ceil(bound).max(0.0) as u64 + 1),
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
        mapping.local_time_of(server_time.as_micros() as f64)
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
        if self.accepted < u32::from(self.config.fast_samples) || !settled {
            self.config.fast_interval
        } else {
            self.config.interval
        }
    }

    /// Points the presented clock at the window's estimate, slewing toward
    /// it, or stepping when the gap is too large to slew.
    fn retarget(&mut self, now: Instant, restarted: bool) {
        let Some((target, rate)) = self.window.target(now) else {
            return;
        };
        let slew = f64::from(self.config.max_slew_ppm) * 1e-6;
        let fresh = Mapping {
            anchor: now,
            offset: target,
            rate,
            gap: 0.0,
            slew,
        };
        let Some(current) = self.mapping else {
            self.mapping = Some(fresh);
            return;
        };
        let presented = current.offset_at(now);
        let gap = target - presented;
        // How far this sample moved the estimate. Most samples on a jittery
        // path move it not at all and a few move it a lot, so the measure is
        // the largest recent move, decaying by an eighth per sample.
        let moved = abs(target - (presented + current.gap_left(now)));
        self.unsettled = if self.unsettled == f64::MAX {
            moved
        } else {
            moved.max(self.unsettled * 7.0 / 8.0)
        };
        if restarted || abs(gap) > self.config.step_threshold.as_micros() as f64 {
            if gap < 0.0 && !restarted {
                if let Some(e) = self.estimate(now) {
                    let held = self
                        .hold
                        .map_or(e.server_time, |(_, h)| h.max(e.server_time));
                    self.hold = Some((now, held));
                }
            }
            self.unsettled = f64::MAX;
            self.mapping = Some(fresh);
            self.emit(ClockEvent::Stepped { by_us: gap as i64 });
        } else {
            self.mapping = Some(Mapping {
                offset: presented,
                gap,
                ..fresh
            });
        }
    }
}

#[cfg(test)]
mod tests;
