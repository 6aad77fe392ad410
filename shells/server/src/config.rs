//! The server's configuration: every option, its default, and how it is loaded.
//!
//! Layers, later ones winning: the embedded default (in memory, no external
//! service, serves the demo), then a TOML file (`--config`), then environment
//! variables `ONBEAT_<KEY>` with `__` between section and key
//! (`ONBEAT_LISTEN`, `ONBEAT_LIMITS__MAX_FRAME`, `ONBEAT_DEMO__SEED`), then
//! command-line flags. `onbeat serve --print-config` prints the result.

use std::fmt;
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
    /// Hubs (shards of the event router), each on an I/O thread of its own:
    /// connections, and the rooms and topics they sequence, are spread over
    /// them, so that fan-out runs on every core. 0 means one per I/O
    /// thread; more than there are I/O threads is refused.
    pub hubs: usize,
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
            hubs: 0,
            log: "info".into(),
            drain_ms: 5_000,
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            demo: DemoConfig::default(),
        }
    }
}

/// The embedded default of `auth.secret`. It is public (in this source and
/// in every build), so anyone can mint tokens that a server using it
/// accepts: [`Config::check`] allows it only on a loopback address.
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
        let sections = sections();
        figment
            .merge(Env::prefixed(ENV_PREFIX).split("__").filter(move |key| {
                let section = section(key.as_str());
                sections.iter().any(|s| s.eq_ignore_ascii_case(section))
            }))
            .extract()
            .map_err(Box::new)
    }

    /// `ONBEAT_*` environment variables that name no config section, so
    /// that [`Config::load`] leaves them alone: the prefix is shared with
    /// other tools (e.g. the simulator's `ONBEAT_TRACES`), and a variable
    /// for something else must not stop the server. Worth a warning all the
    /// same: it may be a misspelt setting.
    pub fn foreign_env() -> Vec<String> {
        let sections = sections();
        std::env::vars_os()
            .filter_map(|(key, _)| key.into_string().ok())
            .filter(|key| {
                key.strip_prefix(ENV_PREFIX).is_some_and(|rest| {
                    let rest = rest.to_ascii_lowercase().replace("__", ".");
                    !sections.iter().any(|s| s == section(&rest))
                })
            })
            .collect()
    }

    /// Refuses what parses but must not be served: an empty `auth.secret`,
    /// or the public [`DEFAULT_SECRET`] while `listen` is not a loopback
    /// address (so `onbeat serve` with no options still runs the demo on
    /// 127.0.0.1, but never opens the default secret to a network).
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.auth.secret.is_empty() {
            return Err(ConfigError::EmptySecret);
        }
        self.check_hubs()?;
        // An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is loopback too.
        let loopback = self.listen.ip().to_canonical().is_loopback();
        if self.auth.secret == DEFAULT_SECRET && !loopback {
            return Err(ConfigError::DefaultSecretBeyondLoopback {
                listen: self.listen,
            });
        }
        Ok(())
    }

    /// A configuration for tests and tools that run a server inside their
    /// own process: any free port on 127.0.0.1 (read it back with
    /// [`Server::local_addr`](crate::Server::local_addr)), one I/O thread,
    /// a 1 s drain, demo rounds of 1.2 s (600 ms of picks, 300 ms closed,
    /// 300 ms of reveal) with a fixed seed, so that a test sees several
    /// rounds with the same outcomes every run, and `secret` signing
    /// tokens. Everything else is the default.
    pub fn loopback(secret: &str) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            threads: 1,
            drain_ms: 1_000,
            auth: AuthConfig {
                secret: secret.to_owned(),
                ..AuthConfig::default()
            },
            demo: DemoConfig {
                picks_ms: 600,
                closed_ms: 300,
                reveal_ms: 300,
                seed: Some(7),
                ..DemoConfig::default()
            },
            ..Config::default()
        }
    }

    /// Refuses more `hubs` than I/O threads to run them on.
    pub fn check_hubs(&self) -> Result<(), ConfigError> {
        let threads = self.io_threads();
        if self.hubs > threads || self.hubs > usize::from(u16::MAX) {
            return Err(ConfigError::TooManyHubs {
                hubs: self.hubs,
                threads,
            });
        }
        Ok(())
    }

    /// The I/O threads to run: `threads`, or one per core.
    pub fn io_threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// The hubs to run: `hubs`, or one per I/O thread.
    pub fn hub_count(&self) -> usize {
        match self.hubs {
            0 => self.io_threads(),
            n => n,
        }
    }

    /// The configuration as TOML, as `--print-config` shows it.
    pub fn to_toml(&self) -> String {
        // Every field is a plain value, a string, a list or a table, all of
        // which TOML represents.
        toml::to_string_pretty(self).expect("the config always serializes to TOML")
    }
}

/// Why [`Config::check`] refused a configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `auth.secret` is empty.
    EmptySecret,
    /// `auth.secret` is the public default and `listen` is reachable from
    /// other machines.
    DefaultSecretBeyondLoopback {
        /// The address configured.
        listen: SocketAddr,
    },
    /// More `hubs` than I/O threads to run them on.
    TooManyHubs {
        /// The hubs configured.
        hubs: usize,
        /// The I/O threads there are.
        threads: usize,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::EmptySecret => f.write_str(
                "auth.secret is empty: set it in the --config file or with ONBEAT_AUTH__SECRET",
            ),
            ConfigError::DefaultSecretBeyondLoopback { listen } => write!(
                f,
                "listen = {listen} is reachable beyond this machine and auth.secret is the \
                 public default, with which anyone can mint tokens: set auth.secret in the \
                 --config file or with ONBEAT_AUTH__SECRET (e.g. \
                 ONBEAT_AUTH__SECRET=$(openssl rand -hex 32)), or listen on 127.0.0.1"
            ),
            ConfigError::TooManyHubs { hubs, threads } => write!(
                f,
                "hubs = {hubs} but there are {threads} I/O threads: each hub runs on a \
                 thread of its own; set hubs to at most threads (0: one per thread)"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Environment variables starting with this override settings: `__`
/// separates nested keys (`ONBEAT_AUTH__SECRET` is `auth.secret`).
pub const ENV_PREFIX: &str = "ONBEAT_";

/// The config's top-level keys.
fn sections() -> Vec<String> {
    match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// The top-level key of a figment key (`auth.secret` is in `auth`).
fn section(key: &str) -> &str {
    key.split('.').next().unwrap_or(key)
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
    fn the_default_secret_is_refused_beyond_loopback_only() {
        let at = |listen: &str, secret: &str| {
            let mut c = Config {
                listen: listen.parse().unwrap(),
                ..Config::default()
            };
            c.auth.secret = secret.into();
            c.check()
        };
        assert_eq!(Config::default().check(), Ok(()));
        for loopback in [
            "127.0.0.1:7700",
            "127.1.2.3:1",
            "[::1]:7700",
            "[::ffff:127.0.0.1]:1",
        ] {
            assert_eq!(at(loopback, DEFAULT_SECRET), Ok(()), "{loopback}");
        }
        for open in [
            "0.0.0.0:7700",
            "[::]:7700",
            "192.168.1.5:80",
            "[::ffff:10.0.0.1]:1",
        ] {
            let listen = open.parse().unwrap();
            assert_eq!(
                at(open, DEFAULT_SECRET),
                Err(ConfigError::DefaultSecretBeyondLoopback { listen })
            );
            assert_eq!(at(open, "a-secret-of-ones-own"), Ok(()), "{open}");
        }
        assert_eq!(at("127.0.0.1:1", ""), Err(ConfigError::EmptySecret));
        let why = at("0.0.0.0:7700", DEFAULT_SECRET).unwrap_err().to_string();
        assert!(
            why.contains("ONBEAT_AUTH__SECRET") && why.contains("auth.secret"),
            "{why}"
        );
    }

    #[test]
    fn the_loopback_config_passes_its_check() {
        let c = Config::loopback("s");
        assert!(c.listen.ip().is_loopback());
        assert_eq!(c.auth.secret, "s");
        assert_eq!(c.check(), Ok(()));
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

    #[allow(clippy::result_large_err)]
    #[test]
    fn other_onbeat_variables_are_left_alone_and_named() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ONBEAT_TRACES", "/somewhere");
            jail.set_env("ONBEAT_DRAIN_MS", "250");
            jail.set_env("ONBEAT_AUTH__SECRET", "s");
            let c = Config::load(None).map_err(|e| *e)?;
            assert_eq!((c.drain_ms, c.auth.secret.as_str()), (250, "s"));
            assert_eq!(Config::foreign_env(), vec!["ONBEAT_TRACES".to_string()]);
            // A misspelt key inside a section is still an error.
            jail.set_env("ONBEAT_AUTH__SECRT", "s");
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }
}
