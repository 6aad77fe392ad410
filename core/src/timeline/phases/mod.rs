//! The server's timeline for one room: announces phases and judges inputs.

use crate::proto::{Phase, RejectCode};
use crate::time::{Duration, Instant};

use super::schedule::Schedule;

/// How a [`Timeline`] announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimelineConfig {
    /// Phases are announced this long before they begin, so that every client
    /// can fire them at the same shared instant instead of on arrival.
    pub announce_lead: Duration,
}

impl Default for TimelineConfig {
    fn default() -> Self {
        TimelineConfig {
            announce_lead: Duration::from_secs(1),
        }
    }
}

/// What a [`Timeline`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimelineEvent {
    /// A phase will begin soon: tell the room's clients, who fire it at
    /// `starts_at` on their shared clocks.
    Upcoming(Phase),
    /// A phase has begun on the server's clock.
    Began(Phase),
    /// The last round's last phase has ended.
    Finished,
}

/// An accepted input: which round and phase it counted for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Round the input counts for.
    pub round: u32,
    /// Phase (within the round) during which it was received.
    pub phase: u8,
    /// When that phase closes.
    pub closes_at: Instant,
}

/// A room's schedule laid on the server's clock.
///
/// Deterministic: the events and verdicts depend only on the schedule, the
/// start instant and the instants passed in. When time jumps past whole
/// phases (a stalled shell), phases that already ended are not announced.
#[derive(Clone, Debug)]
pub struct Timeline {
    schedule: Schedule,
    start: Instant,
    config: TimelineConfig,
    /// Global index (round × phases + index) of the next phase to announce.
    next_upcoming: u64,
    /// Global index of the next phase to begin.
    next_began: u64,
    finish_reported: bool,
    now: Instant,
}

impl Timeline {
    /// Lays `schedule` on the server clock from `start`.
    pub fn new(schedule: Schedule, start: Instant, config: TimelineConfig) -> Self {
        Timeline {
            schedule,
            start,
            config,
            next_upcoming: 0,
            next_began: 0,
            finish_reported: false,
            now: Instant::ZERO,
        }
    }

    /// The schedule being run.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Lets time pass; events now due are returned by [`Self::poll_output`].
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        // Phases over before `now` would be announced too late to matter.
        while self
            .phase_at(self.next_upcoming)
            .is_some_and(|p| p.ends_at <= self.now)
        {
            self.next_upcoming += 1;
        }
        while self
            .phase_at(self.next_began)
            .is_some_and(|p| p.ends_at <= self.now)
        {
            self.next_began += 1;
        }
    }

    /// The next due event, in time order (a phase begins before a later
    /// phase due at the same instant is announced).
    pub fn poll_output(&mut self) -> Option<TimelineEvent> {
        let began = self.phase_at(self.next_began);
        let upcoming = self.phase_at(self.next_upcoming);
        let began_due = began.as_ref().map(|p| p.starts_at);
        let upcoming_due = upcoming.as_ref().map(|p| self.announce_at(p));
        match (began_due, upcoming_due) {
            (Some(b), u) if b <= self.now && u.is_none_or(|u| b <= u) => {
                self.next_began += 1;
                began.map(TimelineEvent::Began)
            }
            (_, Some(u)) if u <= self.now => {
                self.next_upcoming += 1;
                upcoming.map(TimelineEvent::Upcoming)
            }
            (None, None) if !self.finish_reported && self.end().is_some_and(|e| e <= self.now) => {
                self.finish_reported = true;
                Some(TimelineEvent::Finished)
            }
            _ => None,
        }
    }

    /// When the next event is due, or `None` once the schedule is over.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let began = self.phase_at(self.next_began).map(|p| p.starts_at);
        let upcoming = self
            .phase_at(self.next_upcoming)
            .map(|p| self.announce_at(&p));
        let finish = if self.finish_reported {
            None
        } else {
            self.end()
        };
        [began, upcoming, finish].into_iter().flatten().min()
    }

    /// The phase in progress at server time `at`.
    pub fn phase_during(&self, at: Instant) -> Option<Phase> {
        let n = self.schedule.phases().len() as u64;
        let round_len = self.schedule.round_length().as_micros();
        if n == 0 || at < self.start {
            return None;
        }
        let since = at.saturating_duration_since(self.start).as_micros();
        let round = since / round_len;
        let mut into = since % round_len;
        for (i, spec) in self.schedule.phases().iter().enumerate() {
            if into < spec.duration.as_micros() {
                return self.phase_at(round * n + i as u64);
            }
            into -= spec.duration.as_micros();
        }
        None
    }

    /// Judges an input received at server time `received_at`, optionally meant
    /// for `round`. Accepted only while a phase that accepts inputs is in
    /// progress (and, if given, in the intended round).
    pub fn judge(&self, received_at: Instant, round: Option<u32>) -> Result<Verdict, RejectCode> {
        let Some(phase) = self.phase_during(received_at) else {
            let over = self.end().is_some_and(|e| received_at >= e);
            return Err(if over && self.has_input_phase() {
                RejectCode::Late
            } else {
                RejectCode::NotOpen
            });
        };
        match round {
            Some(r) if r < phase.round => return Err(RejectCode::Late),
            Some(r) if r > phase.round => return Err(RejectCode::NotOpen),
            _ => {}
        }
        if phase.accepts_input {
            return Ok(Verdict {
                round: phase.round,
                phase: phase.index,
                closes_at: phase.ends_at,
            });
        }
        let earlier = &self.schedule.phases()[..usize::from(phase.index)];
        Err(if earlier.iter().any(|p| p.accepts_input) {
            RejectCode::Late
        } else {
            RejectCode::NotOpen
        })
    }

    fn has_input_phase(&self) -> bool {
        self.schedule.phases().iter().any(|p| p.accepts_input)
    }

    fn announce_at(&self, phase: &Phase) -> Instant {
        phase.starts_at.saturating_sub(self.config.announce_lead)
    }

    /// When the last phase ends, for a schedule with a round limit.
    fn end(&self) -> Option<Instant> {
        let rounds = self.schedule.round_limit()?;
        if self.schedule.phases().is_empty() {
            return Some(self.start);
        }
        let len = self
            .schedule
            .round_length()
            .saturating_mul(u64::from(rounds));
        Some(self.start + len)
    }

    /// The phase with global index `g`, if the schedule reaches it.
    fn phase_at(&self, g: u64) -> Option<Phase> {
        let phases = self.schedule.phases();
        let n = phases.len() as u64;
        if n == 0 {
            return None;
        }
        let round = g / n;
        let index = (g % n) as usize;
        if self
            .schedule
            .round_limit()
            .is_some_and(|r| round >= u64::from(r))
        {
            return None;
        }
        let round = u32::try_from(round).ok()?;
        let into: Duration = phases[..index]
            .iter()
            .fold(Duration::ZERO, |acc, p| acc.saturating_add(p.duration));
        let starts_at = self.start
            + self
                .schedule
                .round_length()
                .saturating_mul(u64::from(round))
                .saturating_add(into);
        let spec = &phases[index];
        Some(Phase {
            round,
            // MAX_PHASES is far below 256.
            index: index as u8,
            name: spec.name.clone(),
            starts_at,
            ends_at: starts_at + spec.duration,
            accepts_input: spec.accepts_input,
        })
    }
}

#[cfg(test)]
mod tests;
