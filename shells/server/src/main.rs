//! `onbeat`: run the server, or mint a token.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use onbeat_server::auth::{self, Caps, Claims};
use onbeat_server::{Config, Server};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "onbeat", version, about = "Real-time interaction server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP and WebSocket (the demo with no config).
    Serve {
        /// TOML config file (see shells/server/onbeat.example.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on, overriding the config and ONBEAT_LISTEN.
        /// Other than a loopback address, it needs an auth.secret of one's
        /// own (ONBEAT_AUTH__SECRET): the default one is public.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Print the effective config as TOML and exit.
        #[arg(long)]
        print_config: bool,
    },
    /// Mint a signed token with the config's secret.
    Token {
        /// TOML config file whose `auth.secret` signs the token.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The user the token names.
        #[arg(long)]
        sub: String,
        /// A grant, repeatable: `room:ROOM:PERMS` (PERMS `*` or a comma list
        /// of sub, pub, input), `topic:PATTERN:PERMS` (sub, pub), `input:ROOM`.
        #[arg(long = "allow", required = true)]
        allow: Vec<String>,
        /// Lifetime: a number with s, m, h or d (e.g. `90s`, `1h`).
        #[arg(long, default_value = "1h", value_parser = parse_ttl)]
        ttl: u64,
    },
}

fn parse_ttl(text: &str) -> Result<u64, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("bad ttl {text:?}: expected e.g. 30m"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("bad ttl unit {unit:?}: use s, m, h or d")),
    };
    n.checked_mul(scale)
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("bad ttl {text:?}"))
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve {
            config,
            listen,
            print_config,
        } => serve(config, listen, print_config),
        Command::Token {
            config,
            sub,
            allow,
            ttl,
        } => token(config, sub, &allow, ttl),
    }
}

fn load(file: Option<PathBuf>) -> Result<Config, ExitCode> {
    Config::load(file.as_deref()).map_err(|e| {
        eprintln!("onbeat: config: {e}");
        ExitCode::from(2)
    })
}

fn serve(file: Option<PathBuf>, listen: Option<std::net::SocketAddr>, print: bool) -> ExitCode {
    let mut config = match load(file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Some(listen) = listen {
        config.listen = listen;
    }
    if print {
        print!("{}", config.to_toml());
        return ExitCode::SUCCESS;
    }
    if let Err(e) = config.check() {
        eprintln!("onbeat: config: {e}");
        return ExitCode::from(2);
    }
    let filter = std::env::var("ONBEAT_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| config.log.clone());
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    for name in Config::foreign_env() {
        if name != "ONBEAT_LOG" {
            tracing::warn!(variable = %name, "names no config setting; ignored");
        }
    }
    let mut signals = match Signals::new([SIGINT, SIGTERM]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("onbeat: cannot watch signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = match Server::start(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("onbeat: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("onbeat: serving http://{}/", server.local_addr());
    if let Some(signal) = signals.forever().next() {
        tracing::info!(signal, "stopping");
    }
    server.shutdown();
    ExitCode::SUCCESS
}

fn token(file: Option<PathBuf>, sub: String, allow: &[String], ttl: u64) -> ExitCode {
    let config = match load(file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut caps = Caps::default();
    for grant in allow {
        if let Err(e) = caps.grant(grant) {
            eprintln!("onbeat: {e}");
            return ExitCode::from(2);
        }
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = Claims {
        sub,
        exp: now + ttl,
        iat: now,
        caps,
    };
    if let Err(e) = claims.capabilities() {
        eprintln!("onbeat: {e}");
        return ExitCode::from(2);
    }
    println!("{}", auth::mint(config.auth.secret.as_bytes(), &claims));
    ExitCode::SUCCESS
}
