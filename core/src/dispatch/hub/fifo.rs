//! A first-in first-out buffer that starts again at its first slot whenever
//! it empties.
//!
//! A session's queue is pushed to by every fan-out and emptied by the next
//! pull. A ring buffer's head would walk through its whole allocation, one
//! new cache line every other delivery; this one reuses the same slots for
//! as long as it is emptied promptly, and resetting it costs a store. It is
//! a window `[head, len)` over a vector: popping leaves `None` behind, and
//! the taken prefix is compacted away only when the vector is full.

use alloc::vec::Vec;

#[derive(Debug)]
pub(crate) struct Fifo<T> {
    items: Vec<Option<T>>,
    /// The first item still queued; every slot before it is `None`.
    head: usize,
}

impl<T> Fifo<T> {
    pub(crate) const fn new() -> Self {
        Fifo {
            items: Vec::new(),
            head: 0,
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.items.len() - self.head
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.items.len() == self.head
    }

    /// Items it holds room for without growing.
    pub(crate) fn capacity(&self) -> usize {
        self.items.capacity()
    }

    #[inline]
    pub(crate) fn front(&self) -> Option<&T> {
        self.items.get(self.head)?.as_ref()
    }

    #[inline]
    pub(crate) fn push_back(&mut self, item: T) {
        if self.items.len() == self.items.capacity() && self.head > 0 {
            self.compact();
        }
        self.items.push(Some(item));
    }

    pub(crate) fn push_front(&mut self, item: T) {
        if self.head > 0 {
            self.head -= 1;
            self.items[self.head] = Some(item);
        } else {
            self.items.insert(0, Some(item));
        }
    }

    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        let item = self.items.get_mut(self.head)?.take();
        self.head += 1;
        if self.head == self.items.len() {
            self.clear();
        }
        item
    }

    /// Empties it, keeping its allocation.
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.head = 0;
    }

    /// Gives back room beyond `keep` items, if it is empty.
    pub(crate) fn shrink_to(&mut self, keep: usize) {
        if self.is_empty() {
            self.clear();
            self.items.shrink_to(keep);
        }
    }

    /// Keeps the items for which `keep` says so, in order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.compact();
        self.items
            .retain(|item| item.as_ref().is_some_and(&mut keep));
    }

    /// Takes every item out, in order.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.compact();
        self.items.drain(..).flatten()
    }

    /// Drops the taken prefix.
    fn compact(&mut self) {
        let head = core::mem::take(&mut self.head);
        self.items.drain(..head);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::VecDeque;

    /// Behaves as a `VecDeque` over a deterministic mix of operations, and
    /// its allocation stays within twice the most it ever held plus one.
    #[test]
    fn agrees_with_a_deque_and_stays_small() {
        let mut fifo = Fifo::new();
        let mut model = VecDeque::new();
        let mut most = 0;
        let mut x: u32 = 0x9E37_79B9;
        for i in 0..50_000u32 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            match x % 16 {
                0..=6 => {
                    fifo.push_back(i);
                    model.push_back(i);
                }
                7 => {
                    fifo.push_front(i);
                    model.push_front(i);
                }
                8..=13 => assert_eq!(fifo.pop_front(), model.pop_front()),
                14 => {
                    fifo.retain(|v| v % 3 != 0);
                    model.retain(|v| v % 3 != 0);
                }
                _ if x % 64 == 15 => {
                    assert!(fifo.drain().eq(model.drain(..)));
                }
                _ => {}
            }
            most = most.max(model.len());
            assert_eq!(fifo.len(), model.len());
            assert_eq!(fifo.front(), model.front());
            assert!(fifo.capacity() <= 2 * most + 8, "at step {i}");
        }
    }
}
