//! The server's configuration: every option, its default, and how it is loaded.
//!
//! Layers, later ones winning: the embedded default (in memory, no external
//! service, serves the demo), then a TOML file (`--config`), then environment
//! variables `ONBEAT_<KEY>` with `__` between section and key
//! (`ONBEAT_LISTEN`, `ONBEAT_LIMITS__MAX_FRAME`, `ONBEAT_DEMO__SEED`), then
//! command-line flags. `onbeat serve --print-config` prints the result.

use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Every option of the server. `Default` is the embedded default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on for HTTP and WebSocket.
    pub listen: SocketAddr,
    /// Threads running connection I/O; 0 means one per core.
    pub threads: usize,
    /// Log filter (`tracing-subscriber` directives such as `info` or
    /// `onbeat_server=debug`); `ONBEAT_LOG` or `RUST_LOG` override it.
    pub log: String,
    /// How long a graceful shutdown waits for clients to take their last
    /// frames and close, in milliseconds.
    pub drain_ms: u64,
    /// Who may connect and what they may do.
    pub auth: AuthConfig,
    /// Bounds on connections, frames and queues.
    pub limits: LimitsConfig,
    /// The live-table demo room.
    pub demo: DemoConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 7700)),
            threads: 0,
            log: "info".into(),
            drain_ms: 5_000,
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            demo: DemoConfig::default(),
        }
    }
}

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
            secret: "onbeat-development-secret".into(),
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

impl Config {
    /// The effective configuration: the default, then `file` if given, then
    /// the `ONBEAT_*` environment.
    pub fn load(file: Option<&Path>) -> Result<Config, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(Box::new(figment::Error::from(format!(
                    "config file {} does not exist",
                    path.display()
                ))));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment
            .merge(Env::prefixed("ONBEAT_").split("__"))
            .extract()
            .map_err(Box::new)
    }

    /// The configuration as TOML, as `--print-config` shows it.
    pub fn to_toml(&self) -> String {
        // Every field is a plain value, a string, a list or a table, all of
        // which TOML represents.
        toml::to_string_pretty(self).expect("the config always serializes to TOML")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_round_trips_through_toml() {
        let text = Config::default().to_toml();
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back, Config::default());
    }

    #[test]
    fn the_example_file_is_the_default() {
        let text = include_str!("../onbeat.example.toml");
        let example: Config = toml::from_str(text).unwrap();
        assert_eq!(example, Config::default());
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("listne = \"127.0.0.1:1\"").is_err());
    }

    // figment's test jail dictates the closure's error type.
    #[allow(clippy::result_large_err)]
    #[test]
    fn environment_overrides_nested_keys() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ONBEAT_LISTEN", "127.0.0.1:9");
            jail.set_env("ONBEAT_LIMITS__MAX_FRAME", "1024");
            jail.set_env("ONBEAT_DEMO__SEED", "7");
            jail.create_file("o.toml", "threads = 3\n[limits]\nmax_frame = 99\n")?;
            let c = Config::load(Some(Path::new("o.toml"))).map_err(|e| *e)?;
            assert_eq!(c.listen, SocketAddr::from(([127, 0, 0, 1], 9)));
            assert_eq!(c.threads, 3);
            assert_eq!(c.limits.max_frame, 1024);
            assert_eq!(c.demo.seed, Some(7));
            Ok(())
        });
    }
}
