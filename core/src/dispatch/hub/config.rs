//! The hub's limits and the settings of each topic.

use super::shard::ShardId;
use crate::proto::{ClockId, DEFAULT_MAX_FRAME};
use crate::time::Duration;
use crate::timeline::TimelineConfig;

/// A token bucket: `burst` actions at once, refilled at `per_sec` per second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateConfig {
    /// Sustained actions per second.
    pub per_sec: u32,
    /// Actions allowed back to back after a quiet spell.
    pub burst: u32,
}

/// Every limit of a [`Hub`](super::Hub). Memory is bounded by these alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HubConfig {
    /// The server clock's id, sent in `welcome` and `pong`.
    pub clock: ClockId,
    /// Largest inbound frame, announced in `welcome`.
    pub max_frame: u32,
    /// Most sessions (connected or within their grace) at once.
    pub max_sessions: usize,
    /// Most connections that have not sent `hello` yet.
    pub max_pending: usize,
    /// How long a connection may take to send `hello`.
    pub hello_timeout: Duration,
    /// How long a session outlives its connection, resumable.
    pub grace: Duration,
    /// Most frames in one session's outbound queue.
    pub queue_messages: usize,
    /// Most bytes in one session's outbound queue.
    pub queue_bytes: usize,
    /// Most topics one session may subscribe to.
    pub max_subscriptions: usize,
    /// Request ids remembered per session, with their answers, so that a
    /// resent request is answered again instead of judged again.
    pub request_memory: usize,
    /// Input rate per session.
    pub input_rate: RateConfig,
    /// Publish rate per session.
    pub publish_rate: RateConfig,
    /// Most timed publishes held across the hub.
    pub max_timed: usize,
    /// Most open topics.
    pub max_topics: usize,
    /// Most open rooms.
    pub max_rooms: usize,
    /// How rooms' timelines announce phases.
    pub timeline: TimelineConfig,
    /// The topic name carried by targeted deliveries (to a session, a user or
    /// a room); each session numbers its own targeted deliveries from 0.
    pub inbox: &'static str,
    /// This hub's index among the server's hubs (see [`owner_of`](super::owner_of)).
    /// Below `shards`; a hub whose index is not owns no topic and no room.
    pub shard: ShardId,
    /// How many hubs share the server's connections and topics. With 1 (the
    /// default) the hub owns everything and never has a peer message.
    pub shards: u16,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            clock: ClockId(0),
            max_frame: DEFAULT_MAX_FRAME as u32,
            max_sessions: 100_000,
            max_pending: 10_000,
            hello_timeout: Duration::from_secs(10),
            grace: Duration::from_secs(30),
            queue_messages: 1024,
            queue_bytes: 1 << 20,
            max_subscriptions: 64,
            request_memory: 64,
            input_rate: RateConfig {
                per_sec: 20,
                burst: 40,
            },
            publish_rate: RateConfig {
                per_sec: 50,
                burst: 100,
            },
            max_timed: 10_000,
            max_topics: 100_000,
            max_rooms: 10_000,
            timeline: TimelineConfig::default(),
            inbox: "@inbox",
            shard: ShardId(0),
            shards: 1,
        }
    }
}

/// What happens to a subscriber that falls behind on a topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reliability {
    /// Every message reaches every subscriber in order; one whose queue
    /// overflows is disconnected (`slow_consumer`) and catches up from
    /// history when it resumes.
    Reliable,
    /// The subscriber's oldest queued messages of the topic are dropped and a
    /// `gap` frame says which.
    Lossy,
}

/// How one topic behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TopicConfig {
    /// Reliable or lossy delivery.
    pub reliability: Reliability,
    /// Most messages kept for recovery (0: live only).
    pub history: usize,
    /// Oldest message kept for recovery.
    pub history_age: Duration,
}

impl TopicConfig {
    /// A reliable topic keeping `history` messages for up to `age`.
    pub const fn reliable(history: usize, age: Duration) -> Self {
        TopicConfig {
            reliability: Reliability::Reliable,
            history,
            history_age: age,
        }
    }

    /// A lossy topic keeping `history` messages for up to `age`.
    pub const fn lossy(history: usize, age: Duration) -> Self {
        TopicConfig {
            reliability: Reliability::Lossy,
            history,
            history_age: age,
        }
    }
}
