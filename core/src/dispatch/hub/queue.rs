//! One session's outbound queue, bounded in frames and bytes.
//!
//! Allocated lazily: an idle session holds a few entries' worth at most. It
//! grows with what is queued (up to its bounds) and keeps its size while it
//! is in use, so pushing a frame in steady state allocates nothing; once a
//! burst has drained it shrinks back. An emptied queue starts again at its
//! first slot, so a session that is pulled as fast as it is fed touches one
//! cache line of it.

use super::fifo::Fifo;
use super::frame::Frame;
use super::slab::Key;

/// What the hub needs to know about a queued frame after queuing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tag {
    /// Any frame that is not a topic delivery.
    Other,
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

/// Entries an emptied queue keeps room for: enough for the steady state of
/// a session that is read promptly, little enough for an idle one.
const KEEP: usize = 8;

/// What a `gap` frame counts for against the byte bound: a generous upper
/// bound of its encoded size (topic name plus three varints or numbers).
pub(crate) const GAP_COST: usize = 200;

impl Entry {
    #[inline]
    fn cost(&self) -> usize {
        match self {
            Entry::Frame { frame, .. } => frame.len(),
            Entry::Gap { .. } => GAP_COST,
        }
    }

    fn topic(&self) -> Option<Key> {
        match *self {
            Entry::Frame {
                tag: Tag::Deliver { topic, .. },
                ..
            }
            | Entry::Gap { topic, .. } => Some(topic),
            Entry::Frame { .. } => None,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Queue {
    entries: Fifo<Entry>,
    bytes: usize,
    max_messages: usize,
    max_bytes: usize,
}

impl Queue {
    pub(crate) fn new(max_messages: usize, max_bytes: usize) -> Self {
        Queue {
            entries: Fifo::new(),
            bytes: 0,
            max_messages,
            max_bytes,
        }
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether `n` more entries of `bytes` in total would fit.
    #[inline]
    pub(crate) fn fits(&self, n: usize, bytes: usize) -> bool {
        self.entries.len() + n <= self.max_messages && self.bytes + bytes <= self.max_bytes
    }

    /// Appends `entry` if it fits (a control frame may use the reserve);
    /// gives it back otherwise.
    pub(crate) fn push(&mut self, entry: Entry) -> Result<(), Entry> {
        let control = matches!(
            entry,
            Entry::Frame {
                tag: Tag::Other,
                ..
            }
        );
        let (frames, bytes) = if control {
            (CONTROL_FRAMES, CONTROL_BYTES)
        } else {
            (0, 0)
        };
        if self.entries.len() + 1 > self.max_messages + frames
            || self.bytes + entry.cost() > self.max_bytes + bytes
        {
            return Err(entry);
        }
        self.bytes += entry.cost();
        self.entries.push_back(entry);
        Ok(())
    }

    /// Appends a delivery the caller has checked [`fits`](Queue::fits): the
    /// fan-out's path, which must not pay for the checks twice.
    #[inline]
    pub(crate) fn push_fitting(&mut self, entry: Entry) {
        self.bytes += entry.cost();
        self.entries.push_back(entry);
    }

    /// Puts `entry` first, whatever the bounds: the `welcome` of a resumed
    /// session must precede what was queued before, and is one small frame.
    pub(crate) fn push_front(&mut self, entry: Entry) {
        self.bytes += entry.cost();
        self.entries.push_front(entry);
    }

    /// The first entry, if its cost is at most `budget`.
    #[inline]
    pub(crate) fn pop_within(&mut self, budget: usize) -> Option<Entry> {
        let cost = self.entries.front()?.cost();
        if cost > budget {
            return None;
        }
        let entry = self.entries.pop_front()?;
        self.bytes -= cost;
        Some(entry)
    }

    /// On an empty queue: gives back what a burst grew beyond [`KEEP`]
    /// entries. Called once a pull is over rather than whenever the queue
    /// empties, so that a replay refilled after every pull keeps its room.
    #[inline]
    pub(crate) fn trim(&mut self) {
        if self.entries.is_empty() && self.entries.capacity() > 4 * KEEP {
            self.entries.shrink_to(KEEP);
        }
    }

    /// Entries the queue has room for without growing (for memory tests).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.entries.capacity()
    }

    /// Removes every queued delivery and gap of `topic`, returning the lowest
    /// offset removed.
    pub(crate) fn remove_topic(&mut self, topic: Key) -> Option<u64> {
        let mut lowest: Option<u64> = None;
        let mut freed = 0;
        self.entries.retain(|e| {
            if e.topic() != Some(topic) {
                return true;
            }
            let from = match *e {
                Entry::Frame {
                    tag: Tag::Deliver { offset, .. },
                    ..
                } => offset,
                Entry::Gap { from, .. } => from,
                Entry::Frame { .. } => return true,
            };
            lowest = Some(lowest.map_or(from, |l| l.min(from)));
            freed += e.cost();
            false
        });
        self.bytes -= freed;
        self.trim();
        lowest
    }

    /// Drops everything, handing each entry to `f` for bookkeeping.
    pub(crate) fn drain(&mut self, f: impl FnMut(Entry)) {
        self.bytes = 0;
        self.entries.drain().for_each(f);
        self.trim();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::ServerMsg;

    fn frame() -> Entry {
        let msg = ServerMsg::Gap(crate::proto::Gap {
            topic: crate::proto::Topic::try_from("t").expect("short name"),
            epoch: 1,
            from: 2,
            to: 3,
        });
        Entry::Frame {
            frame: Frame::encode(&msg, super::super::Codec::Postcard),
            tag: Tag::Other,
        }
    }

    #[test]
    fn an_idle_queue_holds_nothing_and_a_drained_burst_shrinks_back() {
        let mut q = Queue::new(1024, 1 << 20);
        assert_eq!(q.capacity(), 0, "nothing is reserved up front");
        for _ in 0..500 {
            q.push(frame()).expect("within the bounds");
        }
        assert!(q.capacity() >= 500);
        while q.pop_within(usize::MAX).is_some() {}
        q.trim();
        assert!(q.capacity() <= 4 * KEEP, "the burst's room is given back");
        // Bounds are unchanged by the lazy allocation.
        for _ in 0..1024 + CONTROL_FRAMES {
            q.push(frame()).expect("within the bounds and the reserve");
        }
        assert!(q.push(frame()).is_err());
    }
}
