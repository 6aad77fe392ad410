//! Why the server reports an error.

use core::fmt;

use serde::{Deserialize, Serialize};

/// The machine-readable reason carried by an `error` message.
///
/// Sent on the wire in `snake_case`. Clients must treat codes they do not know
/// as [`ErrorCode::Internal`]: new codes may be added within protocol v1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The frame could not be decoded; the server closes the connection.
    BadFrame,
    /// The frame exceeds the `max_frame` announced in `welcome`; the server closes the connection.
    FrameTooLarge,
    /// The server does not speak the protocol version in `hello`; it closes the connection.
    UnsupportedVersion,
    /// The message is not valid at this point (anything before `hello`, or a second `hello`).
    UnexpectedMessage,
    /// The auth token is missing, invalid or expired.
    Unauthorized,
    /// The session may not do this (publish to, subscribe to or enter this topic or room).
    Forbidden,
    /// No such topic.
    UnknownTopic,
    /// No such room.
    UnknownRoom,
    /// The session is sending faster than the server allows.
    RateLimited,
    /// The server is shutting down; reconnect later and resume.
    ShuttingDown,
    /// Something went wrong on the server.
    Internal,
}

impl ErrorCode {
    /// The code as sent on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadFrame => "bad_frame",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::UnexpectedMessage => "unexpected_message",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::UnknownTopic => "unknown_topic",
            ErrorCode::UnknownRoom => "unknown_room",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
