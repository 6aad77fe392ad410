//! One shared timeline for every participant.
//!
//! - [`ClockSync`] runs on each client: it estimates the server's clock with an
//!   honest error bound and presents it as a smooth, monotonic shared time.
//! - [`Timeline`] runs on the server, one per room: it lays a [`Schedule`] of
//!   phases ("inputs open", "inputs closed", "reveal") on the server's clock,
//!   announces each phase ahead of time, and judges every input by its server
//!   receive time.

mod clock_sync;
mod mapping;
mod phases;
mod region;
mod schedule;

pub use clock_sync::{ClockConfig, ClockError, ClockEvent, ClockSync, Estimate};
pub use phases::{Timeline, TimelineConfig, TimelineEvent, Verdict};
pub use schedule::{MAX_PHASES, PhaseSpec, Schedule, ScheduleError};
