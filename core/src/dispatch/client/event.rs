//! What a [`ClientSession`](super::ClientSession) hands its shell and its app.

use crate::proto::{
    ClientMsg, ClockPong, ErrorCode, NotRecovered, PhaseAnnounce, Position, Presence, RejectCode,
    RequestId,
};
use crate::time::Instant;

/// The next thing the shell should do, from
/// [`ClientSession::poll_output`](super::ClientSession::poll_output).
///
/// Borrows from the session: handle it (encode, send, pass to the app)
/// before polling again.
#[expect(
    clippy::large_enum_variant,
    reason = "without `alloc` there is no box; the message is built on demand, not stored"
)]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientOutput<'a> {
    /// Open a transport to the server, then call `handle_connected`, or
    /// `handle_disconnected` if it fails.
    Connect,
    /// Close the transport: the handshake took too long. The session already
    /// counts itself disconnected; a later `handle_disconnected` is harmless.
    Close,
    /// Encode this message and send it on the open transport.
    Send(ClientMsg<'a>),
    /// Tell the app.
    Event(ClientEvent<'a>),
}

/// Something the app should hear about.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent<'a> {
    /// A session opened: the old one resumed (subscriptions and requests
    /// carry on), or a new one (the server remembers nothing of this client).
    SessionOpened {
        /// The server's name for the session.
        session: &'a str,
        /// Whether this continues the previous session.
        resumed: bool,
    },
    /// The connection dropped; the session reconnects at `reconnect_at`.
    Disconnected {
        /// When the next `Connect` is due.
        reconnect_at: Instant,
    },
    /// A new message of a subscribed topic, or of the inbox (targeted
    /// deliveries, [`ClientConfig::inbox`](super::ClientConfig::inbox)), in
    /// order, seen once.
    Delivered {
        /// The topic.
        topic: &'a str,
        /// The message's own epoch and offset.
        position: Position,
        /// The server time at which to apply it, if the publisher set one.
        at: Option<Instant>,
        /// The payload.
        data: &'a [u8],
    },
    /// A message larger than the session's `PAYLOAD` limit arrived and was
    /// passed over: for the app, a message lost.
    TooLarge {
        /// The topic.
        topic: &'a str,
        /// The message's epoch and offset.
        position: Position,
        /// Its length in bytes.
        len: usize,
    },
    /// Messages at offsets `[from, to)` of a lossy topic or the inbox will
    /// not arrive.
    Gap {
        /// The topic.
        topic: &'a str,
        /// The epoch the offsets count in.
        epoch: u64,
        /// The first lost offset.
        from: u64,
        /// One past the last lost offset.
        to: u64,
    },
    /// A new subscription is live: messages follow from `position`.
    Subscribed {
        /// The topic.
        topic: &'a str,
        /// The offset of the next message.
        position: Position,
    },
    /// A resubscription recovered everything missed: it follows in order.
    Recovered {
        /// The topic.
        topic: &'a str,
        /// Where live messages continue after the replay.
        position: Position,
    },
    /// A resubscription could not recover what was missed: the app's copy of
    /// the topic is stale and must be resynced (fetched whole) by other means.
    NotRecovered {
        /// The topic.
        topic: &'a str,
        /// Where live messages continue.
        position: Position,
        /// Why, as the server gave it (`None` only if it gave none).
        reason: Option<NotRecovered>,
    },
    /// The one outcome of an `input`.
    Input {
        /// The id [`ClientSession::input`](super::ClientSession::input) returned.
        request: RequestId,
        /// What became of it.
        outcome: InputStatus,
    },
    /// The one outcome of a `publish`.
    Published {
        /// The id [`ClientSession::publish`](super::ClientSession::publish) returned.
        request: RequestId,
        /// What became of it.
        outcome: PublishStatus,
    },
    /// Who is in a room, as the server announced it.
    Presence(&'a Presence),
    /// A phase of a room's timeline, as the server announced it.
    Phase(&'a PhaseAnnounce),
    /// A clock sample: pass it to the clock synchroniser.
    Pong(ClockPong),
    /// The server refused a subscription (`forbidden`, `unknown_topic`, …) or
    /// ended it (`unknown_topic` when the topic closed): the session no
    /// longer follows `topic` and nothing more arrives for it.
    /// [`ClientSession::subscribe`](super::ClientSession::subscribe) again to
    /// retry.
    SubscriptionEnded {
        /// The topic.
        topic: &'a str,
        /// Why.
        code: ErrorCode,
    },
    /// The server reported an error that answers no request.
    ServerError {
        /// What went wrong.
        code: ErrorCode,
        /// Detail for humans.
        message: &'a str,
    },
}

/// The outcome of an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputStatus {
    /// The room took it.
    Accepted,
    /// The room refused it.
    Rejected(RejectCode),
    /// The server refused the request (`error` with its id).
    Failed(ErrorCode),
    /// Its session ended before an answer came: the server may or may not
    /// have judged it, and nobody remembers.
    Lost,
}

/// The outcome of a publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishStatus {
    /// Published at this position.
    Acked(Position),
    /// The server refused it (`error` with its id).
    Failed(ErrorCode),
    /// Its session ended before an answer came: it may or may not have been
    /// published.
    Lost,
}
