//! The clock scenario matrix: what each seed's room looks like.
//!
//! The seed's first draws pick which impairments the room has (swarm testing:
//! each seed enables a different mix), then every client's path and clock are
//! drawn from the ranges below. `docs/simulation.md` lists the same numbers.

use onbeat_core::{Duration, Instant};

use crate::clock::{ClockStep, NodeClock};
use crate::link::LinkConfig;
use crate::rng::SimRng;
use crate::scenario::draw;

/// Simulated seconds per seed.
pub const RUN_SECS: u64 = 40;
/// When the server's timeline lays its first phase, in server-clock seconds
/// after its start.
pub const FIRST_PHASE_SECS: u64 = 8;
/// Announcements lead their phase by this much.
pub const ANNOUNCE_LEAD: Duration = Duration::from_secs(2);
/// Ground truth is sampled this often, per client.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// Errors count once the client has this many samples.
pub const MIN_SAMPLES: u32 = 10;
/// Local clocks start this far from zero, so offsets and backward steps never
/// reach the epoch.
const EPOCH_US: i64 = 1_000_000_000_000;

/// Which impairments one seed's room has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mix {
    /// Forward and return base delays differ.
    pub asymmetric: bool,
    /// Jitter means are drawn from the high range.
    pub heavy_jitter: bool,
    /// Packets are lost at random.
    pub loss: bool,
    /// Loss is bursty (Gilbert–Elliott) rather than independent.
    pub bursty: bool,
    /// Packets are duplicated.
    pub duplication: bool,
    /// Packets are held back and overtaken.
    pub reordering: bool,
    /// Some clients are cut off for a while.
    pub partitions: bool,
    /// Some clients' clocks step.
    pub client_steps: bool,
    /// The server restarts once.
    pub server_restart: bool,
}

impl Mix {
    /// Draws the mix for a seed.
    pub fn draw(rng: &mut SimRng) -> Self {
        Mix {
            asymmetric: rng.chance(0.3),
            heavy_jitter: rng.chance(0.5),
            loss: rng.chance(0.8),
            bursty: rng.chance(0.5),
            duplication: rng.chance(0.4),
            reordering: rng.chance(0.4),
            partitions: rng.chance(0.3),
            client_steps: rng.chance(0.3),
            server_restart: rng.chance(0.15),
        }
    }

    /// A short label such as `asym+jitter+ge-loss`.
    pub fn label(&self) -> String {
        let parts = [
            (self.asymmetric, "asym"),
            (self.heavy_jitter, "jitter"),
            (self.loss && !self.bursty, "loss"),
            (self.loss && self.bursty, "ge-loss"),
            (self.duplication, "dup"),
            (self.reordering, "reorder"),
            (self.partitions, "partition"),
            (self.client_steps, "steps"),
            (self.server_restart, "restart"),
        ];
        let on: Vec<&str> = parts.iter().filter(|p| p.0).map(|p| p.1).collect();
        if on.is_empty() {
            "calm".into()
        } else {
            on.join("+")
        }
    }
}

/// One client's path and clock.
#[derive(Clone, Debug)]
pub struct ClientParams {
    /// When the client joins, in true time.
    pub joins_at: Instant,
    /// Its local clock.
    pub clock: NodeClock,
    /// Client → server.
    pub up: LinkConfig,
    /// Server → client.
    pub down: LinkConfig,
    /// Forward minus return base delay, µs (zero on symmetric paths).
    pub asymmetry_us: i64,
    /// Base round-trip time.
    pub base_rtt: Duration,
    /// `(start, length)` of a suspend of the client's device, in true time.
    pub suspend: Option<(Instant, Duration)>,
}

/// The server's first clock and its restart, if any.
#[derive(Clone, Debug)]
pub struct ServerParams {
    /// Its clock before any restart.
    pub clock: NodeClock,
    /// `(down_at, up_at, new_offset_us)`: the server process dies at `down_at`
    /// and comes back at `up_at` with a fresh clock reading from a new epoch.
    pub restart: Option<(Instant, Instant, i64)>,
}

fn secs(rng: &mut SimRng, lo: f64, hi: f64) -> Instant {
    Instant::from_micros((rng.uniform(lo, hi) * 1e6) as u64)
}

fn ms(v: f64) -> Duration {
    Duration::from_micros((v * 1e3) as u64)
}

impl ServerParams {
    /// Draws the server for a room with `mix`.
    pub fn draw(mix: &Mix, rng: &mut SimRng) -> Self {
        let drift = rng.uniform(-50.0, 50.0);
        let offset = EPOCH_US + rng.range_u64(0, 1 << 40) as i64;
        let down_at = secs(rng, 12.0, 28.0);
        let outage = ms(rng.uniform(500.0, 3_000.0));
        let new_offset = EPOCH_US + rng.range_u64(0, 1 << 40) as i64;
        ServerParams {
            clock: NodeClock::new(offset, drift),
            restart: mix
                .server_restart
                .then_some((down_at, down_at + outage, new_offset)),
        }
    }
}

impl ClientParams {
    /// Draws one client of a room with `mix`.
    pub fn draw(mix: &Mix, rng: &mut SimRng) -> Self {
        let joins_at = secs(rng, 0.0, 1.0);
        let rtt_ms = rng.uniform(20.0, 300.0);
        let share = if mix.asymmetric {
            rng.uniform(0.2, 0.8)
        } else {
            0.5
        };
        let jitter_ms = if mix.heavy_jitter {
            rng.log_uniform(5.0, 50.0)
        } else {
            rng.log_uniform(0.5, 10.0)
        };
        let shape = rng.uniform(1.5, 3.0);
        let loss = draw::loss(mix.loss, mix.bursty, rng);
        let duplicate = draw::duplicate(mix.duplication, rng);
        let (reorder, reorder_extra) = if mix.reordering {
            (rng.uniform(0.01, 0.05), ms(rng.uniform(5.0, 50.0)))
        } else {
            (0.0, Duration::ZERO)
        };
        let mut partitions = Vec::new();
        if mix.partitions && rng.chance(0.3) {
            let start = secs(rng, 5.0, 35.0);
            partitions.push((start, start + ms(rng.uniform(1_000.0, 8_000.0))));
        }
        let mut clock = NodeClock::new(
            EPOCH_US + rng.range_u64(0, 1 << 40) as i64,
            rng.uniform(-100.0, 100.0),
        );
        // A monotonic clock (CLOCK_MONOTONIC, performance.now()) stops while
        // the device sleeps: to the client, a suspend is its clock standing
        // still for the pause, then running on — a backward step against true
        // time. The process runs nothing meanwhile.
        let mut suspend = None;
        if mix.client_steps && rng.chance(0.2) {
            let start = secs(rng, 10.0, 30.0);
            let pause = ms(rng.uniform(500.0, 8_000.0));
            let lost = pause.as_micros() as f64 * (1.0 + clock.drift_ppm() * 1e-6);
            clock = clock.with_step(ClockStep {
                at: start + pause,
                micros: -(lost.round() as i64),
            });
            suspend = Some((start, pause));
        }
        let fwd = ms(rtt_ms * share);
        let back = ms(rtt_ms * (1.0 - share));
        let link = |base| LinkConfig {
            base_delay: base,
            jitter_mean: ms(jitter_ms),
            jitter_shape: shape,
            jitter_cap: Duration::from_secs(2),
            loss,
            loss_until: None,
            duplicate,
            reorder,
            reorder_extra,
            partitions: partitions.clone(),
        };
        ClientParams {
            joins_at,
            clock,
            up: link(fwd),
            down: link(back),
            asymmetry_us: fwd.as_micros() as i64 - back.as_micros() as i64,
            base_rtt: fwd + back,
            suspend,
        }
    }
}
