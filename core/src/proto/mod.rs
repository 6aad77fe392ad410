//! Wire protocol v1: the messages exchanged between clients and the server.
//!
//! Every type here derives serde and is encoded either with postcard (binary,
//! works without `alloc`) or JSON (for browsers). See `docs/protocol.md`.

mod clock;
mod phase;
mod reject;

pub use clock::{ClockId, ClockPing, ClockPong};
pub use phase::{PHASE_NAME_MAX, Phase, PhaseName};
pub use reject::RejectCode;
