//! The live-table demo: room `table`, rounds of picks, commit and reveal.
//!
//! Each round: `picks` (inputs open), `closed`, `reveal`. When picks open the
//! outcome (1–6) and a salt are drawn and the SHA-256 commitment is published
//! on `table/round`; when they close the picks are scored and the reveal is
//! published timed at the reveal instant, so the hub releases it to every
//! subscriber at once and never earlier. See `docs/server.md`.

mod commit;
mod table;

pub use commit::{Secret, commitment};
pub use table::{POINTS, Table};

use onbeat_core::dispatch::hub::{Hub, HubError, TopicConfig};
use onbeat_core::proto::Topic;
use onbeat_core::time::{Duration, Instant};
use onbeat_core::timeline::{Schedule, ScheduleError};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::config::DemoConfig;

/// The demo's room.
pub const ROOM: &str = "table";
/// Where commits and reveals are published (reliable, with history).
pub const ROUND_TOPIC: &str = "table/round";
/// A chat topic for token holders allowed to publish in the room.
pub const CHAT_TOPIC: &str = "table/chat";

/// Why the demo could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum DemoError {
    /// A phase duration is zero.
    Schedule(ScheduleError),
    /// The hub refused the room or a topic.
    Hub(HubError),
}

impl std::fmt::Display for DemoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DemoError::Schedule(e) => write!(f, "demo schedule: {e}"),
            DemoError::Hub(e) => write!(f, "demo room: {e}"),
        }
    }
}

impl std::error::Error for DemoError {}

/// The demo's round: picks, closed, reveal.
pub fn schedule(config: &DemoConfig) -> Result<Schedule, ScheduleError> {
    Schedule::new()
        .phase("picks", Duration::from_millis(config.picks_ms), true)?
        .phase("closed", Duration::from_millis(config.closed_ms), false)?
        .phase("reveal", Duration::from_millis(config.reveal_ms), false)
}

/// Opens the demo's topics and room on `hub`; its first round starts at `now`.
pub fn open(hub: &mut Hub, config: &DemoConfig, now: Instant) -> Result<(), DemoError> {
    let schedule = schedule(config).map_err(DemoError::Schedule)?;
    let rng = match config.seed {
        Some(seed) => ChaCha20Rng::seed_from_u64(seed),
        None => ChaCha20Rng::from_os_rng(),
    };
    // Keeps a few rounds so that a late joiner can read the last commit.
    let history = TopicConfig::reliable(16, Duration::from_secs(600));
    hub.open_topic(ROUND_TOPIC, history)
        .map_err(DemoError::Hub)?;
    hub.open_topic(
        CHAT_TOPIC,
        TopicConfig::reliable(64, Duration::from_secs(600)),
    )
    .map_err(DemoError::Hub)?;
    // ROUND_TOPIC is a valid topic name (checked by the open above).
    let topic = Topic::try_from(ROUND_TOPIC).expect("the round topic name is valid");
    let table = Table::new(rng, topic, Duration::from_millis(config.closed_ms));
    hub.open_room(ROOM, Some(schedule), Box::new(table), now)
        .map_err(DemoError::Hub)
}
