//! Seeded discrete-event network simulator for onbeat.
//!
//! The simulator drives onbeat-core's sans-IO machines through their public
//! shape (`handle_*(…, now)`, `poll_output()`, `poll_timeout()`,
//! `handle_timeout(now)`) over emulated networks, in simulated time, from one
//! `u64` seed:
//!
//! - [`rng`]: the run's single ChaCha8 random stream and its distributions.
//! - [`clock`]: each node's local clock (offset, drift, steps) as a function of
//!   true time, and back.
//! - [`event`]: the `(time, sequence)`-ordered event queue.
//! - [`link`]: one direction of a path as a pipeline of impairment stages.
//! - [`log`]: the running FNV-1a hash of everything that happened.
//! - [`sim`]: the loop tying queue, links and log together.
//! - [`metrics`]: mergeable histograms for the measurements.
//! - [`seeds`]: many seeds on several threads, results in seed order.
//! - [`scenario`]: the scenarios the `onbeat-sim` binary runs.
//!
//! Nothing reads the wall clock and no hash-map order reaches a result, so the
//! same seed gives the same event log, bit for bit, on every platform.
#![forbid(unsafe_code)]

pub mod bitrate;
pub mod cli;
pub mod clock;
pub mod event;
pub mod link;
pub mod log;
pub mod metrics;
pub mod plot;
pub mod rng;
pub mod scenario;
pub mod seeds;
pub mod sim;
