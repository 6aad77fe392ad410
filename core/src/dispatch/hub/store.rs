//! The entries every session's queue refers to, kept once per hub.
//!
//! A published message fans out to thousands of queues. Were each queue to
//! hold the frame and what it is (a fat pointer, a topic and an offset:
//! 40 bytes), each push would write a line of its own allocation. Instead
//! the hub keeps each queued entry once, here, counted by the queues that
//! hold it, and a queue holds 4-byte indices: a few fit in the session's own
//! cache line (see [`Queue`](super::queue::Queue)). The entry of a fan-out
//! is read by every pull that takes it, so it stays in cache; the last pull
//! moves the frame out instead of cloning it.

use alloc::vec::Vec;

use super::config::HubConfig;
use super::queue::Entry;
use super::slab::Key;

/// One kept entry and how many queues hold it.
#[derive(Debug)]
struct Slot {
    entry: Option<Entry>,
    refs: u32,
    /// What the entry counts for against a queue's byte bound.
    cost: u32,
}

/// The bounds of every session's queue, clamped so that counts fit in 32
/// bits with room for the control reserve.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) messages: u32,
    pub(crate) bytes: u32,
}

/// Queued entries by index, with the queues' bounds.
#[derive(Debug)]
pub(crate) struct Store {
    slots: Vec<Slot>,
    /// Free slot indices, reused last-freed first (deterministic).
    free: Vec<u32>,
    pub(crate) limits: Limits,
}

/// Counts beyond this are treated as unbounded: far more than any queue can
/// hold, small enough that adding the control reserve cannot overflow.
const CLAMP: u32 = u32::MAX / 4;

impl Store {
    pub(crate) fn new(config: &HubConfig) -> Self {
        let clamp = |n: usize| u32::try_from(n).unwrap_or(CLAMP).min(CLAMP);
        Store {
            slots: Vec::new(),
            free: Vec::new(),
            limits: Limits {
                messages: clamp(config.queue_messages),
                bytes: clamp(config.queue_bytes),
            },
        }
    }

    /// Keeps `entry`, held by no queue yet; [`hold`](Store::hold) it for
    /// each queue that takes it, then [`forget_unheld`](Store::forget_unheld).
    pub(crate) fn keep(&mut self, entry: Entry) -> u32 {
        let (index, _) = self.keep_held(entry);
        // Entries kept at once are bounded by sessions times their queue
        // bounds, far below u32::MAX slots: `index` is in range.
        self.slots[index as usize].refs = 0;
        index
    }

    /// Keeps `entry` for one queue; returns its index and cost.
    #[inline]
    pub(crate) fn keep_held(&mut self, entry: Entry) -> (u32, u32) {
        let cost = u32::try_from(entry.cost()).unwrap_or(u32::MAX);
        let slot = Slot {
            entry: Some(entry),
            refs: 1,
            cost,
        };
        if let Some(index) = self.free.pop() {
            self.slots[index as usize] = slot;
            return (index, cost);
        }
        // Entries kept at once are bounded by sessions times their queue
        // bounds, far below u32::MAX.
        let index = self.slots.len() as u32;
        self.slots.push(slot);
        (index, cost)
    }

    /// One more queue holds entry `index`.
    #[inline]
    pub(crate) fn hold(&mut self, index: u32) {
        if let Some(slot) = self.slots.get_mut(index as usize) {
            slot.refs += 1;
        }
    }

    /// Frees entry `index` if no queue took it.
    pub(crate) fn forget_unheld(&mut self, index: u32) {
        if self.slots.get(index as usize).is_some_and(|s| s.refs == 0) {
            self.free_slot(index);
        }
    }

    /// What entry `index` counts for against a queue's byte bound.
    #[inline]
    pub(crate) fn cost(&self, index: u32) -> u32 {
        self.slots.get(index as usize).map_or(0, |s| s.cost)
    }

    /// Entry `index`.
    #[inline]
    pub(crate) fn get(&self, index: u32) -> Option<&Entry> {
        self.slots.get(index as usize)?.entry.as_ref()
    }

    /// The topic entry `index` delivers (or announces a gap of) and its
    /// first offset, if it is a delivery or a gap.
    pub(crate) fn topic_offset(&self, index: u32) -> Option<(Key, u64)> {
        self.get(index)?.topic_offset()
    }

    /// A queue lets go of entry `index` and gets it: moved out if it was
    /// the last holder, cloned otherwise.
    #[inline]
    pub(crate) fn take(&mut self, index: u32) -> Option<Entry> {
        let slot = self.slots.get_mut(index as usize)?;
        if slot.refs > 1 {
            slot.refs -= 1;
            return slot.entry.clone();
        }
        let entry = slot.entry.take()?;
        slot.refs = 0;
        self.free.push(index);
        Some(entry)
    }

    /// A queue lets go of entry `index` without taking it.
    pub(crate) fn release(&mut self, index: u32) {
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return;
        };
        if slot.refs > 1 {
            slot.refs -= 1;
        } else {
            self.free_slot(index);
        }
    }

    /// Frees a slot that holds an entry (a free one is left alone, so that
    /// it is never listed free twice).
    fn free_slot(&mut self, index: u32) {
        if let Some(slot) = self.slots.get_mut(index as usize)
            && slot.entry.take().is_some()
        {
            slot.refs = 0;
            self.free.push(index);
        }
    }

    /// Entries kept (for memory tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}
