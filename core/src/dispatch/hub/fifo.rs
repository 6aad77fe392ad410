//! A first-in first-out buffer that starts again at its first slot whenever
//! it empties: the hub's list of outputs.
//!
//! A fan-out pushes one `Wake` per recipient and the shell pops them all
//! before the next change. A ring buffer's head would walk through its
//! whole allocation; this one reuses the same slots while it is emptied
//! promptly, and resetting it costs a store. It is a window `[head, len)`
//! over a vector: popping leaves `None` behind, and the taken prefix is
//! compacted away only when the vector is full.

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
    pub(crate) fn push_back(&mut self, item: T) {
        if self.items.len() == self.items.capacity() && self.head > 0 {
            let head = core::mem::take(&mut self.head);
            self.items.drain(..head);
        }
        self.items.push(Some(item));
    }

    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        let item = self.items.get_mut(self.head)?.take();
        self.head += 1;
        if self.head == self.items.len() {
            self.items.clear();
            self.head = 0;
        }
        item
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
            if x % 16 < 8 {
                fifo.push_back(i);
                model.push_back(i);
            } else {
                assert_eq!(fifo.pop_front(), model.pop_front());
            }
            most = most.max(model.len());
            assert_eq!(fifo.items.len() - fifo.head, model.len());
            assert!(fifo.items.capacity() <= 2 * most + 8, "at step {i}");
        }
    }
}
