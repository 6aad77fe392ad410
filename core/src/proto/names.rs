//! Bounded strings that name things on the wire, and their limits.
//!
//! Every string a peer sends is stored inline with a fixed capacity, so
//! untrusted input cannot make a decoder allocate, and a string longer than its
//! limit is a decode error ([`DecodeError::TooLong`](super::DecodeError::TooLong)),
//! never truncated. Limits count UTF-8 bytes, not characters.

/// The longest topic name, in bytes.
pub const TOPIC_MAX: usize = 128;
/// The longest room name, in bytes.
pub const ROOM_MAX: usize = 128;
/// The longest session or member id, in bytes.
pub const ID_MAX: usize = 64;
/// The longest resume or auth token, in bytes.
pub const TOKEN_MAX: usize = 512;
/// The longest human-readable error text, in bytes.
pub const ERROR_TEXT_MAX: usize = 256;

/// A topic: a named stream of published payloads.
pub type Topic = heapless::String<TOPIC_MAX>;
/// A room: a shared timeline with rounds, phases and inputs.
pub type Room = heapless::String<ROOM_MAX>;
/// The server's name for one session (one client connection and its resumptions).
pub type SessionId = heapless::String<ID_MAX>;
/// How presence names a participant of a room.
pub type MemberId = heapless::String<ID_MAX>;
/// An opaque credential: a resume token issued by the server, or an auth token.
pub type Token = heapless::String<TOKEN_MAX>;
/// Human-readable detail accompanying an error code; never parsed by programs.
pub type ErrorText = heapless::String<ERROR_TEXT_MAX>;

/// A client-chosen number that ties an answer to its request.
///
/// The server echoes it unchanged; uniqueness is the client's business.
pub type RequestId = u32;
