//! Client-side estimate of the server's clock, with an honest error bound.

use core::fmt;

use heapless::{Deque, Vec};

use super::mapping::{Mapping, abs, ceil, floor};
use super::region::{Region, Strip};
use crate::proto::{ClockId, ClockPing, ClockPong};
use crate::time::{Duration, Instant};

/// Samples kept in the window.
pub(crate) const WINDOW: usize = 32;
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
    /// Time between pings until `fast_samples` samples have been taken (at
    /// start, and again after a reset).
    pub fast_interval: Duration,
    /// How many samples are taken at `fast_interval`.
    pub fast_samples: u8,
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
            fast_samples: 8,
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

/// One exchange: the offset lay in `[lo, hi]` µs around local instant `at`.
#[derive(Clone, Copy, Debug)]
struct Sample {
    at: Instant,
    lo: i64,
    hi: i64,
    /// Extra width for drift during the exchange and timestamp rounding, µs.
    slack: f64,
}

/// Client side of clock synchronisation: a sans-IO machine that sends pings,
/// digests pongs and presents the server's clock as a smooth, monotonic
/// function of local time with an honest error bound.
///
/// Every sample bounds the offset by causality alone; the window of samples is
/// intersected under a linear drift model (see the `region` module), so the
/// estimate uses the best forward and the best return path independently and
/// learns the drift, while the bound stays true for any path asymmetry.
/// Corrections are slewed at `max_slew_ppm`; larger ones step. Duplicated,
/// reordered, forged or late pongs are refused with a [`ClockError`].
///
/// Fixed capacity, no heap: usable with `default-features = false`.
#[derive(Clone, Debug)]
pub struct ClockSync {
    config: ClockConfig,
    clock: Option<ClockId>,
    /// Oldest first.
    samples: Vec<Sample, WINDOW>,
    accepted: u32,
    region: Region,
    /// Local instant that x = 0 refers to in `region`.
    reference: Instant,
    /// Offset (µs) that the region's offsets are relative to.
    base: i64,
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
            samples: Vec::new(),
            accepted: 0,
            region: Region::default(),
            reference: now,
            base: 0,
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
        let interval = if self.accepted < u32::from(self.config.fast_samples) {
            self.config.fast_interval
        } else {
            self.config.interval
        };
        self.next_ping = now + interval;
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
            self.samples.clear();
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
            slack: QUANTUM_US + self.max_drift() * rtt_us as f64,
        };
        if self.samples.is_full() {
            self.samples.remove(0);
        }
        // Just made room above; cannot fail.
        let _ = self.samples.push(sample);
        self.accepted = self.accepted.saturating_add(1);
        self.rebuild_region();
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
        let (lo, hi) = self.offset_range(now)?;
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

    fn max_drift(&self) -> f64 {
        f64::from(self.config.max_drift_ppm) * 1e-6
    }

    fn wander(&self) -> f64 {
        f64::from(self.config.wander_ppm)
    }

    /// Intersects the window newest to oldest. When an older sample
    /// contradicts the newer ones, one of the clocks stepped: it and everything
    /// before it describe a clock that no longer exists, and are dropped.
    fn rebuild_region(&mut self) {
        // The window is never empty here: a sample was just pushed.
        let newest = self.samples[self.samples.len() - 1];
        self.reference = newest.at;
        self.base = newest.lo / 2 + newest.hi / 2;
        let mut region = Region::new(self.strip(&newest), f64::from(self.config.max_drift_ppm));
        let mut keep_from = 0;
        for i in (0..self.samples.len() - 1).rev() {
            if !region.clip(self.strip(&self.samples[i])) {
                keep_from = i + 1;
                break;
            }
        }
        if keep_from > 0 {
            let kept = self.samples.len() - keep_from;
            let mut rest = Vec::new();
            for s in &self.samples[keep_from..] {
                let _ = rest.push(*s);
            }
            self.samples = rest;
            self.accepted = kept as u32;
        }
        self.region = region;
    }

    fn strip(&self, s: &Sample) -> Strip {
        let x = secs_between(s.at, self.reference);
        let slack = s.slack + self.wander() * abs(x);
        Strip {
            x,
            lo: (s.lo - self.base) as f64 - slack,
            hi: (s.hi - self.base) as f64 + slack,
        }
    }

    /// Absolute offsets (µs) between which the true offset lies at `now`.
    fn offset_range(&self, now: Instant) -> Option<(f64, f64)> {
        let x = secs_between(now, self.reference);
        let (lo, hi) = self.region.range_at(x)?;
        let wander = self.wander() * abs(x);
        let base = self.base as f64;
        Some((base + lo - wander, base + hi + wander))
    }

    /// The best point estimate: the drift from a regression over the window
    /// that trusts short round trips most (kept within what the samples allow),
    /// and at that drift the middle of the offsets every sample allows. The
    /// middle of an intersection uses the quickest forward and the quickest
    /// return path independently, which no single sample can.
    ///
    /// Returns the absolute offset (µs) at local `now` and the drift (µs/µs).
    fn target(&self, now: Instant) -> Option<(f64, f64)> {
        let (rate_lo, rate_hi) = self.region.rate_range()?;
        let rate = self.regression_rate().clamp(rate_lo, rate_hi);
        let (mut a_lo, mut a_hi) = (f64::MIN, f64::MAX);
        for s in &self.samples {
            let strip = self.strip(s);
            a_lo = a_lo.max(strip.lo - rate * strip.x);
            a_hi = a_hi.min(strip.hi - rate * strip.x);
        }
        let x = secs_between(now, self.reference);
        let offset = if a_lo <= a_hi {
            self.base as f64 + (a_lo + a_hi) / 2.0 + rate * x
        } else {
            // Rounding at a vertex of the region; its range is as good a centre.
            let (lo, hi) = self.offset_range(now)?;
            (lo + hi) / 2.0
        };
        Some((offset, rate * 1e-6))
    }

    /// Weighted least-squares drift (µs/s) of the sample midpoints. A sample
    /// whose round trip exceeds the window's shortest by `e` µs weighs
    /// `1 / (e + 500)²`: queueing, not the path, is what makes midpoints wrong.
    fn regression_rate(&self) -> f64 {
        let min_half = self
            .samples
            .iter()
            .map(|s| (s.hi - s.lo) as f64 / 2.0)
            .fold(f64::MAX, f64::min);
        let (mut sw, mut sx, mut sy) = (0.0, 0.0, 0.0);
        let points = || {
            self.samples.iter().map(move |s| {
                let excess = (s.hi - s.lo) as f64 / 2.0 - min_half;
                let w = 1.0 / ((excess + 500.0) * (excess + 500.0));
                let x = secs_between(s.at, self.reference);
                let y = (s.lo - self.base) as f64 / 2.0 + (s.hi - self.base) as f64 / 2.0;
                (w, x, y)
            })
        };
        for (w, x, y) in points() {
            sw += w;
            sx += w * x;
            sy += w * y;
        }
        let (mx, my) = (sx / sw, sy / sw);
        let (mut sxx, mut sxy) = (0.0, 0.0);
        for (w, x, y) in points() {
            sxx += w * (x - mx) * (x - mx);
            sxy += w * (x - mx) * (y - my);
        }
        // Samples too close together say nothing about drift.
        if sxx * 1e12 < sw { 0.0 } else { sxy / sxx }
    }

    /// Points the presented clock at the target, slewing toward it, or
    /// stepping when the gap is too large to slew.
    fn retarget(&mut self, now: Instant, restarted: bool) {
        let Some((target, rate)) = self.target(now) else {
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
        if restarted || abs(gap) > self.config.step_threshold.as_micros() as f64 {
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
                offset: presented,
                gap,
                ..fresh
            });
        }
    }
}

fn secs_between(at: Instant, reference: Instant) -> f64 {
    at.signed_micros_since(reference) as f64 * 1e-6
}

#[cfg(test)]
mod tests;
