//! What can go wrong: server input the session refuses, and app requests it
//! cannot take.

use core::fmt;

use crate::proto::{Position, RequestId};

/// Why [`ClientSession`](super::ClientSession) refused a transport event or a
/// server message.
///
/// A refused input changes nothing, with one documented exception: a
/// [`StreamError`] on a subscription also starts a resync of that topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// A message arrived while no connection is up (a frame read just before
    /// the close was reported).
    NotConnected,
    /// `handle_connected` while a connection is already up.
    AlreadyConnected,
    /// A message that is valid, but not now: anything but `welcome` or `error`
    /// before `welcome`, a second `welcome`, or a `subscribed` for a topic
    /// not subscribed.
    UnexpectedMessage,
    /// `welcome` names a protocol version this client does not speak.
    UnsupportedVersion {
        /// The version the server offered.
        version: u16,
    },
    /// An answer (`input_result`, `publish_ack`, or `error` with a request)
    /// for no request awaiting that kind of answer: a duplicate, or forged.
    /// Expected once per request resent after a resume whose answer was
    /// already queued: the server sends that one and answers the resend too.
    UnknownRequest {
        /// The request id the answer carried.
        request: RequestId,
    },
    /// A topic's stream broke its rules.
    Stream(StreamError),
    /// Outputs of an earlier input were not drained with `poll_output` first;
    /// the message was not looked at. Drain, then feed it again.
    Undrained,
}

/// How a subscription's stream of `deliver`s and `gap`s went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamError {
    /// A `deliver` or `gap` for a topic this client is not subscribed to. Expected
    /// for a moment after `unsubscribe`: frames already in flight still arrive.
    NotSubscribed,
    /// A reliable topic skipped offsets without a `gap`. The topic is being
    /// resubscribed from `expected`; the server's `subscribed` tells whether
    /// the skipped messages were recovered.
    Skipped {
        /// The position the client expected next.
        expected: Position,
        /// The offset that arrived instead.
        got: u64,
    },
    /// A `deliver` or `gap` counted in another epoch than the subscription's,
    /// with no `subscribed` announcing it. The topic is being resubscribed.
    EpochChanged {
        /// The position the client expected next.
        expected: Position,
        /// The epoch that arrived instead.
        got: u64,
    },
    /// A `gap` whose range is empty or reversed.
    InvalidGap,
    /// `subscribed` claims to recover from the `since` the client sent, but
    /// its position lies in another epoch or before that `since`.
    InvalidRecovery,
}

/// Why an app request (`subscribe`, `publish`, `input`, ...) was not taken.
/// A refused request changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// The topic or room name exceeds its protocol limit.
    NameTooLong,
    /// The payload is larger than the session keeps for re-sending.
    PayloadTooLarge {
        /// The payload's length in bytes.
        len: usize,
        /// The session's limit in bytes (its `PAYLOAD` parameter).
        max: usize,
    },
    /// As many requests as the session can hold await their answers.
    TooManyPending,
    /// As many topics as the session can hold are subscribed.
    TooManySubscriptions,
    /// The topic is already subscribed (the inbox always is).
    AlreadySubscribed,
    /// The topic is not subscribed.
    NotSubscribed,
}

impl From<StreamError> for ClientError {
    fn from(e: StreamError) -> Self {
        ClientError::Stream(e)
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::NotConnected => f.write_str("message while no connection is up"),
            ClientError::AlreadyConnected => f.write_str("a connection is already up"),
            ClientError::UnexpectedMessage => f.write_str("message not valid at this point"),
            ClientError::UnsupportedVersion { version } => {
                write!(f, "server speaks protocol version {version}")
            }
            ClientError::UnknownRequest { request } => {
                write!(f, "answer for request {request}, which awaits none")
            }
            ClientError::Stream(e) => write!(f, "topic stream: {e}"),
            ClientError::Undrained => f.write_str("outputs of the previous input not drained"),
        }
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::NotSubscribed => f.write_str("not subscribed to the topic"),
            StreamError::Skipped { expected, got } => write!(
                f,
                "offset {got} skips from {} in epoch {} without a gap",
                expected.offset, expected.epoch
            ),
            StreamError::EpochChanged { expected, got } => {
                write!(f, "epoch {got} instead of {} unannounced", expected.epoch)
            }
            StreamError::InvalidGap => f.write_str("gap with an empty range"),
            StreamError::InvalidRecovery => f.write_str("recovery inconsistent with `since`"),
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::NameTooLong => f.write_str("topic or room name too long"),
            RequestError::PayloadTooLarge { len, max } => {
                write!(f, "payload of {len} bytes exceeds the limit of {max}")
            }
            RequestError::TooManyPending => f.write_str("too many requests awaiting answers"),
            RequestError::TooManySubscriptions => f.write_str("too many subscriptions"),
            RequestError::AlreadySubscribed => f.write_str("topic already subscribed"),
            RequestError::NotSubscribed => f.write_str("topic not subscribed"),
        }
    }
}

impl core::error::Error for ClientError {}
impl core::error::Error for StreamError {}
impl core::error::Error for RequestError {}
