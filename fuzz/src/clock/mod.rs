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
//! This file holds the world's state and how the input's first bytes set it
//! up; its modules hold the rest: `input` reads the bytes, `config` decodes
//! the `ClockConfig`, `clocks` keeps true, client and server time, `network`
//! carries (and forges) pings and pongs, `ops` runs the script's operations,
//! and `checks` checks the promises after each one.
//!
//! `onbeat-tests` includes this file (and so its modules) by path, so it
//! depends on nothing but onbeat-core and std.

mod checks;
mod clocks;
mod config;
mod input;
mod network;
mod ops;

use std::collections::{BTreeMap, BTreeSet};

use onbeat_core::proto::{ClockId, ClockPing};
use onbeat_core::time::Instant;
use onbeat_core::timeline::ClockSync;

use config::decode_config;
use input::Input;
use network::{Path, Pending};

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
}
