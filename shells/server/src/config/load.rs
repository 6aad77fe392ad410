//! Loading the configuration in layers: the embedded default, then a TOML
//! file, then the `ONBEAT_*` environment, which shares its prefix with other
//! tools and so is read only for the keys the config has.

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};

use super::Config;

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
}

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
    use std::net::SocketAddr;

    use super::*;

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
