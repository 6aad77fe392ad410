//! Wire protocol v1: the messages exchanged between clients and the server.
//!
//! Clients send [`ClientMsg`], the server sends [`ServerMsg`]. Direction is in
//! the type so that a server cannot be handed a `deliver` to act on, and each
//! side matches exhaustively over what it can actually receive. Every type
//! here derives serde and is encoded either with postcard (binary, works
//! without `alloc`) or JSON (for browsers) by the functions in [`codec`]. The
//! normative description, with JSON examples, is `docs/protocol.md`.
//!
//! Identifiers are bounded strings ([`names`]), so decoding never grows
//! memory on a peer's say-so, and payloads ([`Payload`]) borrow from the
//! frame they were decoded from.

mod client;
mod clock;
pub mod codec;
mod error_code;
pub mod names;
mod payload;
mod phase;
mod position;
mod reject;
mod server;

pub use client::{ClientMsg, Hello, Input, Publish, Subscribe, Unsubscribe};
pub use clock::{ClockId, ClockPing, ClockPong};
pub use codec::{DEFAULT_MAX_FRAME, DecodeError, EncodeError, MAX_JSON_DEPTH, Message};
pub use error_code::ErrorCode;
pub use names::{ErrorText, MemberId, RequestId, Room, SessionId, Token, Topic};
pub use payload::{BYTES_KEY, MAX_PAYLOAD_DEPTH, Payload};
pub use phase::{PHASE_NAME_MAX, Phase, PhaseName};
pub use position::{NotRecovered, Position};
pub use reject::RejectCode;
pub use server::{
    Deliver, ErrorMsg, Gap, InputOutcome, InputResult, PRESENCE_SNAPSHOT_MAX, PhaseAnnounce,
    Presence, PresenceEvent, PublishAck, ServerMsg, Subscribed, Welcome,
};

/// The protocol version this crate speaks, sent in `hello` and `welcome`.
pub const PROTOCOL_VERSION: u16 = 1;

/// The WebSocket subprotocol for JSON frames (text frames).
pub const SUBPROTOCOL_JSON: &str = "onbeat.json.v1";
/// The WebSocket subprotocol for postcard frames (binary frames).
pub const SUBPROTOCOL_POSTCARD: &str = "onbeat.postcard.v1";

/// The largest integer JavaScript's `JSON.parse` reads exactly (2^53 − 1).
///
/// Servers keep clock ids, epochs, offsets and times at or below it so that
/// JSON clients see exact values; decoders accept the full `u64` range.
pub const JSON_SAFE_MAX: u64 = (1 << 53) - 1;

#[cfg(all(test, feature = "alloc"))]
mod tests;
