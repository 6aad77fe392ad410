//! Targeted deliveries: the session's inbox.
//!
//! The server sends messages meant for this session, this user or a room's
//! members as `deliver`s on a reserved topic (`ClientConfig::inbox`) that the
//! client never subscribes to. Each session numbers its inbox from offset 0,
//! with no history to replay: a hole in the offsets is a targeted message
//! lost, reported to the app as a gap rather than treated as a broken stream.

use super::stream::Verdict;
use crate::proto::Position;

/// Where the session is in its inbox.
#[derive(Clone, Debug)]
pub(super) struct Inbox {
    /// The next expected position; `None` before the session's first.
    cursor: Option<Position>,
}

impl Inbox {
    pub(super) const fn new() -> Self {
        Inbox { cursor: None }
    }

    /// A new session numbers its inbox afresh.
    pub(super) fn reset(&mut self) {
        self.cursor = None;
    }

    /// Judges a targeted `deliver` at `epoch`/`offset`.
    pub(super) fn deliver(&mut self, epoch: u64, offset: u64) -> Verdict {
        // Another epoch means another server run, hence a new count.
        let expected = match self.cursor {
            Some(c) if c.epoch == epoch => c.offset,
            _ => 0,
        };
        if offset < expected {
            return Verdict::Duplicate;
        }
        self.cursor = Some(Position {
            epoch,
            offset: offset.saturating_add(1),
        });
        Verdict::Deliver {
            skipped_from: (offset > expected).then_some(expected),
        }
    }
}
