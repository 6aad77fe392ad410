//! What parses but must not be served: [`Config::check`] and the
//! [`ConfigError`] it refuses a configuration with.

use std::fmt;
use std::net::SocketAddr;

use super::{Config, DEFAULT_SECRET};

impl Config {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
