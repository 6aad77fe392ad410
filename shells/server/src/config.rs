//! The server's configuration: every option, its default, and how it is loaded.
//!
//! Layers, later ones winning: the embedded default (in memory, no external
//! service, serves the demo), then a TOML file (`--config`), then environment
//! variables `ONBEAT_<KEY>` with `__` between section and key
//! (`ONBEAT_LISTEN`, `ONBEAT_LIMITS__MAX_FRAME`, `ONBEAT_DEMO__SEED`), then
//! command-line flags. `onbeat serve --print-config` prints the result.

mod check;
mod load;
mod sections;

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

pub use check::ConfigError;
pub use load::ENV_PREFIX;
pub use sections::{AuthConfig, DEFAULT_SECRET, DemoConfig, LimitsConfig};

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

impl Config {
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
}
