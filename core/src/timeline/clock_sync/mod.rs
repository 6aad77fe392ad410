//! Client-side estimate of the server's clock, with an honest error bound.
//!
//! Here, the machine itself and when it pings; what an answer becomes is in
//! `pong`, the window of samples and its bounds in `window` and `hull`, and
//! the clock presented from them in `presented`.

use heapless::{Deque, Vec};

use super::mapping::Mapping;
use crate::proto::{ClockId, ClockPing};
use crate::time::{Duration, Instant};

mod config;
mod hull;
mod pong;
mod presented;
mod window;

pub use config::ClockConfig;
pub use pong::ClockError;
pub use presented::Estimate;
pub(crate) use window::WINDOW;
use window::Window;

/// Pings awaiting an answer; older ones are forgotten (counted as lost).
const OUTSTANDING: usize = 8;
/// Events buffered between `poll_output` calls; the oldest is dropped past it.
const EVENTS: usize = 8;
/// Replaced server clocks remembered, to refuse their late answers.
const RETIRED: usize = 4;
/// A path whose typical round trip queues this much longer than its quickest
/// (µs) leaves few clean samples: such a path is sampled at the fast interval.
const QUEUEING_FAST: f64 = 5_000.0;

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
}

#[cfg(test)]
mod tests;
