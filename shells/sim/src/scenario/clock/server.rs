//! The room's server: its clock (one per process lifetime) and its timeline.

use onbeat_core::proto::ClockId;
use onbeat_core::timeline::{Schedule, Timeline, TimelineConfig};
use onbeat_core::{Duration, Instant};

use super::params::{ANNOUNCE_LEAD, FIRST_PHASE_SECS};
use crate::clock::NodeClock;

/// The phases every room runs: inputs open for 3 s, then closed for 2 s.
pub fn schedule() -> Schedule {
    Schedule::new()
        .phase("open", Duration::from_secs(3), true)
        .and_then(|s| s.phase("closed", Duration::from_secs(2), false))
        // Both names are short and both durations non-zero.
        .expect("static schedule is valid")
}

/// The server node.
#[derive(Debug)]
pub struct Server {
    /// Every clock the server has had, oldest first. Old ones stay, because a
    /// client's estimate is judged against the clock it refers to.
    lives: Vec<(ClockId, NodeClock)>,
    /// Whether the process is running.
    pub up: bool,
    /// The room's timeline for the current process.
    pub timeline: Timeline,
    /// Bumped whenever the timeline is replaced, so stale wake-ups are ignored.
    pub timeline_gen: u64,
    /// Next announcement key; keys are unique across restarts.
    pub next_key: u32,
}

impl Server {
    /// A server started at true time zero with `clock`.
    pub fn new(id: ClockId, clock: NodeClock) -> Self {
        let timeline = Self::timeline(&clock, Instant::ZERO);
        Server {
            lives: vec![(id, clock)],
            up: true,
            timeline,
            timeline_gen: 0,
            next_key: 0,
        }
    }

    fn timeline(clock: &NodeClock, now: Instant) -> Timeline {
        let start = clock.local(now) + Duration::from_secs(FIRST_PHASE_SECS);
        let config = TimelineConfig {
            announce_lead: ANNOUNCE_LEAD,
        };
        Timeline::new(schedule(), start, config)
    }

    /// The process comes back at true `now` with a new clock and a new timeline.
    pub fn restart(&mut self, now: Instant, id: ClockId, clock: NodeClock) {
        self.timeline = Self::timeline(&clock, now);
        self.timeline_gen += 1;
        self.lives.push((id, clock));
        self.up = true;
    }

    /// The current process's clock id.
    pub fn clock_id(&self) -> ClockId {
        self.lives[self.lives.len() - 1].0
    }

    /// The current process's clock.
    pub fn clock(&self) -> &NodeClock {
        &self.lives[self.lives.len() - 1].1
    }

    /// Which life the current process is (0 before any restart).
    pub fn life(&self) -> usize {
        self.lives.len() - 1
    }

    /// Ground truth: what clock `id` reads at true time `t`.
    pub fn truth(&self, id: ClockId, t: Instant) -> Option<Instant> {
        self.lives
            .iter()
            .find(|(c, _)| *c == id)
            .map(|(_, clock)| clock.local(t))
    }
}
