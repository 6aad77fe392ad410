//! The dispatch scenario matrix: what each seed's room looks like.
//!
//! The seed's first draws pick which faults the room has (swarm testing:
//! each seed enables a different mix), then every client's path, clock,
//! codec and fault windows are drawn from the ranges below.
//! `docs/simulation.md` lists the same numbers.

use onbeat_core::dispatch::{HubConfig, RateConfig, TopicConfig};
use onbeat_core::timeline::Schedule;
use onbeat_core::{Duration, Instant};

use crate::clock::NodeClock;
use crate::link::LinkConfig;
use crate::rng::SimRng;
use crate::scenario::draw;

/// Simulated seconds per seed.
pub const RUN_SECS: u64 = 60;
/// From here on no partition, stall or app disconnect starts or lasts: the
/// faults heal, and what follows measures liveness.
pub const HEAL_SECS: u64 = 42;
/// From here on the apps stop acting, so that the end state is settled.
pub const QUIET_SECS: u64 = 54;
/// The room every topic belongs to.
pub const ROOM: &str = "r";
/// The room's topics and how each keeps history.
pub const TOPICS: [(&str, TopicConfig); 4] = [
    (
        "r/chat",
        TopicConfig::reliable(256, Duration::from_secs(20)),
    ),
    ("r/moves", TopicConfig::reliable(24, Duration::from_secs(4))),
    ("r/cursor", TopicConfig::lossy(0, Duration::ZERO)),
    ("r/ticks", TopicConfig::lossy(64, Duration::from_secs(10))),
];
/// Index in [`TOPICS`] of the topic the room's logic publishes inputs to.
pub const MOVES: usize = 1;
/// Index in [`TOPICS`] of the lossy topic clients stream cursors on.
pub const CURSOR: usize = 2;
/// Index in [`TOPICS`] of the topic the room's logic ticks on.
pub const TICKS: usize = 3;
/// Bytes a connection's socket holds between the hub's writes and the
/// client's reads (TCP send and receive buffers): once that much is unread,
/// the hub's shell stops pulling.
pub const SOCKET_BUFFER: usize = 8 * 1024;
/// A path cut for this long kills its connection (WebSocket keepalive).
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(3);
/// A connection attempt into a cut path fails after this long.
pub const CONNECT_FAIL: Duration = Duration::from_secs(1);
/// The largest retransmission timeout, as TCP's backoff is capped.
pub const MAX_RTO: Duration = Duration::from_secs(2);
/// Bytes of TCP/IP and WebSocket headers per frame.
pub const FRAME_OVERHEAD: u32 = 48;

/// The hub's limits: small queues, so that slow consumers really overflow.
pub fn hub_config(clients: u32) -> HubConfig {
    HubConfig {
        grace: Duration::from_secs(10),
        queue_messages: 16,
        queue_bytes: 16 * 1024,
        max_sessions: 4 * clients as usize + 8,
        max_timed: 1_000,
        input_rate: RateConfig {
            per_sec: 5,
            burst: 10,
        },
        ..HubConfig::default()
    }
}

/// The room's timeline: inputs open for 3 s, closed for 2 s, repeating.
pub fn schedule() -> Schedule {
    // Both phases have valid names and durations, so neither call can fail.
    Schedule::new()
        .phase("open", Duration::from_secs(3), true)
        .and_then(|s| s.phase("closed", Duration::from_secs(2), false))
        .expect("a valid schedule")
}

/// Which faults one seed's room has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mix {
    /// Packets are lost at random (TCP retransmits them).
    pub loss: bool,
    /// Loss is bursty (Gilbert–Elliott) rather than independent.
    pub bursty: bool,
    /// Packets are held back and overtaken.
    pub reordering: bool,
    /// Packets are duplicated.
    pub duplication: bool,
    /// Jitter means are drawn from the high range.
    pub heavy_jitter: bool,
    /// Some clients' paths are cut for a while.
    pub partitions: bool,
    /// Some clients stop reading for a while.
    pub slow_consumers: bool,
    /// Apps drop their connection now and then.
    pub disconnects: bool,
    /// Apps subscribe and unsubscribe as they go.
    pub churn: bool,
}

impl Mix {
    /// Draws the mix for a seed.
    pub fn draw(rng: &mut SimRng) -> Self {
        Mix {
            loss: rng.chance(0.6),
            bursty: rng.chance(0.5),
            reordering: rng.chance(0.4),
            duplication: rng.chance(0.3),
            heavy_jitter: rng.chance(0.3),
            partitions: rng.chance(0.4),
            slow_consumers: rng.chance(0.5),
            disconnects: rng.chance(0.5),
            churn: rng.chance(0.5),
        }
    }

    /// The faults as a short label, e.g. `loss+partitions`.
    pub fn label(&self) -> String {
        let names: Vec<&str> = Self::NAMES
            .iter()
            .zip(self.flags())
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect();
        if names.is_empty() {
            "none".into()
        } else {
            names.join("+")
        }
    }

    /// Names of the faults, in the order of [`Mix::flags`].
    pub const NAMES: [&'static str; 9] = [
        "loss",
        "bursty",
        "reordering",
        "duplication",
        "heavy_jitter",
        "partitions",
        "slow_consumers",
        "disconnects",
        "churn",
    ];

    /// Whether each fault is on, in the order of [`Mix::NAMES`].
    pub fn flags(&self) -> [bool; 9] {
        [
            self.loss,
            self.loss && self.bursty,
            self.reordering,
            self.duplication,
            self.heavy_jitter,
            self.partitions,
            self.slow_consumers,
            self.disconnects,
            self.churn,
        ]
    }
}

/// One client's path, clock, codec and fault windows.
#[derive(Clone, Debug)]
pub struct ClientParams {
    /// Client → hub.
    pub up: LinkConfig,
    /// Hub → client.
    pub down: LinkConfig,
    /// Base round trip.
    pub base_rtt: Duration,
    /// The client's local clock.
    pub clock: NodeClock,
    /// Whether it speaks JSON (else postcard).
    pub json: bool,
    /// When the app starts.
    pub joins_at: Instant,
    /// Windows `[start, end)` during which its path is cut, both directions.
    pub partitions: Vec<(Instant, Instant)>,
    /// Windows during which it reads nothing from its socket.
    pub stalls: Vec<(Instant, Instant)>,
}

fn secs(s: f64) -> Instant {
    Instant::from_micros((s * 1e6) as u64)
}

/// A window starting in `[lo, hi)` s lasting `[min, max)` s, ended by the heal.
fn window(rng: &mut SimRng, lo: f64, hi: f64, min: f64, max: f64) -> (Instant, Instant) {
    let start = rng.uniform(lo, hi);
    let end = (start + rng.uniform(min, max)).min(HEAL_SECS as f64);
    (secs(start), secs(end))
}

impl ClientParams {
    /// Draws one client of a room with faults `mix`.
    pub fn draw(mix: &Mix, rng: &mut SimRng) -> Self {
        let rtt_us = rng.range_u64(10_000, 200_000);
        let base_rtt = Duration::from_micros(rtt_us);
        let one_way = Duration::from_micros(rtt_us / 2);
        let jitter = if mix.heavy_jitter {
            rng.log_uniform(5.0, 50.0)
        } else {
            rng.log_uniform(0.5, 5.0)
        };
        let shape = rng.uniform(1.5, 3.0);
        let loss = draw::loss(mix.loss, mix.bursty, rng);
        let duplicate = draw::duplicate(mix.duplication, rng);
        let (reorder, extra) = if mix.reordering {
            (rng.uniform(0.01, 0.05), rng.uniform(5.0, 50.0))
        } else {
            (0.0, 0.0)
        };
        let mut partitions = Vec::new();
        if mix.partitions && rng.chance(0.3) {
            partitions.push(window(rng, 5.0, 38.0, 0.5, 10.0));
        }
        let mut stalls = Vec::new();
        if mix.slow_consumers && rng.chance(0.2) {
            for _ in 0..rng.range_u64(1, 3) {
                stalls.push(window(rng, 2.0, 40.0, 0.5, 8.0));
            }
        }
        let link = LinkConfig {
            jitter_mean: Duration::from_micros((jitter * 1e3) as u64),
            jitter_shape: shape,
            loss,
            // Loss is a fault too: it heals with the others, so that the end
            // of the run judges recovery, not a bursty channel that happened
            // to be in its Bad state for a sparse flow's last few packets.
            loss_until: Some(secs(HEAL_SECS as f64)),
            duplicate,
            reorder,
            reorder_extra: Duration::from_micros((extra * 1e3) as u64),
            partitions: partitions.clone(),
            ..LinkConfig::ideal(one_way)
        };
        let offset = rng.range_u64(1_000_000_000, 2_000_000_000_000) as i64;
        let drift = rng.uniform(-100.0, 100.0);
        ClientParams {
            up: link.clone(),
            down: link,
            base_rtt,
            clock: NodeClock::new(offset, drift),
            json: rng.chance(0.5),
            joins_at: secs(rng.uniform(0.0, 1.0)),
            partitions,
            stalls,
        }
    }

    /// Whether the path is cut at `t`.
    pub fn cut_at(&self, t: Instant) -> bool {
        self.partitions.iter().any(|&(s, e)| s <= t && t < e)
    }

    /// The first retransmission timeout of a connection on this path.
    pub fn rto(&self) -> Duration {
        (self.base_rtt + self.down.jitter_mean.saturating_mul(8)).max(Duration::from_millis(200))
    }
}
