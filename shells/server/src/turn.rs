//! Whose turn it is to write to a connection's socket.
//!
//! Two kinds of writer share a socket. The hub's thread (or a write task it
//! spawns for a share of a fan-out, see [`crate::direct`]) writes a batch
//! straight away while the socket takes it: no message and no task wake per
//! delivery. The connection's own writer task (see [`crate::writer`]) writes
//! what cannot go at once: the rest of a batch the socket would not take
//! (handed over to it), control frames (pongs, a close reply) and the close.
//! Bytes of two writers must never interleave on the stream, so each holds
//! the turn while it writes, and hands it back or over when done.
//!
//! One atomic byte, no lock: the hub takes the turn with one
//! compare-and-swap per batch.

use std::sync::atomic::{AtomicU8, Ordering};

/// A direct writer (the hub's thread or a write task) holds the turn.
const DIRECT: u8 = 1;
/// The connection's writer task holds the turn.
const TASK: u8 = 2;
/// The hub has frames waiting: whoever gives the turn back tells it.
const WANTED: u8 = 4;
/// The writer task waits for a direct writer to finish.
const WAITING: u8 = 8;

/// The turn to write to one connection's socket. See the [module docs](self).
#[derive(Default)]
pub(crate) struct Turn(AtomicU8);

/// What the writer task found when it asked for the turn.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Asked {
    /// It has the turn.
    Taken,
    /// A direct writer handed it the turn with the rest of a batch, which is
    /// first in its queue and goes before anything else.
    HandedOver,
    /// A direct writer holds it; the task is woken when it is done.
    Wait,
}

/// What a direct writer learnt when it gave the turn back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Released {
    /// The hub has more frames for the connection.
    pub(crate) wanted: bool,
    /// The writer task waits for the turn: wake it.
    pub(crate) waiting: bool,
}

impl Turn {
    /// The hub's side: takes the turn for a direct write; if someone has it,
    /// notes that the hub wants to hear when it is free.
    pub(crate) fn claim(&self) -> bool {
        let mut seen = self.0.load(Ordering::Acquire);
        loop {
            let next = if seen == 0 { DIRECT } else { seen | WANTED };
            if next == seen {
                return false;
            }
            match self
                .0
                .compare_exchange(seen, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return seen == 0,
                Err(now) => seen = now,
            }
        }
    }

    /// The hub's side, when it takes the turn with more frames queued than
    /// it hands to this write: the writer is to tell it when done.
    pub(crate) fn want_more(&self) {
        self.0.fetch_or(WANTED, Ordering::AcqRel);
    }

    /// A direct writer that wrote everything gives the turn back.
    pub(crate) fn release(&self) -> Released {
        let was = self.0.swap(0, Ordering::AcqRel);
        debug_assert!(was & DIRECT != 0, "released a turn not held");
        Released {
            wanted: was & WANTED != 0,
            waiting: was & WAITING != 0,
        }
    }

    /// A direct writer that could not write everything hands the turn to
    /// the writer task, with the rest of its batch first in the task's
    /// queue. Whether the hub wants to hear stays for the task to tell.
    pub(crate) fn hand_over(&self) {
        let _ = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                Some(((s & !(DIRECT | WAITING)) | TASK) & (TASK | WANTED))
            });
    }

    /// The writer task's side: takes the turn if it is free. On
    /// [`Asked::Wait`] it registered as waiting, so the holder's
    /// [`Turn::release`] says so; the caller registers its waker first.
    pub(crate) fn ask(&self) -> Asked {
        let mut seen = self.0.load(Ordering::Acquire);
        loop {
            if seen & TASK != 0 {
                return Asked::HandedOver;
            }
            let next = if seen & DIRECT != 0 {
                seen | WAITING
            } else {
                seen | TASK
            };
            match self
                .0
                .compare_exchange(seen, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if seen & DIRECT != 0 => return Asked::Wait,
                Ok(_) => return Asked::Taken,
                Err(now) => seen = now,
            }
        }
    }

    /// The writer task gives the turn back: whether the hub waits to be
    /// told.
    pub(crate) fn done(&self) -> bool {
        let was = self.0.swap(0, Ordering::AcqRel);
        was & WANTED != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hub_writes_when_nobody_does_and_hears_back_when_it_could_not() {
        let turn = Turn::default();
        assert!(turn.claim());
        assert!(!turn.claim(), "one direct writer at a time");
        assert_eq!(
            turn.release(),
            Released {
                wanted: true,
                waiting: false
            },
            "the refused hub asked to be told"
        );
        assert!(turn.claim());
        assert_eq!(
            turn.release(),
            Released {
                wanted: false,
                waiting: false
            }
        );
    }

    #[test]
    fn the_task_waits_for_a_direct_write_and_is_woken_by_its_release() {
        let turn = Turn::default();
        assert!(turn.claim());
        assert_eq!(turn.ask(), Asked::Wait);
        assert_eq!(turn.ask(), Asked::Wait);
        let released = turn.release();
        assert!(released.waiting && !released.wanted);
        assert_eq!(turn.ask(), Asked::Taken);
        assert!(!turn.claim(), "the hub waits for the task");
        assert!(turn.done(), "and the task tells it");
        assert!(turn.claim());
    }

    #[test]
    fn a_handed_over_batch_gives_the_task_the_turn_and_keeps_the_hubs_wish() {
        let turn = Turn::default();
        assert!(turn.claim());
        turn.want_more();
        assert_eq!(turn.ask(), Asked::Wait);
        turn.hand_over();
        assert_eq!(turn.ask(), Asked::HandedOver);
        assert!(!turn.claim());
        assert!(turn.done(), "the hub still wants to hear");
        assert_eq!(turn.ask(), Asked::Taken);
        assert!(!turn.done());
    }
}
