//! Drives a [`ClockSync`] through an operation sequence decoded from arbitrary
//! bytes, checking its promises after every step.
//!
//! The bytes describe a small world — a true time, a client clock with an
//! offset and a drift, one or more server clocks, a network that delays,
//! drops, duplicates and reorders pongs — and a script of what happens in it.
//! The first byte picks one of two modes:
//!
//! - *truthful*: the world is physically consistent (client drift within
//!   ±400 ppm, below the configured maximum; non-negative delays; every sleep
//!   reported with `handle_discontinuity`). On top of the checks below, the
//!   true server time must lie within `estimate ± error_bound`. Forged pongs
//!   are still sent, but only ones that must be refused.
//! - *chaos*: anything goes — arbitrary pong fields, unreported clock jumps in
//!   both directions, huge advances, any drift. Only the promises that hold
//!   whatever the server says are checked.
//!
//! Checked in both modes, after every step:
//!
//! - nothing panics (so no arithmetic overflow either: fuzz builds keep debug
//!   assertions);
//! - `error_bound` is at least 1 µs;
//! - shared time never runs backwards while `server_clock()` stays the same:
//!   no reading is earlier than one taken at an earlier-or-equal local time.
//!   `handle_discontinuity` is *not* excepted: the code keeps the presented
//!   clock running across it and holds shared time after a backward step. A
//!   reading at a local instant later than the latest one the machine was
//!   told of is only a prediction ("assuming no new sample arrives"), so an
//!   accepted pong retracts the predictions beyond its arrival;
//! - a refused pong changes nothing observable, and a pong is only accepted
//!   if it answers, once, a ping still in flight, echoes its `t1` and has
//!   possible timestamps;
//! - `local_time_of` inverts `estimate`.
//!
//! `onbeat-tests` includes this file by path, so it depends on nothing but
//! onbeat-core and std.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound::{Excluded, Unbounded};

use onbeat_core::proto::{ClockId, ClockPing, ClockPong};
use onbeat_core::time::{Duration, Instant};
use onbeat_core::timeline::{ClockConfig, ClockEvent, ClockSync, Estimate};

/// Operations decoded per input; enough for long stories, short enough that
/// an execution stays in the tens of microseconds.
const MAX_OPS: usize = 256;
/// Simulated steps per input across all `Auto` operations.
const MAX_AUTO_STEPS: u32 = 2_048;
/// Truthful worlds stay below this true time (µs, about 35 years), and their
/// clocks within a few times it, so that every instant is exact as an `f64`.
const TRUTHFUL_HORIZON: u64 = 1 << 50;
/// Largest client drift in a truthful world, ppm.
const TRUTHFUL_DRIFT_PPM: f64 = 400.0;

/// Runs the script in `data`; panics when a promise is broken.
pub fn run(data: &[u8]) {
    let mut input = Input(data);
    let mut world = World::new(&mut input);
    let mut ops = 0;
    while !input.0.is_empty() && ops < MAX_OPS {
        ops += 1;
        world.step(&mut input);
    }
}

/// Reads values from the fuzz input; past its end every read is zero, so any
/// byte string is a complete script.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn u32(&mut self) -> u32 {
        u32::from(self.u16()) | u32::from(self.u16()) << 16
    }

    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | u64::from(self.u32()) << 32
    }

    /// A span in µs on a scale picked by the first byte, from nothing to
    /// anything a `u64` holds: the interesting values are at many scales.
    fn span(&mut self) -> u64 {
        match self.byte() % 8 {
            0 => 0,
            1 => u64::from(self.byte()),
            2 => u64::from(self.u16()),
            3 => u64::from(self.u16()) * 100,
            4 => u64::from(self.u16()) * 1_000,
            5 => u64::from(self.u32()),
            6 => u64::from(self.u32()) * 1_000,
            _ => self.u64(),
        }
    }

    /// A signed span: either direction, same scales.
    fn signed_span(&mut self) -> i64 {
        let negative = self.byte() & 1 == 1;
        let magnitude = i64::try_from(self.span()).unwrap_or(i64::MAX);
        if negative { -magnitude } else { magnitude }
    }
}

/// How the network treats the pings the machine sends on its own.
#[derive(Clone, Copy, Debug)]
struct Path {
    /// Quickest forward and return trips, µs.
    forward: u64,
    back: u64,
    /// Up to this much queueing is added to either trip, µs.
    jitter: u64,
    /// Up to this long the server holds a ping before answering, µs.
    hold: u64,
    /// Chance in 256 that a ping or its pong is lost.
    loss: u8,
}

impl Path {
    fn decode(input: &mut Input<'_>, truthful: bool) -> Path {
        // Real paths: up to a minute each way. Chaos: anything.
        let cap = |v: u64| if truthful { v % 60_000_001 } else { v };
        Path {
            forward: cap(input.span()),
            back: cap(input.span()),
            jitter: cap(input.span()),
            hold: cap(input.span()),
            loss: input.byte(),
        }
    }
}

/// A pong on its way to the client.
#[derive(Clone, Copy, Debug)]
struct Pending {
    /// True time at which it arrives, µs.
    arrives: u64,
    pong: ClockPong,
}

/// The world around one `ClockSync`, and what has been observed of it.
struct World {
    truthful: bool,
    sync: ClockSync,
    /// True time, µs.
    now: u64,
    /// The client's clock reads `seg_local` at true `seg_true` and advances at
    /// `1 + drift` from there; a sleep or jump starts a new segment.
    seg_true: u64,
    seg_local: u64,
    drift: f64,
    /// Every server clock so far, with its offset from true time (µs); the
    /// last one answers new pings.
    servers: Vec<(ClockId, i64)>,
    path: Path,
    /// Deterministic noise for the path, seeded from the input.
    rng: u64,
    pending: Vec<Pending>,
    /// Every ping sent, by sequence number.
    sent: BTreeMap<u32, ClockPing>,
    /// Sequence numbers of pongs accepted.
    accepted: BTreeSet<u32>,
    /// Pings with a lower `seq` were in flight at a discontinuity.
    dropped_below: u32,
    /// The latest local instant the machine was told of.
    last_now: Instant,
    /// Readings of shared time under `readings_clock`: local µs → server µs,
    /// non-decreasing in both.
    readings: BTreeMap<u64, u64>,
    readings_clock: Option<ClockId>,
    auto_steps: u32,
}

impl World {
    fn new(input: &mut Input<'_>) -> World {
        let truthful = input.byte() & 1 == 0;
        let config = decode_config(input, truthful);
        let (now, seg_local, drift, offset) = if truthful {
            // Offsets either way, but all clocks stay far from 0 and 2^53.
            let now = 1 << 40 | u64::from(input.u32());
            let seg_local = u64::from(input.u32()) << 8;
            let ppm = f64::from(input.u16() as i16) / 32_768.0 * TRUTHFUL_DRIFT_PPM;
            let offset = i64::from(input.u32() as i32) << 8;
            (now, seg_local, ppm * 1e-6, offset)
        } else {
            let now = input.u64();
            let seg_local = input.u64();
            // Up to ±50 %: the clock must still run forwards.
            let drift = f64::from(input.u16() as i16) / 65_536.0;
            (now, seg_local, drift, input.u64() as i64)
        };
        let path = Path::decode(input, truthful);
        let rng = input.u64() | 1;
        let mut world = World {
            truthful,
            sync: ClockSync::new(config, Instant::from_micros(seg_local)),
            now,
            seg_true: now,
            seg_local,
            drift,
            servers: vec![(ClockId(1), offset)],
            path,
            rng,
            pending: Vec::new(),
            sent: BTreeMap::new(),
            accepted: BTreeSet::new(),
            dropped_below: 0,
            last_now: Instant::from_micros(seg_local),
            readings: BTreeMap::new(),
            readings_clock: None,
            auto_steps: 0,
        };
        world.settle();
        world
    }

    /// The client's clock at true time `t`.
    fn local_at(&self, t: u64) -> Instant {
        let elapsed = t.saturating_sub(self.seg_true) as f64 * (1.0 + self.drift);
        Instant::from_micros(self.seg_local.saturating_add(elapsed as u64))
    }

    fn local(&self) -> Instant {
        self.local_at(self.now)
    }

    /// The earliest true time at which the client's clock reads `local`.
    fn true_at(&self, local: Instant) -> u64 {
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

    fn server_offset(&self, clock: ClockId) -> Option<i64> {
        self.servers
            .iter()
            .rev()
            .find(|(id, _)| *id == clock)
            .map(|&(_, off)| off)
    }

    fn server_at(t: u64, offset: i64) -> Instant {
        let v = i128::from(t) + i128::from(offset);
        Instant::from_micros(v.clamp(0, i128::from(u64::MAX)) as u64)
    }

    fn random(&mut self) -> u64 {
        // xorshift64: deterministic and cheap; quality is irrelevant here.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn random_below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.random() % n }
    }

    /// Moves true time on, keeping truthful worlds inside their horizon.
    fn advance(&mut self, by: u64) {
        let mut to = self.now.saturating_add(by);
        if self.truthful {
            // Pongs may arrive past the horizon; time must not come back.
            to = to.min(TRUTHFUL_HORIZON.max(self.now));
        }
        self.now = to;
    }

    fn step(&mut self, input: &mut Input<'_>) {
        match input.byte() % 12 {
            0 => {
                let by = input.span();
                self.advance(by);
            }
            1 => {
                let by = input.span();
                self.advance(by);
                let at = self.told(self.local());
                self.sync.handle_timeout(at);
            }
            2 => {
                if self.pending.is_empty() {
                    return;
                }
                let i = usize::from(input.byte()) % self.pending.len();
                let keep = input.byte() & 1 == 1;
                let p = if keep {
                    self.pending[i]
                } else {
                    self.pending.remove(i)
                };
                self.now = self.now.max(p.arrives);
                let at = self.local();
                self.deliver(&p.pong, at);
            }
            3 => {
                if !self.pending.is_empty() {
                    let i = usize::from(input.byte()) % self.pending.len();
                    self.pending.remove(i);
                }
            }
            4 => self.sleep(input),
            5 => {
                let at = self.told(self.local());
                self.discontinuity(at);
            }
            6 => {
                let id = ClockId(if self.truthful {
                    self.servers.len() as u64 + 1
                } else {
                    u64::from(input.byte() % 8)
                });
                let offset = if self.truthful {
                    i64::from(input.u32() as i32) << 8
                } else {
                    input.u64() as i64
                };
                self.servers.push((id, offset));
            }
            7 => {
                let at = self.local().saturating_add_signed(input.signed_span());
                self.read(at);
            }
            8 => self.invert(input),
            9 => self.auto(input),
            10 => self.forge(input),
            _ => {
                if self.truthful {
                    self.path = Path::decode(input, true);
                } else {
                    self.jump(input);
                }
            }
        }
        self.settle();
    }

    /// Records that the machine is being told of local instant `at`.
    fn told(&mut self, at: Instant) -> Instant {
        self.last_now = self.last_now.max(at);
        at
    }

    /// The device sleeps: true time goes on, its clock stands still. A
    /// truthful shell always reports it on waking; a chaotic one may not.
    fn sleep(&mut self, input: &mut Input<'_>) {
        let by = input.span();
        let report = self.truthful || input.byte() & 1 == 0;
        let local = self.local();
        self.advance(by);
        self.seg_true = self.now;
        self.seg_local = local.as_micros();
        if report {
            let at = self.told(local);
            self.discontinuity(at);
        }
    }

    /// Chaos only: the client's clock jumps, either way, unreported.
    fn jump(&mut self, input: &mut Input<'_>) {
        let local = self.local().saturating_add_signed(input.signed_span());
        self.seg_true = self.now;
        self.seg_local = local.as_micros();
    }

    fn discontinuity(&mut self, at: Instant) {
        self.sync.handle_discontinuity(at);
        self.dropped_below = self.sent.last_key_value().map_or(0, |(&seq, _)| seq + 1);
    }

    /// Runs the world on its own for a while, as a shell would: wakes for
    /// the machine's timer and for arriving pongs.
    fn auto(&mut self, input: &mut Input<'_>) {
        let steps = u32::from(input.byte()).min(MAX_AUTO_STEPS - self.auto_steps);
        self.auto_steps += steps;
        for _ in 0..steps {
            let timer = self
                .sync
                .poll_timeout()
                .map_or(u64::MAX, |at| self.true_at(at));
            let arrival = self.pending.iter().map(|p| p.arrives).min();
            let next = timer
                .min(arrival.unwrap_or(u64::MAX))
                .min(self.now.saturating_add(1_000_000));
            self.advance(next.saturating_sub(self.now));
            let at = self.local();
            while let Some(i) = self.pending.iter().position(|p| p.arrives <= self.now) {
                let p = self.pending.remove(i);
                self.deliver(&p.pong, at);
            }
            self.told(at);
            self.sync.handle_timeout(at);
            self.settle();
        }
    }

    /// A pong the server never sent that way. In a truthful world only pongs
    /// that must be refused are forged.
    fn forge(&mut self, input: &mut Input<'_>) {
        let kind = input.byte();
        let mut pong = match self.sent.len() {
            0 => ClockPing {
                seq: input.u32(),
                t1: self.local(),
            },
            n => *self
                .sent
                .values()
                .nth(usize::from(input.byte()) % n)
                .expect("index below len"),
        }
        .answer(Instant::ZERO, Instant::ZERO, ClockId(0));
        let truth = self.servers.last().map_or(0, |s| s.1);
        let t2 = match input.byte() % 3 {
            0 => Self::server_at(self.now, truth).saturating_add_signed(input.signed_span()),
            1 => self.local().saturating_add_signed(input.signed_span()),
            _ => Instant::from_micros(input.u64()),
        };
        let hold = input.signed_span();
        pong.t2 = t2;
        pong.t3 = pong.t2.saturating_add_signed(hold);
        pong.clock = match input.byte() % 4 {
            0 => self.servers.last().map_or(ClockId(0), |s| s.0),
            1 => self.servers[usize::from(input.byte()) % self.servers.len()].0,
            _ => ClockId(u64::from(input.byte())),
        };
        let mut refused = true;
        match kind % 4 {
            // An unknown sequence number.
            0 => pong.seq = pong.seq.wrapping_add(input.u32() | 1 << 31),
            // A wrong echo.
            1 => pong.t1 = pong.t1.saturating_add_signed(input.signed_span() | 1),
            // The server claims to have sent it before it received it.
            2 => {
                pong.t3 = pong
                    .t2
                    .saturating_sub(Duration::from_micros(input.span().max(1)));
                if pong.t3 == pong.t2 {
                    pong.t3 = Instant::ZERO;
                    pong.t2 = Instant::from_micros(1);
                }
            }
            _ => refused = false,
        }
        if self.truthful && !refused {
            return;
        }
        // A forged seq may by chance name a real ping; then it is not forged.
        let forged = refused
            && self.sent.get(&pong.seq).is_none_or(|p| {
                *p != ClockPing {
                    seq: pong.seq,
                    t1: pong.t1,
                } || pong.t3 < pong.t2
            });
        let delay = if self.truthful { 0 } else { input.span() };
        self.advance(delay);
        let at = self.local();
        let accepted = self.deliver(&pong, at);
        if forged {
            assert!(!accepted, "forged pong {pong:?} accepted");
        }
    }

    /// Hands `pong` to the machine at local `at` and checks what it did;
    /// whether it was accepted.
    fn deliver(&mut self, pong: &ClockPong, at: Instant) -> bool {
        let before = self.sync.clone();
        self.told(at);
        let eff = self.last_now;
        match self.sync.handle_pong(pong, at) {
            Ok(()) => {
                self.check_accepted(pong, eff);
                // Readings beyond this instant were predictions made without
                // this sample; it may legitimately revise them.
                self.readings
                    .split_off(&(eff.as_micros().saturating_add(1)));
                true
            }
            Err(_) => {
                self.check_unchanged(before, eff);
                false
            }
        }
    }

    fn check_accepted(&mut self, pong: &ClockPong, at: Instant) {
        let ping = self.sent.get(&pong.seq);
        assert_eq!(
            ping.map(|p| p.t1),
            Some(pong.t1),
            "accepted {pong:?}, which answers no ping sent"
        );
        assert!(
            self.accepted.insert(pong.seq),
            "accepted a second answer to ping {}",
            pong.seq
        );
        assert!(
            pong.seq >= self.dropped_below,
            "accepted {pong:?}, sent before a discontinuity"
        );
        let hold = pong.t3.checked_duration_since(pong.t2);
        assert!(
            hold.is_some_and(|h| h <= at.saturating_duration_since(pong.t1)),
            "accepted {pong:?} at {at}: impossible timestamps"
        );
    }

    /// A refused pong must change nothing that can be observed from now on.
    fn check_unchanged(&self, before: ClockSync, at: Instant) {
        let sync = &self.sync;
        assert_eq!(sync.samples(), before.samples(), "refusal changed samples");
        assert_eq!(sync.server_clock(), before.server_clock());
        assert_eq!(sync.poll_timeout(), before.poll_timeout());
        // Events of earlier calls may still be queued (`auto` delivers
        // several pongs at once); a refusal adds none.
        let (mut after, mut before) = (sync.clone(), before);
        loop {
            let event = before.poll_output();
            assert_eq!(after.poll_output(), event, "refusal changed the events");
            if event.is_none() {
                break;
            }
        }
        for ahead in [0, 1, 1_000_000, 1 << 40] {
            let t = at.saturating_add(Duration::from_micros(ahead));
            assert_eq!(
                sync.estimate(t),
                before.estimate(t),
                "refusal changed the estimate at {t}"
            );
        }
        if let Some(e) = before.estimate(at) {
            for s in [e.server_time, e.server_time + Duration::from_secs(1)] {
                assert_eq!(sync.local_time_of(s), before.local_time_of(s));
            }
        }
    }

    /// Sends the machine's pings into the network and reads shared time now.
    fn settle(&mut self) {
        while let Some(event) = self.sync.poll_output() {
            match event {
                ClockEvent::Ping(ping) => {
                    assert!(
                        self.sent.insert(ping.seq, ping).is_none(),
                        "seq {} sent twice",
                        ping.seq
                    );
                    assert!(ping.t1 <= self.last_now, "ping stamped in the future");
                    self.transmit(ping);
                }
                ClockEvent::ServerRestarted { clock } => {
                    assert_eq!(self.sync.server_clock(), Some(clock));
                }
                _ => {}
            }
        }
        // `Instant::ZERO` reads at the latest instant the machine knows.
        self.read(Instant::ZERO);
    }

    fn transmit(&mut self, ping: ClockPing) {
        let p = self.path;
        if self.random_below(256) < u64::from(p.loss) {
            return;
        }
        let forward = p.forward.saturating_add(self.random_below(p.jitter));
        let hold = self.random_below(p.hold.saturating_add(1));
        let back = p.back.saturating_add(self.random_below(p.jitter));
        let &(clock, offset) = self.servers.last().expect("a server always exists");
        let received = self.now.saturating_add(forward);
        let sent = received.saturating_add(hold);
        self.pending.push(Pending {
            arrives: sent.saturating_add(back),
            pong: ping.answer(
                Self::server_at(received, offset),
                Self::server_at(sent, offset),
                clock,
            ),
        });
    }

    /// Reads shared time at local `at` and checks it.
    fn read(&mut self, at: Instant) {
        let clock = self.sync.server_clock();
        if clock != self.readings_clock {
            self.readings.clear();
            self.readings_clock = clock;
        }
        let Some(e) = self.sync.estimate(at) else {
            return;
        };
        assert!(
            e.error_bound >= Duration::from_micros(1),
            "zero-width bound {e:?}"
        );
        let eff = at.max(self.last_now).as_micros();
        let s = e.server_time.as_micros();
        if let Some((&t, &earlier)) = self.readings.range(..=eff).next_back() {
            assert!(
                s >= earlier,
                "shared time ran backwards: {earlier} at local {t}, then {s} at local {eff}"
            );
        }
        if let Some((&t, &later)) = self.readings.range((Excluded(eff), Unbounded)).next() {
            assert!(
                s <= later,
                "shared time ran backwards: {s} at local {eff}, but {later} predicted at {t}"
            );
        }
        self.readings.insert(eff, s);
        if self.truthful {
            self.check_truth(eff, e);
        }
        self.check_inverse(e.server_time);
    }

    /// The true server time at local `at` lies within the bound.
    fn check_truth(&self, at: u64, e: Estimate) {
        let clock = self.sync.server_clock().expect("an estimate has a clock");
        let offset = self.server_offset(clock).expect("only known clocks answer");
        // The local clock reads `at` for up to a microsecond of true time.
        let first = self.true_at(Instant::from_micros(at));
        let last = self.true_at(Instant::from_micros(at + 1)).max(first + 1) - 1;
        let (lo, hi) = (
            Self::server_at(first, offset).as_micros(),
            Self::server_at(last, offset).as_micros(),
        );
        let s = e.server_time.as_micros();
        let bound = e.error_bound.as_micros();
        assert!(
            s.saturating_add(bound) >= lo && s.saturating_sub(bound) <= hi,
            "true server time {lo}..={hi} outside {s} ± {bound} at local {at}"
        );
    }

    /// Asks when shared time reads `server` and checks the answer against
    /// `estimate`.
    fn check_inverse(&self, server: Instant) {
        let Some(at) = self.sync.local_time_of(server) else {
            return;
        };
        let e = self
            .sync
            .estimate(at)
            .expect("an inverse implies an estimate");
        // A microsecond is allowed for the rounding of the inverse in `f64`.
        assert!(
            e.server_time + Duration::from_micros(1) >= server,
            "local_time_of({server}) = {at}, but estimate there is {e:?}"
        );
        // The earliest such instant: two microseconds before, it read less
        // (one is left for rounding).
        let before = at.saturating_sub(Duration::from_micros(2));
        if before > self.last_now {
            let e = self.sync.estimate(before).expect("estimate exists");
            assert!(
                e.server_time < server,
                "local_time_of({server}) = {at}, but {before} already reads {e:?}"
            );
        }
    }

    /// Asks when shared time reads an arbitrary instant.
    fn invert(&mut self, input: &mut Input<'_>) {
        let base = self.sync.estimate(Instant::ZERO).map(|e| e.server_time);
        let server = match (input.byte() & 1, base) {
            (0, Some(base)) => base.saturating_add_signed(input.signed_span()),
            _ => Instant::from_micros(input.u64()),
        };
        self.check_inverse(server);
    }
}

fn decode_config(input: &mut Input<'_>, truthful: bool) -> ClockConfig {
    if input.byte() & 1 == 0 {
        let mut config = ClockConfig::default();
        if truthful {
            // The bound is only honest for drift below the configured maximum.
            config.max_drift_ppm = config.max_drift_ppm.max(TRUTHFUL_DRIFT_PPM as u32 + 1);
        }
        return config;
    }
    let mut d = || Duration::from_micros(input.span());
    let (interval, fast_interval, settled, ping_timeout, step_threshold) =
        (d(), d(), d(), d(), d());
    let fast_samples = input.byte();
    // Shared time advances at least at 1 − drift − slew; beyond that it
    // would have to run backwards, which no configuration can ask for.
    let max_drift_ppm = if truthful {
        TRUTHFUL_DRIFT_PPM as u32 + 1 + u32::from(input.u16()) % 10_000
    } else {
        u32::from(input.u16()) * 2
    };
    let wander_ppm = u32::from(input.byte());
    let max_slew_ppm = 1 + u32::from(input.u16()) % 100_000;
    ClockConfig {
        interval,
        fast_interval,
        fast_samples,
        settled,
        ping_timeout,
        max_drift_ppm,
        wander_ppm,
        step_threshold,
        max_slew_ppm,
    }
}
