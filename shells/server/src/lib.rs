//! The reference onbeat server: a thin smol shell around onbeat-core's
//! [`Hub`](onbeat_core::dispatch::hub::Hub).
//!
//! HTTP/1.1 (hyper) serves the embedded demo page and SDK, `/metrics`,
//! `/healthz`, `/readyz` and `POST /demo/token`; `/ws` upgrades to a
//! WebSocket (async-tungstenite) speaking `onbeat.json.v1` or
//! `onbeat.postcard.v1`. Connection I/O runs on a multi-threaded smol
//! executor; one thread owns the hub. `docs/server.md` has the details.
//!
//! ```no_run
//! let server = onbeat_server::Server::start(onbeat_server::Config::default())?;
//! println!("listening on {}", server.local_addr());
//! server.shutdown();
//! # Ok::<(), std::io::Error>(())
//! ```

#![forbid(unsafe_code)]

pub mod assets;
pub mod auth;
pub mod clock;
pub mod close;
pub mod config;
pub mod demo;
pub mod demo_token;
mod direct;
mod driver;
mod http;
mod mailbox;
pub mod metrics;
mod outbox;
pub mod rate;
mod server;
mod socket;
#[cfg(test)]
mod test_io;
mod turn;
mod writer;
mod ws;

pub use config::Config;
pub use server::Server;
