//! The clock-synchronisation scenario.
//!
//! Each seed is one room: a server running a [`Timeline`](onbeat_core::timeline::Timeline)
//! and a number of clients, each running a
//! [`ClockSync`](onbeat_core::timeline::ClockSync) over its own impaired path.
//! Every 100 ms of true time each client's shared clock is read and judged
//! against the server's true clock, which only the simulator knows.
//! See `docs/simulation.md` for the scenario matrix and the measurements.

mod baseline;
mod client;
pub mod params;
pub mod report;
mod server;
mod stream;
mod world;

use std::collections::BTreeMap;

pub use report::{SeedResult, Summary, TracePoint};

use params::MIN_SAMPLES;
use world::World;

/// Runs one seed's room with `clients` clients; with `trace`, keeps every
/// client's readings for plotting.
pub fn run_seed(seed: u64, clients: u32, trace: bool) -> SeedResult {
    let mut world = World::new(seed, clients);
    let mut r = SeedResult {
        seed,
        mix: world.mix,
        trace: if trace {
            vec![Vec::new(); clients as usize]
        } else {
            Vec::new()
        },
        ..SeedResult::default()
    };
    world.run(|w| measure(w, &mut r));
    let mut phases: BTreeMap<u32, (u64, u64, u32)> = BTreeMap::new();
    for f in &world.fires {
        if !f.counts {
            r.fires_excluded += 1;
            continue;
        }
        r.fires += 1;
        let t = f.at.as_micros();
        let e = phases.entry(f.key).or_insert((t, t, 0));
        *e = (e.0.min(t), e.1.max(t), e.2 + 1);
    }
    for (lo, hi, n) in phases.values() {
        if *n >= 2 {
            r.spreads.record(hi - lo);
        }
    }
    r.stepped = world.stepped;
    r.hash = world.sim.log_hash();
    r.records = world.sim.log().records();
    r
}

/// One sampling tick: reads every client's shared clock against the truth.
fn measure(w: &mut World, r: &mut SeedResult) {
    let now = w.sim.now();
    let asymmetric = w.mix.asymmetric;
    for (i, c) in w.clients.iter_mut().enumerate() {
        let Some(sync) = &c.sync else { continue };
        // Nothing reads the clock of a sleeping device.
        if c.suspended {
            continue;
        }
        let local = c.local(now);
        let (Some(est), Some(id)) = (sync.estimate(local), sync.server_clock()) else {
            continue;
        };
        // Estimates of a clock the server never had would be a bug in the
        // harness, not the estimator; there are none.
        let Some(truth) = w.server.truth(id, now) else {
            continue;
        };
        let err = est.server_time.signed_micros_since(truth);
        let bound = est.error_bound.as_micros();
        let fail = |what: String| {
            format!(
                "client {i} at {}us: {what} [{}]",
                now.as_micros(),
                w.mix.label()
            )
        };
        if let Some((last_id, last)) = c.last_shared
            && last_id == id
            && est.server_time < last
        {
            r.backwards += 1;
            let by = last.as_micros() - est.server_time.as_micros();
            r.first_backwards
                .get_or_insert_with(|| fail(format!("shared time went back {by}us")));
        }
        c.last_shared = Some((id, est.server_time));
        if let Some(t) = r.trace.get_mut(i) {
            t.push((now.as_micros(), err, bound));
        }
        if c.blind_since.is_some() {
            r.blind_samples += 1;
            continue;
        }
        if err.unsigned_abs() > bound {
            r.bound_violations += 1;
            r.first_violation
                .get_or_insert_with(|| fail(format!("error {err}us outside bound {bound}us")));
        }
        if sync.samples() < MIN_SAMPLES {
            continue;
        }
        if asymmetric {
            let half = c.params.asymmetry_us.unsigned_abs() / 2;
            r.asym_excess
                .record(err.unsigned_abs().saturating_sub(half));
        } else {
            r.error.record(err.unsigned_abs());
            if c.baselines.clock() == Some(id) {
                let off = |e: Option<onbeat_core::Instant>| {
                    e.map(|e| e.signed_micros_since(truth).unsigned_abs())
                };
                if let Some(e) = off(c.baselines.cristian(local)) {
                    r.cristian.record(e);
                }
                if let Some(e) = off(c.baselines.ntp_filter(local)) {
                    r.ntp.record(e);
                }
            }
        }
    }
}

/// Runs `seeds` on `threads` threads; results come back in the order of `seeds`
/// whatever the threads' timing.
pub fn run_seeds(seeds: &[u64], clients: u32, threads: usize) -> Vec<SeedResult> {
    crate::seeds::run_in_order(seeds, threads, |seed| run_seed(seed, clients, false))
}
