//! Where a message sits in a topic's history.

use serde::{Deserialize, Serialize};

/// A point in a topic's history.
///
/// `epoch` names one uninterrupted history of the topic; the server starts a
/// new epoch whenever it cannot continue the old one (it restarted without the
/// history, or the topic was recreated). Offsets count messages within an
/// epoch from 0, one per published message, and are only comparable within
/// the same epoch.
///
/// As a cursor, a position points *between* messages: `offset` is the offset
/// of the next message, so a client that last saw offset `n` resumes from
/// `n + 1`, and ranges `[from, to)` are half-open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Position {
    /// The history this position belongs to.
    pub epoch: u64,
    /// Messages before this point, within `epoch`.
    pub offset: u64,
}

/// Why a subscription did not resume from the requested `since`.
///
/// Sent on the wire in `snake_case`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NotRecovered {
    /// `since` names an epoch that has ended: the history it counted is gone.
    EpochChanged,
    /// The messages after `since` are no longer retained.
    TooOld,
    /// `since` is past the topic's current position.
    Ahead,
    /// The topic keeps no history (a lossy, live-only topic).
    NoHistory,
}
