//! Which hub of several sequences a topic.
//!
//! A server may run several hubs ("shards"), one per thread, each holding the
//! sessions of the connections it was given. Every topic has one **owner**
//! among them, which assigns its offsets; every other shard keeps a
//! **replica** of it (same epoch and offsets, its own bounded history) and
//! fans out to its own subscribers. The owner is a pure function of the
//! topic's name, so that every shard (and, later, every machine) computes it
//! alone and they all agree.

use super::Hub;
use super::caps::room_of;

/// A hub's place among its peers: an index below
/// [`HubConfig::shards`](super::HubConfig::shards).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShardId(pub u16);

/// The shard that owns topic `topic` among `shards` (0 is taken as 1).
///
/// A topic of a room (`room/…`) goes where the room goes: the hash is of its
/// room part, so a room and all its topics share one owner, which can then
/// run the room's logic and sequence its topics without asking anyone. A
/// topic without `/` is hashed whole. The hash is 64-bit FNV-1a over the
/// UTF-8 bytes, fixed by this function's definition: the same on every
/// build, platform and run, so that hubs of different builds agree.
pub fn owner_of(topic: &str, shards: u16) -> ShardId {
    room_owner(room_of(topic).unwrap_or(topic), shards)
}

/// The shard that owns room `room` (and every topic `room/…`) among
/// `shards`; see [`owner_of`].
pub fn room_owner(room: &str, shards: u16) -> ShardId {
    let shards = u64::from(shards.max(1));
    // Below `shards`, itself at most u16::MAX.
    ShardId((fnv1a(room.as_bytes()) % shards) as u16)
}

/// 64-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

impl Hub {
    /// Whether this hub has peers at all: one branch, so that a lone hub
    /// pays nothing else for sharding.
    #[inline]
    pub(super) fn sharded(&self) -> bool {
        self.config.shards > 1
    }

    /// The owner of `topic`, when it is not this hub.
    #[inline]
    pub(super) fn topic_elsewhere(&self, topic: &str) -> Option<ShardId> {
        if !self.sharded() {
            return None;
        }
        self.owner_elsewhere(topic)
    }

    /// The hash, out of line: a lone hub's publish path does not carry it.
    #[inline(never)]
    fn owner_elsewhere(&self, topic: &str) -> Option<ShardId> {
        Some(owner_of(topic, self.config.shards)).filter(|o| *o != self.config.shard)
    }

    /// The owner of room `room`, when it is not this hub.
    pub(super) fn room_elsewhere(&self, room: &str) -> Option<ShardId> {
        if !self.sharded() {
            return None;
        }
        Some(room_owner(room, self.config.shards)).filter(|o| *o != self.config.shard)
    }

    /// Why room `room` is not open here: another shard runs it, or nobody.
    pub(super) fn no_room(&self, room: &str) -> super::HubError {
        match self.room_elsewhere(room) {
            Some(_) => super::HubError::NotOwner,
            None => super::HubError::UnknownRoom,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_is_the_published_function() {
        // Reference values of 64-bit FNV-1a.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn a_room_and_its_topics_share_an_owner() {
        for shards in 1..=7 {
            let room = room_owner("table-1", shards);
            assert_eq!(owner_of("table-1/chat", shards), room);
            assert_eq!(owner_of("table-1/a/b", shards), room);
            assert_eq!(owner_of("table-1", shards), room);
            assert!(room.0 < shards);
        }
        assert_eq!(owner_of("anything", 0), ShardId(0));
        assert_eq!(owner_of("anything", 1), ShardId(0));
    }

    #[test]
    fn owners_spread_over_the_shards() {
        let mut seen = [0u32; 4];
        for i in 0..400 {
            let mut name = heapless::String::<16>::new();
            let _ = core::fmt::write(&mut name, format_args!("room-{i}/chat"));
            seen[usize::from(owner_of(&name, 4).0)] += 1;
        }
        assert!(seen.iter().all(|n| (60..=140).contains(n)), "{seen:?}");
    }
}
