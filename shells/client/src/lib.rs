//! onbeat's Rust client: one session with an onbeat server over WebSocket,
//! on the smol runtime.
//!
//! [`Client::connect`] starts a task that owns a core
//! [`ClientSession`](onbeat_core::dispatch::ClientSession) and a
//! [`ClockSync`](onbeat_core::timeline::ClockSync): it connects, says
//! `hello`, resumes after a dropped connection with the session's backoff,
//! resubscribes every topic from its last position (so recovery is exact or
//! reported), resends requests in doubt, and samples the server's clock. The
//! app subscribes, publishes and sends inputs through the [`Client`] and
//! reads [`Event`]s from it.
//!
//! ```no_run
//! # smol::block_on(async {
//! use onbeat_client::{Client, Event, Options};
//!
//! let client = Client::connect(Options::new("ws://127.0.0.1:7700/ws").token("<jwt>"));
//! client.subscribe("table/round", None).await?;
//! while let Some(event) = client.next_event().await {
//!     if let Event::Delivered(d) = event {
//!         println!("{} #{}: {}", d.topic, d.offset, String::from_utf8_lossy(&d.data));
//!     }
//! }
//! # Ok::<(), onbeat_client::Error>(())
//! # });
//! ```

mod client;
mod clock;
pub mod codec;
mod driver;
mod event;
pub mod transport;

pub use client::{Client, DEFAULT_EVENT_CAPACITY, Error, Options};
pub use codec::Codec;
pub use event::{Delivery, Event};
pub use onbeat_core::dispatch::{InputStatus, PublishStatus, RequestError};
pub use onbeat_core::proto::{ErrorCode, NotRecovered, Position, RejectCode};
pub use onbeat_core::timeline::Estimate;
pub use transport::{CloseInfo, TokenPlacement};
