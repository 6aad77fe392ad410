//! Clock synchronisation messages: the four-timestamp exchange.

use serde::{Deserialize, Serialize};

use crate::time::Instant;

/// Identifies one run of the server's clock.
///
/// The server picks a fresh value (from its own randomness) every time it starts;
/// a client that sees it change knows the server restarted and that every sample
/// taken against the old clock is worthless.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClockId(pub u64);

/// Client → server: "what time is it for you?"
///
/// `t1` is the client's local send time. The server echoes it, but the client
/// never trusts the echo: it matches the pong to its own record by `seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockPing {
    /// Client-chosen sequence number, unique among its outstanding pings.
    pub seq: u32,
    /// Client local time at send (t1), echoed back for stateless clients.
    pub t1: Instant,
}

/// Server → client: the answer to a [`ClockPing`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockPong {
    /// The ping's `seq`.
    pub seq: u32,
    /// The ping's `t1`, echoed.
    pub t1: Instant,
    /// Server time when the ping was received (t2).
    pub t2: Instant,
    /// Server time when the pong was sent (t3).
    pub t3: Instant,
    /// The server clock this answer was read from.
    pub clock: ClockId,
}

impl ClockPing {
    /// The server's answer to this ping, received at `t2` and sent at `t3` by the clock `clock`.
    pub fn answer(&self, t2: Instant, t3: Instant, clock: ClockId) -> ClockPong {
        ClockPong {
            seq: self.seq,
            t1: self.t1,
            t2,
            t3,
            clock,
        }
    }
}
