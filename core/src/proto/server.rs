//! Messages the server sends to a client.

use serde::{Deserialize, Serialize};

use super::{
    ClockId, ClockPong, ErrorCode, ErrorText, MemberId, NotRecovered, Payload, Phase, Position,
    RejectCode, RequestId, Room, SessionId, Token, Topic,
};
use crate::time::Instant;

/// The most members one `presence` snapshot frame lists; larger rooms send
/// their snapshot over several frames (see [`PresenceEvent::Snapshot`]).
pub const PRESENCE_SNAPSHOT_MAX: usize = 32;

/// A message from the server to a client.
///
/// Encoded like [`ClientMsg`](super::ClientMsg): externally tagged, variant
/// indices fixed and only ever appended to.
#[expect(
    clippy::large_enum_variant,
    reason = "without `alloc` there is no box: bounded strings live inline"
)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerMsg<'a> {
    /// Accepts a `hello`: the session is open.
    Welcome(Welcome),
    /// Answers a `ping`.
    Pong(ClockPong),
    /// Confirms a `subscribe`.
    Subscribed(Subscribed),
    /// One message of a subscribed topic.
    Deliver(#[serde(borrow)] Deliver<'a>),
    /// Messages of a lossy topic that this client will not receive.
    Gap(Gap),
    /// Confirms a `publish` that carried a request id.
    PublishAck(PublishAck),
    /// Answers an `input`.
    InputResult(InputResult),
    /// Announces a phase of a room's timeline.
    Phase(PhaseAnnounce),
    /// Who is in a room.
    Presence(Presence),
    /// Something went wrong.
    Error(ErrorMsg),
}

#[cfg(feature = "alloc")]
impl ServerMsg<'_> {
    /// The message owning its payload (the only part that can borrow from
    /// the frame it was decoded from).
    pub fn into_owned(self) -> ServerMsg<'static> {
        match self {
            ServerMsg::Deliver(d) => ServerMsg::Deliver(Deliver {
                topic: d.topic,
                epoch: d.epoch,
                offset: d.offset,
                at: d.at,
                data: d.data.into_owned(),
            }),
            ServerMsg::Welcome(m) => ServerMsg::Welcome(m),
            ServerMsg::Pong(m) => ServerMsg::Pong(m),
            ServerMsg::Subscribed(m) => ServerMsg::Subscribed(m),
            ServerMsg::Gap(m) => ServerMsg::Gap(m),
            ServerMsg::PublishAck(m) => ServerMsg::PublishAck(m),
            ServerMsg::InputResult(m) => ServerMsg::InputResult(m),
            ServerMsg::Phase(m) => ServerMsg::Phase(m),
            ServerMsg::Presence(m) => ServerMsg::Presence(m),
            ServerMsg::Error(m) => ServerMsg::Error(m),
        }
    }
}

/// `welcome`: the answer to `hello`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The protocol version the server will speak: the one from `hello`.
    pub version: u16,
    /// The session; equal to the old one exactly when the resume succeeded.
    pub session: SessionId,
    /// Pass this in the next `hello` to resume the session after a disconnect.
    pub resume: Token,
    /// The server clock that `pong`s and phase times refer to.
    pub clock: ClockId,
    /// The largest frame, in bytes, the server accepts from this client.
    pub max_frame: u32,
}

/// `subscribed`: the answer to `subscribe`.
///
/// Replayed messages, if any, follow as `deliver`s with offsets in
/// `[since.offset, position.offset)`, then live ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribed {
    /// The topic.
    pub topic: Topic,
    /// The topic's current position: the next live message gets this offset.
    pub position: Position,
    /// Whether the server will replay everything after the `since` in the `subscribe`.
    pub recovered: bool,
    /// Why not, when the `subscribe` carried a `since` and `recovered` is false;
    /// `None` otherwise.
    #[serde(default)]
    pub reason: Option<NotRecovered>,
}

/// `deliver`: one message of a subscribed topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deliver<'a> {
    /// The topic.
    pub topic: Topic,
    /// The history the offset counts in.
    pub epoch: u64,
    /// The message's offset within `epoch`.
    pub offset: u64,
    /// The server time the publisher asked for (its `publish.at`); the client
    /// applies the payload at that time on its estimate of the server clock.
    #[serde(default)]
    pub at: Option<Instant>,
    /// The payload.
    #[serde(borrow)]
    pub data: Payload<'a>,
}

/// `gap`: messages at offsets `[from, to)` of `epoch` were dropped for this
/// client (lossy topics only; reliable topics never skip). The next `deliver`
/// has offset `to` or later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// The topic.
    pub topic: Topic,
    /// The history the offsets count in.
    pub epoch: u64,
    /// The first dropped offset.
    pub from: u64,
    /// One past the last dropped offset.
    pub to: u64,
}

/// `publish_ack`: where a published payload landed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishAck {
    /// The `publish`'s request id.
    pub request: RequestId,
    /// The payload's epoch and offset.
    pub position: Position,
}

/// `input_result`: the fate of an `input`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputResult {
    /// The `input`'s request id.
    pub request: RequestId,
    /// Accepted, or why not.
    pub outcome: InputOutcome,
}

/// Whether an input was accepted. JSON: `"accepted"` or `{"rejected": "<code>"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputOutcome {
    /// The room took the input.
    Accepted,
    /// The room refused the input.
    Rejected(RejectCode),
}

/// `phase`: a phase of a room's timeline, announced before or as it starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseAnnounce {
    /// The room.
    pub room: Room,
    /// The phase, in server time.
    pub phase: Phase,
}

/// `presence`: a change to, or the whole of, a room's member list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// The room.
    pub room: Room,
    /// What changed.
    pub event: PresenceEvent,
}

/// One presence update. JSON: `{"join": "<member>"}`, `{"leave": "<member>"}`
/// or `{"snapshot": {"members": [...], "more": false}}`.
#[expect(
    clippy::large_enum_variant,
    reason = "without `alloc` there is no box: bounded strings live inline"
)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PresenceEvent {
    /// A member entered the room.
    Join(MemberId),
    /// A member left the room.
    Leave(MemberId),
    /// The complete member list, replacing the client's.
    ///
    /// A list longer than [`PRESENCE_SNAPSHOT_MAX`] spans consecutive frames:
    /// every frame but the last has `more: true`, and the client replaces its
    /// list with the concatenation once it sees `more: false`.
    Snapshot {
        /// Members in this frame.
        members: heapless::Vec<MemberId, PRESENCE_SNAPSHOT_MAX>,
        /// Whether further snapshot frames for the same room follow.
        more: bool,
    },
}

/// `error`: a failed request or a broken connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMsg {
    /// What went wrong.
    pub code: ErrorCode,
    /// The request this answers, when it answers one (a `publish` or `input`).
    #[serde(default)]
    pub request: Option<RequestId>,
    /// Detail for humans.
    pub message: ErrorText,
    /// The topic of a refused `subscribe` (or of a subscription the server
    /// ended, e.g. because the topic closed), so that the client knows which
    /// subscription failed; `None` otherwise.
    #[serde(default)]
    pub topic: Option<Topic>,
}
