//! One direction of a WebSocket over TCP: a reliable, in-order stream of
//! frames whose segments cross a lossy link.
//!
//! Each frame is one segment, numbered from 0. The sender keeps every frame
//! until the reader has taken it, which is both TCP's send buffer and its
//! receive buffer: [`Pipe::unread`] bytes are what a real socket would hold,
//! so a reader that stalls fills it and the writer sees the socket as not
//! writable. A segment none of whose copies gets through is sent again after
//! a retransmission timeout that doubles (capped), as TCP's does; ACKs are
//! not simulated, the sender learns a segment's fate from the link at once.
//! The reader takes frames strictly in order (head-of-line blocking), and
//! copies of a segment already taken are ignored.

use std::collections::VecDeque;

/// What a pipe carries: frames, then at most one end-of-stream.
#[derive(Clone, Debug)]
pub enum Item<F> {
    /// One WebSocket message.
    Frame(F),
    /// The writer closed the connection after the frames before it.
    Fin,
}

#[derive(Debug)]
struct Slot<F> {
    item: Item<F>,
    size: u32,
    arrived: bool,
}

/// One direction of one connection.
#[derive(Debug)]
pub struct Pipe<F> {
    slots: VecDeque<Slot<F>>,
    /// Sequence number of `slots[0]`.
    base: u64,
    unread: usize,
    /// Whether the reader still reads (it closes on its side otherwise).
    pub open: bool,
}

impl<F> Default for Pipe<F> {
    fn default() -> Self {
        Pipe {
            slots: VecDeque::new(),
            base: 0,
            unread: 0,
            open: true,
        }
    }
}

impl<F> Pipe<F> {
    /// Writes `item` of `size` bytes; returns its sequence number.
    pub fn push(&mut self, item: Item<F>, size: u32) -> u64 {
        self.slots.push_back(Slot {
            item,
            size,
            arrived: false,
        });
        self.unread += size as usize;
        self.base + self.slots.len() as u64 - 1
    }

    /// A copy of segment `seq` reached the reader's side.
    pub fn arrive(&mut self, seq: u64) {
        if let Some(slot) = seq
            .checked_sub(self.base)
            .and_then(|i| self.slots.get_mut(i as usize))
        {
            slot.arrived = true;
        }
    }

    /// Whether segment `seq` is still waiting for a copy to get through.
    pub fn missing(&self, seq: u64) -> bool {
        seq.checked_sub(self.base)
            .and_then(|i| self.slots.get(i as usize))
            .is_some_and(|s| !s.arrived)
    }

    /// The next item in order, if it has arrived; the reader takes it.
    pub fn read(&mut self) -> Option<Item<F>> {
        if !self.slots.front()?.arrived {
            return None;
        }
        let slot = self.slots.pop_front()?;
        self.base += 1;
        self.unread -= slot.size as usize;
        Some(slot.item)
    }

    /// Whether the next item in order has arrived.
    pub fn readable(&self) -> bool {
        self.slots.front().is_some_and(|s| s.arrived)
    }

    /// Bytes written and not yet read.
    pub fn unread(&self) -> usize {
        self.unread
    }

    /// Forgets everything: the connection is gone.
    pub fn kill(&mut self) {
        self.open = false;
        self.slots.clear();
        self.unread = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_order_once_and_counts_unread_bytes() {
        let mut p: Pipe<char> = Pipe::default();
        let a = p.push(Item::Frame('a'), 10);
        let b = p.push(Item::Frame('b'), 20);
        assert_eq!(p.unread(), 30);
        p.arrive(b);
        assert!(!p.readable(), "b waits behind a");
        assert!(p.missing(a) && !p.missing(b));
        p.arrive(a);
        assert!(matches!(p.read(), Some(Item::Frame('a'))));
        p.arrive(a);
        assert!(matches!(p.read(), Some(Item::Frame('b'))));
        assert!(p.read().is_none());
        assert_eq!(p.unread(), 0);
        assert!(!p.missing(a));
    }
}
