//! Connection ids to small values: an open-addressing hash table.
//!
//! Every pull looks a connection up by the shell's id, and an ordered map of
//! ten thousand ids costs a dozen compares and several cache lines per
//! lookup. This table costs one multiply and, at most half full, one or two
//! probes in one line. It is deterministic (a fixed multiplicative hash, no
//! random state) and never iterated, so nothing the hub outputs depends on
//! its layout.

use alloc::vec;
use alloc::vec::Vec;

use super::ConnId;

/// The smallest table allocated, in slots.
const MIN_SLOTS: usize = 16;

/// One slot, aligned so that it never straddles two cache lines: an
/// unaligned 32-byte slot at a 16-byte boundary would, every other slot,
/// and each lookup would then miss twice.
#[derive(Clone, Copy)]
#[repr(align(32))]
struct Slot<V>(Option<(ConnId, V)>);

pub(super) struct IdMap<V> {
    /// A power of two in length (or empty); at most half full.
    slots: Vec<Slot<V>>,
    len: usize,
}

impl<V: Copy> IdMap<V> {
    pub(super) fn new() -> Self {
        IdMap {
            slots: Vec::new(),
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The home slot of `id`: the top bits of a Fibonacci hash, which spread
    /// consecutive ids (what shells hand out) over the whole table.
    #[inline]
    fn home(&self, id: ConnId) -> usize {
        let bits = self.slots.len().trailing_zeros();
        (id.0.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// The slot holding `id`, if any.
    #[inline]
    fn find(&self, id: ConnId) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mut i = self.home(id);
        // The table is never full, so an empty slot ends every probe.
        loop {
            match self.slots[i].0 {
                Some((k, _)) if k == id => return Some(i),
                Some(_) => i = (i + 1) & self.mask(),
                None => return None,
            }
        }
    }

    #[inline]
    pub(super) fn get(&self, id: ConnId) -> Option<V> {
        self.find(id)
            .and_then(|i| self.slots[i].0.map(|(_, value)| value))
    }

    /// The value of `id`, to change in place.
    pub(super) fn get_mut(&mut self, id: ConnId) -> Option<&mut V> {
        let i = self.find(id)?;
        self.slots[i].0.as_mut().map(|(_, value)| value)
    }

    /// Maps `id` to `value`, replacing any previous value.
    pub(super) fn insert(&mut self, id: ConnId, value: V) {
        if let Some(i) = self.find(id) {
            self.slots[i] = Slot(Some((id, value)));
            return;
        }
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        self.place(id, value);
        self.len += 1;
    }

    fn place(&mut self, id: ConnId, value: V) {
        let mut i = self.home(id);
        while self.slots[i].0.is_some() {
            i = (i + 1) & self.mask();
        }
        self.slots[i] = Slot(Some((id, value)));
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(MIN_SLOTS);
        let old = core::mem::replace(&mut self.slots, vec![Slot(None); size]);
        for (id, value) in old.into_iter().filter_map(|slot| slot.0) {
            self.place(id, value);
        }
    }

    /// Removes `id`, shifting back the entries that probed past its slot so
    /// that no probe meets a hole before its entry (no tombstones).
    pub(super) fn remove(&mut self, id: ConnId) -> Option<V> {
        let mut hole = self.find(id)?;
        let (_, value) = self.slots[hole].0.take()?;
        self.len -= 1;
        let mut i = hole;
        loop {
            i = (i + 1) & self.mask();
            let Some((other, _)) = self.slots[i].0 else {
                break;
            };
            // `other` may fill the hole if its home is not cyclically within
            // (hole, i]: otherwise its probe would not pass the hole.
            let home = self.home(other);
            let stays = if hole <= i {
                hole < home && home <= i
            } else {
                hole < home || home <= i
            };
            if !stays {
                self.slots[hole] = Slot(self.slots[i].0.take());
                hole = i;
            }
        }
        if self.len == 0 && self.slots.len() > MIN_SLOTS {
            self.slots = Vec::new();
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::hub::slab::{Key, Slab};
    use alloc::collections::BTreeMap;

    /// The table agrees with an ordered map over a deterministic mix of
    /// inserts, replacements and removals, including ids that collide.
    #[test]
    fn agrees_with_an_ordered_map() {
        let mut slab = Slab::new();
        let keys: Vec<Key> = (0..64).map(|i| slab.insert(i)).collect();
        let mut map = IdMap::new();
        let mut model = BTreeMap::new();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for step in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Few distinct ids, some far apart, so that probes wrap and collide.
            let id = ConnId(if x % 3 == 0 { x % 97 } else { (x % 41) << 40 });
            let key = keys[(step % 64) as usize];
            if x % 5 < 3 {
                map.insert(id, key);
                model.insert(id, key);
            } else {
                assert_eq!(map.remove(id), model.remove(&id));
            }
            assert_eq!(map.len(), model.len());
            let probe = ConnId(x % 97);
            assert_eq!(map.get(probe), model.get(&probe).copied());
        }
        for (id, key) in &model {
            assert_eq!(map.get(*id), Some(*key));
        }
    }
}
