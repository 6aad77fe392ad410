//! What the app hears from a [`Client`](crate::Client): owned copies of the
//! session's events, so they can cross a channel.

use onbeat_core::Instant;
use onbeat_core::dispatch::ClientEvent;
use onbeat_core::proto::{ErrorCode, NotRecovered, PhaseAnnounce, Position, Presence};

use crate::transport::CloseInfo;

/// One message of a topic (or of the inbox), in order, seen once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The topic; the inbox topic for targeted deliveries.
    pub topic: String,
    /// The history its offset counts in.
    pub epoch: u64,
    /// Its offset.
    pub offset: u64,
    /// The server time at which to apply it, if the publisher set one.
    pub at: Option<Instant>,
    /// The payload.
    pub data: Vec<u8>,
}

/// Something the app should hear about.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A session opened: the previous one resumed, or a new one.
    Opened {
        /// The server's name for the session.
        session: String,
        /// Whether it continues the previous session.
        resumed: bool,
    },
    /// The connection dropped (or could not be opened); the client
    /// reconnects by itself after its backoff delay.
    Disconnected {
        /// The server's close frame, if it sent one.
        close: Option<CloseInfo>,
    },
    /// A message of a subscribed topic or the inbox.
    Delivered(Delivery),
    /// A message larger than the client's payload limit, passed over.
    TooLarge {
        /// The topic.
        topic: String,
        /// Its position.
        position: Position,
        /// Its length in bytes.
        len: usize,
    },
    /// Offsets `[from, to)` of a lossy topic or the inbox will not arrive.
    Gap {
        /// The topic.
        topic: String,
        /// The epoch the offsets count in.
        epoch: u64,
        /// First lost offset.
        from: u64,
        /// One past the last lost offset.
        to: u64,
    },
    /// The server answered a subscribe: live from `position`, after the
    /// replay when `recovered`.
    Subscribed {
        /// The topic.
        topic: String,
        /// Where live messages continue.
        position: Position,
        /// Whether everything after the `since` asked for follows (always
        /// false for a first subscription without `since`).
        recovered: bool,
        /// Why not, when a `since` could not be honoured: the app's copy of
        /// the topic is stale.
        reason: Option<NotRecovered>,
    },
    /// Who is in a room.
    Presence(Box<Presence>),
    /// A phase of a room's timeline.
    Phase(Box<PhaseAnnounce>),
    /// An error from the server that answers no request.
    ServerError {
        /// The code.
        code: ErrorCode,
        /// Detail for humans.
        message: String,
    },
}

impl Event {
    /// The owned form of a session event; `None` for those the client
    /// handles itself (request outcomes, clock samples, disconnects).
    pub(crate) fn of(event: &ClientEvent<'_>) -> Option<Event> {
        Some(match *event {
            ClientEvent::SessionOpened { session, resumed } => Event::Opened {
                session: session.to_owned(),
                resumed,
            },
            ClientEvent::Delivered {
                topic,
                position,
                at,
                data,
            } => Event::Delivered(Delivery {
                topic: topic.to_owned(),
                epoch: position.epoch,
                offset: position.offset,
                at,
                data: data.to_vec(),
            }),
            ClientEvent::TooLarge {
                topic,
                position,
                len,
            } => Event::TooLarge {
                topic: topic.to_owned(),
                position,
                len,
            },
            ClientEvent::Gap {
                topic,
                epoch,
                from,
                to,
            } => Event::Gap {
                topic: topic.to_owned(),
                epoch,
                from,
                to,
            },
            ClientEvent::Subscribed { topic, position } => Event::Subscribed {
                topic: topic.to_owned(),
                position,
                recovered: false,
                reason: None,
            },
            ClientEvent::Recovered { topic, position } => Event::Subscribed {
                topic: topic.to_owned(),
                position,
                recovered: true,
                reason: None,
            },
            ClientEvent::NotRecovered {
                topic,
                position,
                reason,
            } => Event::Subscribed {
                topic: topic.to_owned(),
                position,
                recovered: false,
                reason,
            },
            ClientEvent::Presence(p) => Event::Presence(Box::new(p.clone())),
            ClientEvent::Phase(p) => Event::Phase(Box::new(p.clone())),
            ClientEvent::ServerError { code, message } => Event::ServerError {
                code,
                message: message.to_owned(),
            },
            _ => return None,
        })
    }
}
