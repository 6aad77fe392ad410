//! Events queued inside the session until the shell polls them.
//!
//! A note owns what its event will lend, except the two large parts that
//! have a slot of their own in the session (a delivered payload, a presence
//! message): one input fills each at most once, and inputs are refused until
//! the queue is drained, so a slot is never overwritten while lent.

use super::event::{ClientEvent, InputStatus, PublishStatus};
use crate::proto::{
    ClockPong, ErrorCode, ErrorText, NotRecovered, PhaseAnnounce, Position, Presence, RequestId,
    Topic,
};
use crate::time::Instant;

/// An event waiting in the session, owning what it will lend.
#[derive(Clone, Debug)]
pub(super) enum Note {
    Opened {
        resumed: bool,
    },
    Disconnected {
        reconnect_at: Instant,
    },
    /// The payload waits in the session's delivery slot.
    Delivered {
        topic: Topic,
        position: Position,
        at: Option<Instant>,
    },
    TooLarge {
        topic: Topic,
        position: Position,
        len: usize,
    },
    Gap {
        topic: Topic,
        epoch: u64,
        from: u64,
        to: u64,
    },
    Subscribed {
        topic: Topic,
        position: Position,
    },
    Recovered {
        topic: Topic,
        position: Position,
    },
    NotRecovered {
        topic: Topic,
        position: Position,
        reason: Option<NotRecovered>,
    },
    Input {
        request: RequestId,
        outcome: InputStatus,
    },
    Published {
        request: RequestId,
        outcome: PublishStatus,
    },
    /// The message waits in the session's presence slot.
    Presence,
    Phase(PhaseAnnounce),
    Pong(ClockPong),
    ServerError {
        code: ErrorCode,
        message: ErrorText,
    },
    SubscriptionEnded {
        topic: Topic,
        code: ErrorCode,
    },
}

/// What a [`Note`] lends from the session's slots.
pub(super) struct Slots<'a> {
    pub(super) session: &'a str,
    pub(super) delivery: &'a [u8],
    pub(super) presence: Option<&'a Presence>,
}

impl Note {
    /// The event, borrowing from the note and the slots. `None` only for a
    /// presence note with an empty slot, which the session never queues.
    pub(super) fn event<'a>(&'a self, slots: Slots<'a>) -> Option<ClientEvent<'a>> {
        Some(match self {
            Note::Opened { resumed } => ClientEvent::SessionOpened {
                session: slots.session,
                resumed: *resumed,
            },
            Note::Disconnected { reconnect_at } => ClientEvent::Disconnected {
                reconnect_at: *reconnect_at,
            },
            Note::Delivered {
                topic,
                position,
                at,
            } => ClientEvent::Delivered {
                topic,
                position: *position,
                at: *at,
                data: slots.delivery,
            },
            Note::TooLarge {
                topic,
                position,
                len,
            } => ClientEvent::TooLarge {
                topic,
                position: *position,
                len: *len,
            },
            &Note::Gap {
                ref topic,
                epoch,
                from,
                to,
            } => ClientEvent::Gap {
                topic,
                epoch,
                from,
                to,
            },
            Note::Subscribed { topic, position } => ClientEvent::Subscribed {
                topic,
                position: *position,
            },
            Note::Recovered { topic, position } => ClientEvent::Recovered {
                topic,
                position: *position,
            },
            Note::NotRecovered {
                topic,
                position,
                reason,
            } => ClientEvent::NotRecovered {
                topic,
                position: *position,
                reason: *reason,
            },
            &Note::Input { request, outcome } => ClientEvent::Input { request, outcome },
            &Note::Published { request, outcome } => ClientEvent::Published { request, outcome },
            Note::Presence => ClientEvent::Presence(slots.presence?),
            Note::Phase(phase) => ClientEvent::Phase(phase),
            Note::Pong(pong) => ClientEvent::Pong(*pong),
            Note::ServerError { code, message } => ClientEvent::ServerError {
                code: *code,
                message,
            },
            Note::SubscriptionEnded { topic, code } => {
                ClientEvent::SubscriptionEnded { topic, code: *code }
            }
        })
    }
}

/// The event for a request whose session ended before its answer.
pub(super) fn lost(request: RequestId, input: bool) -> ClientEvent<'static> {
    if input {
        ClientEvent::Input {
            request,
            outcome: InputStatus::Lost,
        }
    } else {
        ClientEvent::Published {
            request,
            outcome: PublishStatus::Lost,
        }
    }
}
