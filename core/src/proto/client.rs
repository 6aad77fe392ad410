//! Messages a client sends to the server.

use serde::{Deserialize, Serialize};

use super::{ClockPing, Payload, Position, RequestId, Room, Token, Topic};
use crate::time::Instant;

/// A message from a client to the server.
///
/// Encoded externally tagged: in JSON `{"<name>": {fields}}`, in postcard the
/// variant's index (a varint) followed by its fields. Variant indices are part
/// of the wire format: new messages are only ever appended.
#[expect(
    clippy::large_enum_variant,
    reason = "without `alloc` there is no box: bounded strings live inline"
)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientMsg<'a> {
    /// Opens (or resumes) a session; must be the first message.
    Hello(Hello),
    /// Asks for a clock sample.
    Ping(ClockPing),
    /// Starts receiving a topic, optionally recovering what was missed.
    Subscribe(Subscribe),
    /// Stops receiving a topic.
    Unsubscribe(Unsubscribe),
    /// Publishes a payload to a topic.
    Publish(#[serde(borrow)] Publish<'a>),
    /// Submits an input to a room's current round.
    Input(#[serde(borrow)] Input<'a>),
}

/// `hello`: the first message of every connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The protocol version the client speaks ([`PROTOCOL_VERSION`](super::PROTOCOL_VERSION)).
    pub version: u16,
    /// The resume token from an earlier `welcome`, to continue that session.
    #[serde(default)]
    pub resume: Option<Token>,
    /// Credentials, in whatever form the server's authenticator expects.
    #[serde(default)]
    pub auth: Option<Token>,
}

/// `subscribe`: start receiving `deliver`s for a topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribe {
    /// The topic.
    pub topic: Topic,
    /// Where the client's copy of the topic ends; the server replays from
    /// here if it can.
    #[serde(default)]
    pub since: Option<Position>,
}

/// `unsubscribe`: stop receiving a topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsubscribe {
    /// The topic.
    pub topic: Topic,
}

/// `publish`: send a payload to every subscriber of a topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publish<'a> {
    /// The topic.
    pub topic: Topic,
    /// The payload.
    #[serde(borrow)]
    pub data: Payload<'a>,
    /// Server time at which the payload should take effect, for timed delivery.
    #[serde(default)]
    pub at: Option<Instant>,
    /// Set to receive a `publish_ack` carrying this id.
    #[serde(default)]
    pub request: Option<RequestId>,
}

/// `input`: a move, bid or answer for a room's round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input<'a> {
    /// The room.
    pub room: Room,
    /// Echoed in the `input_result`.
    pub request: RequestId,
    /// The round the input is meant for; the server refuses it as `late` if
    /// that round has moved on. `None` means whatever round is current.
    #[serde(default)]
    pub round: Option<u32>,
    /// The input itself, interpreted by the room's logic.
    #[serde(borrow)]
    pub data: Payload<'a>,
}
