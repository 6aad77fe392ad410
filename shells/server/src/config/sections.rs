//! The configuration's sections beyond the top-level keys: who may
//! connect ([`AuthConfig`]), the bounds per client ([`LimitsConfig`]) and
//! the demo room ([`DemoConfig`]), each with its embedded default.

use serde::{Deserialize, Serialize};

/// The embedded default of `auth.secret`. It is public (in this source and
/// in every build), so anyone can mint tokens that a server using it
/// accepts: [`Config::check`](super::Config::check) allows it only on a
/// loopback address.
pub const DEFAULT_SECRET: &str = "onbeat-development-secret";

/// Authentication and origin checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// HS256 key that signs and verifies tokens. The default is public:
    /// set your own in production.
    pub secret: String,
    /// Browser origins allowed to open `/ws` (exact `scheme://host[:port]`,
    /// or `*` for any). Empty: only the page's own origin (the `Origin`
    /// matches the `Host` the request was sent to). Clients that send no
    /// `Origin` (not browsers) are not checked.
    pub allowed_origins: Vec<String>,
    /// Whether connections without a token may watch the demo room
    /// (subscribe to its topics, no input).
    pub anonymous_viewers: bool,
    /// Whether `POST /demo/token` hands out player tokens for the demo room.
    pub anonymous_players: bool,
    /// Lifetime of tokens from `/demo/token`, in seconds.
    pub demo_token_ttl_s: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            secret: DEFAULT_SECRET.into(),
            allowed_origins: Vec::new(),
            anonymous_viewers: true,
            anonymous_players: true,
            demo_token_ttl_s: 3_600,
        }
    }
}

/// Bounds that keep memory and CPU per client in check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Most open WebSocket connections; beyond it an upgrade gets HTTP 503.
    pub max_connections: usize,
    /// Largest inbound WebSocket message in bytes; a larger one is answered
    /// `frame_too_large` and the connection closed with 1009.
    pub max_frame: u32,
    /// Frames per second one connection may send, sustained.
    pub frames_per_sec: u32,
    /// Frames one connection may send back to back; past this and the rate
    /// it gets `rate_limited` and is closed with 1008.
    pub frames_burst: u32,
    /// Inputs per second per session (the hub's input token bucket).
    pub inputs_per_sec: u32,
    /// Input burst per session.
    pub inputs_burst: u32,
    /// Publishes per second per session.
    pub publishes_per_sec: u32,
    /// Publish burst per session.
    pub publishes_burst: u32,
    /// Frames one session's outbound queue holds before it is a slow
    /// consumer (reliable topics) or loses its oldest (lossy topics).
    pub queue_messages: usize,
    /// Bytes one session's outbound queue holds.
    pub queue_bytes: usize,
    /// Bytes read from a socket at once. Every connection holds a buffer
    /// this size while open, so it is small; a frame larger than it gets a
    /// buffer of its own size while it arrives.
    pub read_buffer_bytes: usize,
    /// Most bytes written to a socket in one write (frames are coalesced up
    /// to this).
    pub write_batch_bytes: usize,
    /// Most sessions, connected or within their grace.
    pub max_sessions: usize,
    /// Most topics one session may follow.
    pub max_subscriptions: usize,
    /// How long a connection may take to send `hello`, in milliseconds.
    pub hello_timeout_ms: u64,
    /// How long a session outlives its connection, resumable, in milliseconds.
    pub grace_ms: u64,
    /// How long the server keeps writing to a connection it is closing (its
    /// last frames and the close frame) before it drops it, and then waits
    /// for the peer's close reply, in milliseconds: a peer that stopped
    /// reading cannot hold it longer.
    pub close_timeout_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_connections: 20_000,
            max_frame: 65_536,
            frames_per_sec: 200,
            frames_burst: 400,
            inputs_per_sec: 20,
            inputs_burst: 40,
            publishes_per_sec: 50,
            publishes_burst: 100,
            queue_messages: 1024,
            queue_bytes: 1 << 20,
            read_buffer_bytes: 256,
            write_batch_bytes: 64 * 1024,
            max_sessions: 100_000,
            max_subscriptions: 64,
            hello_timeout_ms: 10_000,
            grace_ms: 30_000,
            close_timeout_ms: 10_000,
        }
    }
}

/// The live-table demo room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemoConfig {
    /// Whether the room runs at all.
    pub enabled: bool,
    /// How long picks are open each round, in milliseconds.
    pub picks_ms: u64,
    /// How long the table stays closed before the reveal, in milliseconds.
    pub closed_ms: u64,
    /// How long the outcome stays on show before the next round, in
    /// milliseconds.
    pub reveal_ms: u64,
    /// Seed for the outcomes and salts; absent: drawn from the OS. Set it
    /// only for tests, since a known seed makes outcomes predictable.
    pub seed: Option<u64>,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            enabled: true,
            picks_ms: 10_000,
            closed_ms: 2_000,
            reveal_ms: 3_000,
            seed: None,
        }
    }
}
