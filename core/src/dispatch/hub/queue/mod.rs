//! One session's outbound queue, bounded in frames and bytes.
//!
//! It holds indices of entries kept in the hub's [`Store`]. The first
//! [`INLINE`] sit in the queue itself, inside the session's cache line, so a
//! session read about as fast as it is fed never touches memory of its own
//! beyond that line; a burst spills into a vector that grows with what is
//! queued (up to its bounds), keeps its size while in use, so queuing in
//! steady state does not allocate, and is given back once the burst drains.
//! An emptied queue starts again at its first slot.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::frame::Frame;
use super::slab::Key;
use super::store::Store;

/// What the hub needs to know about a queued frame after queuing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tag {
    /// Any frame that is not a topic delivery or a `subscribed`.
    Other,
    /// A `subscribed` of `topic`: kept, in the new format, when a resume
    /// changes it, since it announces the replay that follows.
    Subscribed { topic: Key },
    /// A `deliver` of `topic` at `offset`.
    Deliver { topic: Key, offset: u64 },
}

#[derive(Clone, Debug)]
pub(crate) enum Entry {
    Frame {
        frame: Frame,
        tag: Tag,
    },
    /// A `gap` of a lossy topic, encoded when pulled because it may still
    /// grow while queued.
    Gap {
        topic: Key,
        from: u64,
        to: u64,
    },
}

/// Room kept beyond the delivery bounds for control frames (answers,
/// presence, phases, welcome): a session that lagged on deliveries and
/// resumes with its queue full must still get its `welcome` and resync
/// without being cut off again. Control frames past this reserve mean the
/// peer reads nothing at all: then it is a slow consumer too.
pub(crate) const CONTROL_FRAMES: usize = 8;
/// Bytes of the control reserve: a presence snapshot of 32 long member ids
/// is about 2 KiB.
pub(crate) const CONTROL_BYTES: usize = 16 * 1024;

/// Entries an emptied queue keeps room for beyond its inline ones: enough
/// for the steady state of a session that is read in small bursts, little
/// enough for an idle one.
const KEEP: usize = 8;

/// Entries held in the queue itself, before it spills.
const INLINE: usize = 3;

/// What a `gap` frame counts for against the byte bound: a generous upper
/// bound of its encoded size (topic name plus three varints or numbers).
pub(crate) const GAP_COST: usize = 200;

impl Entry {
    #[inline]
    pub(crate) fn cost(&self) -> usize {
        match self {
            Entry::Frame { frame, .. } => frame.len(),
            Entry::Gap { .. } => GAP_COST,
        }
    }

    /// The topic a delivery or gap is of, and its first offset.
    pub(crate) fn topic_offset(&self) -> Option<(Key, u64)> {
        match *self {
            Entry::Frame {
                tag: Tag::Deliver { topic, offset },
                ..
            } => Some((topic, offset)),
            Entry::Gap { topic, from, .. } => Some((topic, from)),
            Entry::Frame { .. } => None,
        }
    }

    /// Whether it is a control frame, which may use the reserve.
    fn is_control(&self) -> bool {
        matches!(
            self,
            Entry::Frame {
                tag: Tag::Other | Tag::Subscribed { .. },
                ..
            }
        )
    }
}

/// A session's queue: positions `[head, end)` of its slots, the first
/// [`INLINE`] of which are inline and the rest in `spill`.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    head: u32,
    end: u32,
    bytes: u32,
    inline: [u32; INLINE],
    /// Slots from [`INLINE`] on: `end - INLINE` of them when `end` is past
    /// the inline ones, none otherwise. Boxed: only a burst needs it, and
    /// the session's line has no room for a vector.
    #[expect(
        clippy::box_collection,
        reason = "8 bytes in the session's line instead of 24"
    )]
    spill: Option<Box<Vec<u32>>>,
}

impl Queue {
    pub(crate) fn new() -> Self {
        Queue::default()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.head == self.end
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        (self.end - self.head) as usize
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes as usize
    }

    #[inline]
    fn slot(&self, p: u32) -> u32 {
        let p = p as usize;
        if p < INLINE {
            self.inline[p]
        } else {
            // Positions past the inline ones are below `end`, so in `spill`.
            self.spill.as_ref().map_or(0, |s| s[p - INLINE])
        }
    }

    #[inline]
    fn set(&mut self, p: u32, v: u32) {
        let p = p as usize;
        if p < INLINE {
            self.inline[p] = v;
        } else if let Some(s) = self.spill.as_mut() {
            s[p - INLINE] = v;
        }
    }

    /// Appends index `v` at `end`, first moving the queue down to its first
    /// slot if its room is used up and its head has moved.
    #[inline]
    fn push_slot(&mut self, v: u32) {
        if (self.end as usize) < INLINE {
            // Inline room is never behind a moved head: no compaction.
            self.inline[self.end as usize] = v;
            self.end += 1;
            return;
        }
        let room = INLINE + self.spill.as_ref().map_or(0, |s| s.capacity());
        if self.end as usize >= room && self.head > 0 {
            self.compact(|_| true);
        }
        if (self.end as usize) < INLINE {
            self.inline[self.end as usize] = v;
        } else {
            self.spill.get_or_insert_default().push(v);
        }
        self.end += 1;
    }

    /// Keeps the slots `keep` says so, in order, from the first position.
    fn compact(&mut self, mut keep: impl FnMut(u32) -> bool) {
        let mut w = 0;
        for r in self.head..self.end {
            let v = self.slot(r);
            if keep(v) {
                // `w <= r`: nothing unread is overwritten.
                self.set(w, v);
                w += 1;
            }
        }
        self.head = 0;
        self.end = w;
        if let Some(s) = self.spill.as_mut() {
            s.truncate((w as usize).saturating_sub(INLINE));
        }
    }

    fn reset(&mut self) {
        self.head = 0;
        self.end = 0;
        if let Some(s) = self.spill.as_mut() {
            s.clear();
        }
    }

    /// Whether `n` more entries of `bytes` in total would fit.
    #[inline]
    pub(crate) fn fits(&self, store: &Store, n: usize, bytes: usize) -> bool {
        self.len() + n <= store.limits.messages as usize
            && self.bytes as usize + bytes <= store.limits.bytes as usize
    }

    /// Appends `entry` if it fits (a control frame may use the reserve);
    /// gives it back otherwise.
    pub(crate) fn push(&mut self, store: &mut Store, entry: Entry) -> Result<(), Entry> {
        let (frames, bytes) = if entry.is_control() {
            (CONTROL_FRAMES, CONTROL_BYTES)
        } else {
            (0, 0)
        };
        let limits = store.limits;
        if self.len() + 1 > limits.messages as usize + frames
            || self.bytes as usize + entry.cost() > limits.bytes as usize + bytes
        {
            return Err(entry);
        }
        let (index, cost) = store.keep_held(entry);
        self.push_held(index, cost);
        Ok(())
    }

    /// Whether a control frame of `cost` bytes would fit once every
    /// delivery and gap of `topic` is removed, as restarting its
    /// subscription does (see [`remove_topic`](Queue::remove_topic)).
    pub(crate) fn fits_restart(&self, store: &Store, topic: Key, cost: usize) -> bool {
        let (mut frames, mut bytes) = (self.len(), self.bytes as usize);
        for p in self.head..self.end {
            let v = self.slot(p);
            if store.topic_offset(v).is_some_and(|(t, _)| t == topic) {
                frames -= 1;
                bytes -= store.cost(v) as usize;
            }
        }
        let limits = store.limits;
        frames < limits.messages as usize + CONTROL_FRAMES
            && bytes + cost <= limits.bytes as usize + CONTROL_BYTES
    }

    /// Appends entry `index` of `cost`, which the caller has checked
    /// [`fits`](Queue::fits) and [held](Store::hold) for this queue: the
    /// fan-out's path, which must not pay for the checks twice.
    #[inline]
    pub(crate) fn push_held(&mut self, index: u32, cost: u32) {
        self.bytes = self.bytes.saturating_add(cost);
        self.push_slot(index);
    }

    /// Puts `entry` first, whatever the bounds: the `welcome` of a resumed
    /// session must precede what was queued before, and is one small frame
    /// (as are the `subscribed` a resume in another format keeps, at most
    /// one per subscription).
    pub(crate) fn push_front(&mut self, store: &mut Store, entry: Entry) {
        let (index, cost) = store.keep_held(entry);
        self.bytes = self.bytes.saturating_add(cost);
        if self.head > 0 {
            self.head -= 1;
            self.set(self.head, index);
            return;
        }
        self.push_slot(index);
        for p in (self.head + 1..self.end).rev() {
            let v = self.slot(p - 1);
            self.set(p, v);
        }
        self.set(self.head, index);
    }

    /// The first entry's index and cost, if any.
    #[inline]
    pub(crate) fn front(&self, store: &Store) -> Option<(u32, usize)> {
        if self.is_empty() {
            return None;
        }
        let index = self.slot(self.head);
        Some((index, store.cost(index) as usize))
    }

    /// Drops the first entry, of `cost` (from [`front`](Queue::front)); the
    /// caller [takes](Store::take) it from the store.
    #[inline]
    pub(crate) fn pop_front(&mut self, cost: usize) {
        self.head += 1;
        if self.head == self.end {
            self.reset();
        }
        // `cost` was added when the entry was pushed, as a u32.
        self.bytes -= cost as u32;
    }

    /// The first entry, if its cost is at most `budget`.
    #[cfg(test)]
    pub(crate) fn pop_within(&mut self, store: &mut Store, budget: usize) -> Option<Entry> {
        let (index, cost) = self.front(store).filter(|(_, cost)| *cost <= budget)?;
        self.pop_front(cost);
        store.take(index)
    }

    /// On an empty queue: gives back what a burst grew beyond [`KEEP`]
    /// entries. Called once a pull is over rather than whenever the queue
    /// empties, so that a replay refilled after every pull keeps its room.
    #[inline]
    pub(crate) fn trim(&mut self) {
        if self.is_empty() && self.spill.as_ref().is_some_and(|s| s.capacity() > 4 * KEEP) {
            self.spill = None;
        }
    }

    /// Entries the queue has room for without growing (for memory tests).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        INLINE + self.spill.as_ref().map_or(0, |s| s.capacity())
    }

    /// Removes every queued delivery and gap of `topic`, returning the lowest
    /// offset removed.
    pub(crate) fn remove_topic(&mut self, store: &mut Store, topic: Key) -> Option<u64> {
        let mut lowest: Option<u64> = None;
        let mut freed = 0;
        self.compact(|v| match store.topic_offset(v) {
            Some((t, from)) if t == topic => {
                lowest = Some(lowest.map_or(from, |l| l.min(from)));
                freed += store.cost(v);
                store.release(v);
                false
            }
            _ => true,
        });
        self.bytes -= freed;
        if self.is_empty() {
            self.reset();
        }
        self.trim();
        lowest
    }

    /// Drops everything, handing each entry to `f` for bookkeeping.
    pub(crate) fn drain(&mut self, store: &mut Store, mut f: impl FnMut(&Entry)) {
        for p in self.head..self.end {
            let v = self.slot(p);
            if let Some(entry) = store.get(v) {
                f(entry);
            }
            store.release(v);
        }
        self.bytes = 0;
        self.reset();
        self.trim();
    }
}

#[cfg(test)]
mod tests;
