//! One topic's stream: where the client is in it, and what each `deliver`,
//! `gap` and `subscribed` for it means.
//!
//! The stream keeps a cursor: the position of the next message it expects
//! (the protocol's `since`). Deliveries at the cursor advance it, earlier
//! ones are duplicates, later ones are a loss that must have been announced:
//! by a `gap` on a lossy topic, never on a reliable one.

use super::error::StreamError;
use crate::proto::{NotRecovered, Position};

/// How a topic treats messages a client could not keep up with. Chosen by
/// the server per topic; the client is told so that it can tell a loss the
/// server announced from a broken stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopicKind {
    /// Never skips: a lagging client is disconnected and recovers on resume.
    /// A skipped offset is a protocol violation and triggers a resync.
    Reliable,
    /// Drops what a lagging client cannot take and says so with `gap`.
    /// A skipped offset is reported as a gap.
    Lossy,
}

/// Where a subscription stands with the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum State {
    /// A `subscribe` is due once a session is open.
    Unsent,
    /// `subscribe` sent from this `since`; waiting for `subscribed`.
    Awaiting { since: Option<Position> },
    /// `subscribed` received: messages flow.
    Active,
    /// The app unsubscribed; an `unsubscribe` is due, since a resumed
    /// session still holds the subscription.
    Leaving,
}

/// A topic's kind, cursor and standing with the server.
#[derive(Clone, Debug)]
pub(super) struct Stream {
    pub(super) kind: TopicKind,
    /// The next expected position; `None` until the first `subscribed`.
    pub(super) cursor: Option<Position>,
    pub(super) state: State,
}

/// What to do with a `deliver` that broke no rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// New and in order: hand it to the app. On a lossy topic, offsets from
    /// `skipped_from` up to this one were dropped unannounced: report them.
    Deliver { skipped_from: Option<u64> },
    /// Already seen.
    Duplicate,
    /// Not in order with what was seen while a `subscribe` is outstanding
    /// (the replay that follows `subscribed` brings it in order), or for a
    /// topic being left.
    Ignored,
}

/// The answer to a `subscribe`, as the app needs to hear it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Answer {
    /// A first subscription: live from `position`.
    Fresh(Position),
    /// Everything after `since` follows; live from `position` after that.
    Recovered(Position),
    /// Messages after `since` are lost; live from `position`.
    Lost(Position, Option<NotRecovered>),
}

impl Stream {
    pub(super) const fn new(kind: TopicKind) -> Self {
        Stream {
            kind,
            cursor: None,
            state: State::Unsent,
        }
    }

    /// Judges a `deliver` at `epoch`/`offset`.
    pub(super) fn deliver(&mut self, epoch: u64, offset: u64) -> Result<Verdict, StreamError> {
        let Some(cursor) = self.cursor else {
            // Nothing seen yet: `subscribed` will say where the stream starts.
            return Ok(Verdict::Ignored);
        };
        match self.state {
            State::Active => {}
            // Only the very next message is taken ahead of `subscribed`
            // (a resumed session may still be sending); the replay brings
            // the rest in order.
            State::Awaiting { .. } if epoch == cursor.epoch && offset == cursor.offset => {}
            State::Awaiting { .. } if epoch == cursor.epoch && offset < cursor.offset => {
                return Ok(Verdict::Duplicate);
            }
            _ => return Ok(Verdict::Ignored),
        }
        if epoch != cursor.epoch {
            return Err(self.resync(StreamError::EpochChanged {
                expected: cursor,
                got: epoch,
            }));
        }
        if offset < cursor.offset {
            return Ok(Verdict::Duplicate);
        }
        let skipped_from = (offset > cursor.offset).then_some(cursor.offset);
        if skipped_from.is_some() && self.kind == TopicKind::Reliable {
            return Err(self.resync(StreamError::Skipped {
                expected: cursor,
                got: offset,
            }));
        }
        self.cursor = Some(Position {
            epoch,
            offset: offset.saturating_add(1),
        });
        Ok(Verdict::Deliver { skipped_from })
    }

    /// Judges a `gap` of `[from, to)` in `epoch`.
    /// Returns the range newly lost, if any: from the cursor to `to`.
    pub(super) fn gap(
        &mut self,
        epoch: u64,
        from: u64,
        to: u64,
    ) -> Result<Option<(u64, u64)>, StreamError> {
        if to <= from {
            return Err(StreamError::InvalidGap);
        }
        let Some(cursor) = self.cursor else {
            return Ok(None);
        };
        let in_order = epoch == cursor.epoch && from <= cursor.offset;
        match self.state {
            State::Active => {}
            State::Awaiting { .. } if in_order => {}
            _ => return Ok(None),
        }
        if epoch != cursor.epoch {
            return Err(self.resync(StreamError::EpochChanged {
                expected: cursor,
                got: epoch,
            }));
        }
        if to <= cursor.offset {
            return Ok(None);
        }
        if !in_order && self.kind == TopicKind::Reliable {
            return Err(self.resync(StreamError::Skipped {
                expected: cursor,
                got: from,
            }));
        }
        self.cursor = Some(Position { epoch, offset: to });
        Ok(Some((cursor.offset, to)))
    }

    /// Takes a `subscribed`: the new start of the stream. It answers the
    /// outstanding `subscribe`, or, unasked, says that a replay fell behind
    /// the server's history (judged against the cursor). `None` for an
    /// answer gone stale: the topic is being left or asked for again.
    pub(super) fn subscribed(
        &mut self,
        position: Position,
        recovered: bool,
        reason: Option<NotRecovered>,
    ) -> Result<Option<Answer>, StreamError> {
        let since = match self.state {
            State::Awaiting { since } => since,
            State::Active => self.cursor,
            State::Unsent | State::Leaving => return Ok(None),
        };
        let answer = match since {
            None => {
                self.cursor = Some(position);
                Answer::Fresh(position)
            }
            Some(since) if recovered => {
                if position.epoch != since.epoch || position.offset < since.offset {
                    return Err(StreamError::InvalidRecovery);
                }
                // The cursor stays: the replay continues from it.
                Answer::Recovered(position)
            }
            Some(_) => {
                // Messages taken ahead of `subscribed` may already be past
                // the live position; never go back over them.
                let keep = self
                    .cursor
                    .filter(|c| c.epoch == position.epoch && c.offset > position.offset);
                self.cursor = Some(keep.unwrap_or(position));
                Answer::Lost(position, reason)
            }
        };
        self.state = State::Active;
        Ok(Some(answer))
    }

    /// Gives up on the stream as it is and asks again from the cursor, so
    /// that the server recovers what went missing or says it cannot.
    fn resync(&mut self, error: StreamError) -> StreamError {
        self.state = State::Unsent;
        error
    }
}
