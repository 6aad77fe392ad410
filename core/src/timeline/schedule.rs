//! A room's schedule: the phases of one round, repeated.

use core::fmt;

use heapless::Vec;

use crate::proto::{PHASE_NAME_MAX, PhaseName};
use crate::time::Duration;

/// Most phases one round may have.
pub const MAX_PHASES: usize = 8;

/// One phase of a round, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhaseSpec {
    /// Name announced to clients, e.g. `open`.
    pub name: PhaseName,
    /// How long the phase lasts.
    pub duration: Duration,
    /// Whether inputs received during the phase are accepted.
    pub accepts_input: bool,
}

/// Why a schedule was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScheduleError {
    /// More than [`MAX_PHASES`] phases.
    TooManyPhases,
    /// A phase name longer than the wire allows.
    NameTooLong,
    /// A phase of zero duration would be announced and gone at once.
    ZeroDuration,
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScheduleError::TooManyPhases => write!(f, "a round has at most {MAX_PHASES} phases"),
            ScheduleError::NameTooLong => {
                write!(f, "a phase name has at most {PHASE_NAME_MAX} bytes")
            }
            ScheduleError::ZeroDuration => f.write_str("a phase must last longer than zero"),
        }
    }
}

impl core::error::Error for ScheduleError {}

/// The phases of one round, repeated for `rounds` rounds (forever if `None`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    phases: Vec<PhaseSpec, MAX_PHASES>,
    rounds: Option<u32>,
}

impl Schedule {
    /// An empty schedule that repeats forever once phases are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a phase to the round.
    pub fn phase(
        mut self,
        name: &str,
        duration: Duration,
        accepts_input: bool,
    ) -> Result<Self, ScheduleError> {
        if duration == Duration::ZERO {
            return Err(ScheduleError::ZeroDuration);
        }
        let name = PhaseName::try_from(name).map_err(|_| ScheduleError::NameTooLong)?;
        self.phases
            .push(PhaseSpec {
                name,
                duration,
                accepts_input,
            })
            .map_err(|_| ScheduleError::TooManyPhases)?;
        Ok(self)
    }

    /// Stops after `rounds` rounds instead of repeating forever.
    pub fn rounds(mut self, rounds: u32) -> Self {
        self.rounds = Some(rounds);
        self
    }

    /// The phases of one round.
    pub fn phases(&self) -> &[PhaseSpec] {
        &self.phases
    }

    /// How many rounds run, or `None` for forever.
    pub fn round_limit(&self) -> Option<u32> {
        self.rounds
    }

    /// Length of one round.
    pub fn round_length(&self) -> Duration {
        self.phases
            .iter()
            .fold(Duration::ZERO, |acc, p| acc.saturating_add(p.duration))
    }
}
