//! The machine against a scripted path: [`Bench`] runs a client and a
//! server in true time and checks, at every step, that shared time never
//! runs backwards and that the bound holds.

use super::*;
use crate::proto::ClockPong;

mod accuracy;
mod discontinuities;
mod pacing;
mod refusals;

/// A client and a server on a path with scripted delays, in true time (µs).
struct Bench {
    sync: ClockSync,
    /// Client local = offset + (1 + drift) · true.
    client_offset: f64,
    client_drift: f64,
    /// Server clock = server_offset + true.
    server_offset: i64,
    server_clock: ClockId,
    /// Forward and return delay (µs) of the n-th ping.
    delays: fn(u32) -> (u64, u64),
    now: u64,
    pending: std::vec::Vec<(u64, ClockPong)>,
    sent: u32,
    events: std::vec::Vec<ClockEvent>,
    /// Until this true time, the bound is not checked: a clock step cannot
    /// be known before a sample taken after it.
    blind_until: u64,
    /// `(start, end)` in true time of a device sleep: nothing runs, the
    /// monotonic clock stands still, arriving pongs wait until the end.
    sleep: Option<(u64, u64)>,
    woke: bool,
}

impl Bench {
    fn new(client_offset: f64, client_drift_ppm: f64, delays: fn(u32) -> (u64, u64)) -> Bench {
        let mut b = Bench {
            sync: ClockSync::new(ClockConfig::default(), Instant::ZERO),
            client_offset,
            client_drift: client_drift_ppm * 1e-6,
            server_offset: 7_000_000_000,
            server_clock: ClockId(1),
            delays,
            now: 0,
            pending: std::vec::Vec::new(),
            sent: 0,
            events: std::vec::Vec::new(),
            blind_until: 0,
            sleep: None,
            woke: false,
        };
        b.sync = ClockSync::new(ClockConfig::default(), b.local(0));
        b
    }

    /// True time less any sleep already over (the clock stood still).
    fn awake(&self, t: u64) -> u64 {
        match self.sleep {
            Some((start, end)) if t >= end => t - (end - start),
            Some((start, _)) if t >= start => start,
            _ => t,
        }
    }

    fn local(&self, t: u64) -> Instant {
        let t = self.awake(t);
        Instant::from_micros((self.client_offset + (1.0 + self.client_drift) * t as f64) as u64)
    }

    fn true_of_local(&self, l: Instant) -> u64 {
        let t =
            ((l.as_micros() as f64 - self.client_offset) / (1.0 + self.client_drift)).ceil() as u64;
        match self.sleep {
            Some((start, end)) if t >= start => t + (end - start),
            _ => t,
        }
    }

    fn server(&self, t: u64) -> Instant {
        Instant::from_micros((self.server_offset + t as i64) as u64)
    }

    /// Runs until true time `until`, checking after every step that shared
    /// time never runs backwards and that the bound holds.
    fn run(&mut self, until: u64) {
        let mut last_shared = Instant::ZERO;
        while self.now < until {
            let timer = self.true_of_local(self.sync.poll_timeout().unwrap());
            let arrival = self.pending.iter().map(|p| p.0).min().unwrap_or(u64::MAX);
            let next = timer
                .min(arrival)
                .min(self.now + 50_000)
                .min(until)
                .max(self.now);
            self.now = next;
            if let Some((start, end)) = self.sleep {
                if self.now >= start && !self.woke {
                    // Asleep: nothing runs until the device wakes, which the
                    // shell hears of before any packet that waited.
                    self.now = self.now.max(end);
                    self.woke = true;
                    self.sync.handle_discontinuity(self.local(end));
                }
            }
            let local = self.local(self.now);
            while let Some(i) = self.pending.iter().position(|p| p.0 <= self.now) {
                let (_, pong) = self.pending.remove(i);
                let _ = self.sync.handle_pong(&pong, local);
            }
            self.sync.handle_timeout(local);
            while let Some(ev) = self.sync.poll_output() {
                if let ClockEvent::Ping(ping) = ev {
                    let (fwd, back) = (self.delays)(self.sent);
                    self.sent += 1;
                    let t2 = self.server(self.now + fwd);
                    let pong = ping.answer(t2, t2, self.server_clock);
                    self.pending.push((self.now + fwd + back, pong));
                }
                self.events.push(ev);
            }
            if let Some(e) = self.sync.estimate(local) {
                let truth = self.server(self.now).as_micros();
                let err = e.server_time.as_micros().abs_diff(truth);
                let blind = self.now < self.blind_until;
                assert!(
                    blind || err <= e.error_bound.as_micros(),
                    "at {}: error {err} > bound {:?}",
                    self.now,
                    e.error_bound
                );
                assert!(
                    e.server_time >= last_shared,
                    "shared time ran backwards at {}",
                    self.now
                );
                last_shared = e.server_time;
            }
        }
    }

    fn error_now(&self) -> (u64, u64) {
        let e = self.sync.estimate(self.local(self.now)).unwrap();
        (
            e.server_time
                .as_micros()
                .abs_diff(self.server(self.now).as_micros()),
            e.error_bound.as_micros(),
        )
    }
}
