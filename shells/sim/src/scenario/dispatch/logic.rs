//! The room's logic, the payloads everyone sends, and the ledger of
//! judgements the model checker reads.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use onbeat_core::dispatch::{RoomCtx, RoomInput, RoomLogic};
use onbeat_core::proto::{Phase, RejectCode, Topic};

use super::params::{MOVES, TICKS, TOPICS};

/// What a payload is, in its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A client's publish to a reliable topic.
    Chat = 1,
    /// A client's timed publish.
    Timed = 2,
    /// A client's cursor on the lossy topic.
    Cursor = 3,
    /// A client's input.
    Input = 4,
    /// The logic's echo of an accepted input.
    Move = 5,
    /// The logic's tick at a phase start.
    Tick = 6,
    /// The logic's timed reveal at a phase end.
    Reveal = 7,
    /// The logic's note to the room's inboxes.
    Note = 8,
}

/// Every payload is 8 bytes: kind, origin (client index, or `u16::MAX` for
/// the logic) and a sequence number, so that each is unique in the run and
/// the checker can compare what two clients saw at one position.
pub fn payload(kind: Kind, origin: u16, seq: u32) -> [u8; 8] {
    let id = (kind as u64) << 56 | (origin as u64) << 32 | seq as u64;
    id.to_be_bytes()
}

/// The id a payload carries, if it is one of ours.
pub fn payload_id(data: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(data.try_into().ok()?))
}

/// The logic's origin in payloads.
pub const LOGIC: u16 = u16::MAX;

/// What the logic judged: per (client, input sequence) how many times.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Judgements per input.
    pub judged: BTreeMap<(u16, u32), u32>,
}

/// A small deterministic game: inputs whose sequence is a multiple of 5 are
/// invalid, the others are accepted and published to `r/moves`; each phase
/// start publishes a tick, a timed reveal at the phase's end and a note to
/// every member's inbox.
pub struct Game {
    /// Shared with the checker; the hub owns the logic, the checker reads.
    pub ledger: Rc<RefCell<Ledger>>,
    /// Sequence of the logic's own payloads.
    pub seq: u32,
}

fn topic(i: usize) -> Topic {
    // The scenario's topic names are short constants.
    Topic::try_from(TOPICS[i].0).expect("short topic name")
}

impl RoomLogic for Game {
    fn on_input(&mut self, ctx: &mut RoomCtx<'_>, input: &RoomInput<'_>) -> Result<(), RejectCode> {
        let id = payload_id(input.data).ok_or(RejectCode::Invalid)?;
        let (client, seq) = ((id >> 32) as u16, id as u32);
        *self
            .ledger
            .borrow_mut()
            .judged
            .entry((client, seq))
            .or_insert(0) += 1;
        if seq % 5 == 0 {
            return Err(RejectCode::Invalid);
        }
        ctx.publish(topic(MOVES), &payload(Kind::Move, client, seq), None);
        Ok(())
    }

    fn on_phase(&mut self, ctx: &mut RoomCtx<'_>, phase: &Phase) {
        self.seq += 1;
        ctx.publish(topic(TICKS), &payload(Kind::Tick, LOGIC, self.seq), None);
        let reveal = payload(Kind::Reveal, LOGIC, self.seq);
        ctx.publish(topic(0), &reveal, Some(phase.ends_at));
        ctx.send_to_room(&payload(Kind::Note, LOGIC, self.seq));
    }
}
