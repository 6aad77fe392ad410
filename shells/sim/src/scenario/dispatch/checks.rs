//! The checks, and how violations are counted and described.

use onbeat_core::Instant;

/// One family of checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Check {
    /// Per topic, offsets in order, no duplicate, no unsignalled gap.
    Order,
    /// Every client sees at one position what the hub appended there.
    Content,
    /// `recovered` is true exactly when the history still held `since`.
    Recovery,
    /// No timed delivery leaves the hub before its `at`.
    Timed,
    /// Every input and publish gets exactly one outcome; the hub judges an
    /// input at most once.
    Requests,
    /// After the faults heal every client is connected, caught up, answered
    /// and agrees with the hub on presence.
    Liveness,
    /// Queues, histories, held publishes and sessions within their limits.
    Memory,
    /// The hub broke the protocol as the client session saw it (a reliable
    /// topic skipping, an unannounced epoch, a bad recovery or gap).
    Protocol,
}

impl Check {
    /// Every check, in report order.
    pub const ALL: [Check; 8] = [
        Check::Order,
        Check::Content,
        Check::Recovery,
        Check::Timed,
        Check::Requests,
        Check::Liveness,
        Check::Memory,
        Check::Protocol,
    ];

    /// The check's name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Check::Order => "order",
            Check::Content => "content",
            Check::Recovery => "recovery",
            Check::Timed => "timed",
            Check::Requests => "requests",
            Check::Liveness => "liveness",
            Check::Memory => "memory",
            Check::Protocol => "protocol",
        }
    }
}

/// Violations found in one seed: counted per check, the first few described.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Violations {
    /// Per check, in the order of [`Check::ALL`].
    pub counts: [u64; 8],
    /// The first few, described with seed, client and time.
    pub first: Vec<String>,
}

/// Descriptions kept per seed.
const DESCRIBED: usize = 5;

impl Violations {
    /// Counts one violation; `what` is only called for the first few.
    pub fn add(
        &mut self,
        check: Check,
        seed: u64,
        client: Option<usize>,
        at: Instant,
        what: impl FnOnce() -> String,
    ) {
        self.counts[check as usize] += 1;
        if self.first.len() < DESCRIBED {
            let who = client.map_or("hub".to_string(), |c| format!("client {c}"));
            self.first.push(format!(
                "seed {seed} failed: {}: {who} at {}us: {}",
                check.name(),
                at.as_micros(),
                what()
            ));
        }
    }

    /// All violations.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}
