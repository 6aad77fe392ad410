//! Timeline phase announcements.

use serde::{Deserialize, Serialize};

use crate::time::Instant;

/// The longest phase name, in bytes.
pub const PHASE_NAME_MAX: usize = 16;

/// A phase's name, e.g. `open`, `closed`, `reveal`. Bounded so that it fits
/// on devices without a heap and so that untrusted input cannot grow it.
pub type PhaseName = heapless::String<PHASE_NAME_MAX>;

/// One phase of one round on a room's timeline, in server time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    /// Round number, counting from 0.
    pub round: u32,
    /// Position of this phase within its round, counting from 0.
    pub index: u8,
    /// The phase's name from the schedule.
    pub name: PhaseName,
    /// Server time at which the phase begins.
    pub starts_at: Instant,
    /// Server time at which the phase ends (and the next one begins).
    pub ends_at: Instant,
    /// Whether inputs received during this phase are accepted.
    pub accepts_input: bool,
}
