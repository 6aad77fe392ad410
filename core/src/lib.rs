//! # onbeat-core
//!
//! The sans-IO, deterministic heart of onbeat. Nothing in this crate reads a
//! clock, opens a socket, spawns a thread or draws a random number: time, bytes
//! and seeds come in as values and decisions come out as values. The same
//! inputs give the same outputs, bit for bit, on a server or a microcontroller.
//!
//! ## The shape of every state machine
//!
//! Every machine in this crate ([`timeline::ClockSync`], [`timeline::Timeline`],
//! the dispatch machines, the [`bitrate`] estimator and allocator) has the same four entry points, modelled on str0m and
//! quinn-proto:
//!
//! - `handle_*(input, now)` feeds one input that arrived at `now` (a message, a
//!   request). Bad input returns a small typed error and changes nothing else.
//! - `poll_output()` returns the next thing the machine wants done (a message to
//!   send, an event to report), or `None` when there is nothing left.
//! - `poll_timeout()` returns the instant at which the machine next needs
//!   `handle_timeout`, or `None` if it is idle.
//! - `handle_timeout(now)` lets the machine act on the passage of time.
//!
//! **The rule:** after every `handle_*` call, call `poll_output()` until it
//! returns `None`, then read `poll_timeout()` and arrange to call
//! `handle_timeout` at that instant (or earlier, if another input arrives
//! first). Only then feed the next input. A shell that follows this rule never
//! misses an output and never busy-waits.
//!
//! `now` must not go backwards between calls on one machine; machines clamp it
//! if it does, so a misbehaving clock cannot corrupt their state.
//!
//! ## Features
//!
//! - no features: `#![no_std]`, no heap; capacities are fixed (`heapless`) and
//!   the wire format is postcard.
//! - `alloc`: heap-backed containers and the JSON encoding.
//! - `std` (default): implies `alloc`.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod bitrate;
pub mod dispatch;
pub mod proto;
pub mod time;
pub mod timeline;

pub use time::{Duration, Instant};
