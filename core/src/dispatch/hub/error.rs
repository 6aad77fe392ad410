//! What the hub reports: errors for bad input, close codes for connections.

use core::fmt;

use crate::proto::{DecodeError, ErrorCode, Position};

/// Why the hub refused an input or a call. Every refusal of a client message
/// is also sent to that client as an `error` frame carrying
/// [`HubError::code`]; nothing else changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HubError {
    /// No such connection (never connected, or already disconnected).
    UnknownConnection,
    /// The connection id is already connected.
    ConnectionExists,
    /// The frame could not be decoded; the connection is closed.
    Decode(DecodeError),
    /// `hello` asked for a protocol version this hub does not speak.
    UnsupportedVersion,
    /// A message before `hello`, or a second `hello`.
    UnexpectedMessage,
    /// The capabilities do not allow this topic or room.
    Forbidden,
    /// No such topic is open.
    UnknownTopic,
    /// No such room is open.
    UnknownRoom,
    /// The session publishes faster than its rate allows.
    RateLimited,
    /// The hub holds [`HubConfig::max_sessions`](super::HubConfig) sessions.
    TooManySessions,
    /// The session holds its maximum number of subscriptions.
    TooManySubscriptions,
    /// The hub holds its maximum of timed messages waiting for their `at`.
    TimedFull,
    /// The hub holds its maximum number of topics.
    TooManyTopics,
    /// The hub holds its maximum number of rooms.
    TooManyRooms,
    /// A topic or room of that name is already open.
    AlreadyOpen,
    /// No such session.
    UnknownSession,
    /// Another shard owns this topic or room (see
    /// [`owner_of`](super::owner_of)): open and close it there. A client
    /// sees it, as `unknown_room`, only for an input to a room that is not
    /// open and that another shard would run.
    NotOwner,
    /// A peer message could not be applied as sent.
    Peer(PeerError),
}

/// Why [`Hub::handle_peer`](super::Hub::handle_peer) did not apply a peer
/// message as sent. Peers are trusted (they are the server's own hubs) and
/// their channels are FIFO, so these mean a wiring or configuration mistake;
/// the hub stays consistent either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerError {
    /// The sender is this hub, or not below [`HubConfig::shards`](super::HubConfig).
    UnknownShard,
    /// A message about a topic or room came from a shard that does not own
    /// it (`Open`, `Close`, `Append`, `OpenRoom`, `CloseRoom`, `Member`,
    /// `Phase`, `ToRoom`: ignored), a publish, input, `Enter` or `Leave`
    /// reached a shard that does not own its topic or room (a publish's or
    /// input's origin is answered [`HubError::NotOwner`]), or a message
    /// about a session came from or to a shard that is not its home: the
    /// shards disagree on their count.
    Misrouted,
    /// A room's owner was told that a session of another shard left a
    /// presence it is not in: ignored.
    UnknownMember,
    /// A replicated message at or behind the replica's head, or of another
    /// epoch: it is ignored, and the replica is unchanged.
    Stale {
        /// The replica's position (the next offset it expects).
        head: Position,
        /// The message's position.
        got: Position,
    },
    /// A replicated message past the replica's head: the messages between
    /// were lost on the way. The replica resynced (see `docs/dispatch.md`,
    /// Shards) and applied the message.
    Resynced {
        /// The replica's head before.
        head: Position,
        /// The message's position.
        got: Position,
    },
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerError::UnknownShard => f.write_str("unknown peer shard"),
            PeerError::Misrouted => {
                f.write_str("peer message for another shard's topic, room or session")
            }
            PeerError::UnknownMember => f.write_str("no such member of the room"),
            PeerError::Stale { head, got } => write!(
                f,
                "stale replica message {}:{} at head {}:{}",
                got.epoch, got.offset, head.epoch, head.offset
            ),
            PeerError::Resynced { head, got } => write!(
                f,
                "replica resynced from {}:{} to {}:{}",
                head.epoch, head.offset, got.epoch, got.offset
            ),
        }
    }
}

impl HubError {
    /// The code sent to the client in the `error` frame for this refusal.
    pub const fn code(self) -> ErrorCode {
        match self {
            HubError::Decode(DecodeError::FrameTooLarge { .. }) => ErrorCode::FrameTooLarge,
            HubError::Decode(_) => ErrorCode::BadFrame,
            HubError::UnsupportedVersion => ErrorCode::UnsupportedVersion,
            HubError::UnexpectedMessage => ErrorCode::UnexpectedMessage,
            HubError::Forbidden | HubError::TooManySubscriptions => ErrorCode::Forbidden,
            HubError::UnknownTopic => ErrorCode::UnknownTopic,
            HubError::UnknownRoom | HubError::NotOwner => ErrorCode::UnknownRoom,
            // "Too many now, try later" is what rate_limited tells a client.
            HubError::RateLimited | HubError::TimedFull => ErrorCode::RateLimited,
            _ => ErrorCode::Internal,
        }
    }
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HubError::UnknownConnection => f.write_str("unknown connection"),
            HubError::ConnectionExists => f.write_str("connection already exists"),
            HubError::Decode(e) => write!(f, "undecodable frame: {e}"),
            HubError::UnsupportedVersion => f.write_str("unsupported protocol version"),
            HubError::UnexpectedMessage => f.write_str("message not valid at this point"),
            HubError::Forbidden => f.write_str("not allowed by the session's capabilities"),
            HubError::UnknownTopic => f.write_str("no such topic"),
            HubError::UnknownRoom => f.write_str("no such room"),
            HubError::RateLimited => f.write_str("sending too fast"),
            HubError::TooManySessions => f.write_str("session limit reached"),
            HubError::TooManySubscriptions => f.write_str("subscription limit reached"),
            HubError::TimedFull => f.write_str("too many timed messages held"),
            HubError::TooManyTopics => f.write_str("topic limit reached"),
            HubError::TooManyRooms => f.write_str("room limit reached"),
            HubError::AlreadyOpen => f.write_str("already open"),
            HubError::UnknownSession => f.write_str("no such session"),
            HubError::NotOwner => f.write_str("owned by another shard"),
            HubError::Peer(e) => write!(f, "peer: {e}"),
        }
    }
}

impl core::error::Error for HubError {}

/// Why the hub wants a connection closed ([`HubOutput::Close`](super::HubOutput)).
///
/// The shell closes the socket (a WebSocket close with [`CloseCode::as_str`]
/// as the reason) and then calls `handle_disconnect`. The session stays
/// resumable for the grace period unless the code says otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseCode {
    /// The outbound queue overflowed on a reliable topic; resume to recover
    /// from history.
    SlowConsumer,
    /// The session was resumed on another connection.
    Replaced,
    /// The capabilities' validity ended (the shell's token expired).
    Expired,
    /// No `hello` within the configured time.
    HelloTimeout,
    /// An undecodable or oversize frame, or an unsupported version.
    Protocol,
    /// The hub holds its maximum number of sessions.
    Full,
}

impl CloseCode {
    /// The code as a short reason string.
    pub const fn as_str(self) -> &'static str {
        match self {
            CloseCode::SlowConsumer => "slow_consumer",
            CloseCode::Replaced => "replaced",
            CloseCode::Expired => "expired",
            CloseCode::HelloTimeout => "hello_timeout",
            CloseCode::Protocol => "protocol",
            CloseCode::Full => "full",
        }
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
