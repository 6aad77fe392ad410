//! Publishes held until their `at`.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::peer_msg::Origin;
use super::shard::ShardId;
use super::slab::Key;
use crate::proto::RequestId;
use crate::time::Instant;

/// A publish waiting for its time.
#[derive(Debug)]
pub(crate) struct Held {
    pub(crate) topic: Key,
    pub(crate) data: Arc<[u8]>,
    /// Who is answered on release.
    pub(crate) ack: Ack,
}

/// Who a held publish answers when it is released (or its topic closes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ack {
    /// Nobody: the server published it, or the client gave no request id.
    None,
    /// A session of this hub and its request id.
    Local(Key, RequestId),
    /// A session of another shard, which forwarded the publish here.
    Remote(ShardId, Origin),
}

/// Held publishes in release order: by `at`, then by arrival.
#[derive(Debug, Default)]
pub(crate) struct Timed {
    held: BTreeMap<(Instant, u64), Held>,
    seq: u64,
}

impl super::Hub {
    /// Holds a publish until `at`, within the hub's bound on held publishes.
    pub(super) fn hold(
        &mut self,
        at: Instant,
        topic: Key,
        data: Arc<[u8]>,
        ack: Ack,
    ) -> Result<(), super::HubError> {
        if self.timed.len() >= self.config.max_timed {
            return Err(super::HubError::TimedFull);
        }
        self.timed.hold(at, Held { topic, data, ack });
        Ok(())
    }
}

impl Timed {
    pub(crate) fn len(&self) -> usize {
        self.held.len()
    }

    pub(crate) fn hold(&mut self, at: Instant, held: Held) {
        self.held.insert((at, self.seq), held);
        self.seq += 1;
    }

    pub(crate) fn next_at(&self) -> Option<Instant> {
        self.held.first_key_value().map(|((at, _), _)| *at)
    }

    /// The next publish due at or before `now`, with its `at`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, Held)> {
        let entry = self.held.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        let ((at, _), held) = entry.remove_entry();
        Some((at, held))
    }

    /// Drops every held publish to `topic` (it closed), returning the acks
    /// they owed, in release order.
    pub(crate) fn forget_topic(&mut self, topic: Key) -> Vec<Ack> {
        let mut owed = Vec::new();
        self.held.retain(|_, h| {
            if h.topic != topic {
                return true;
            }
            if h.ack != Ack::None {
                owed.push(h.ack);
            }
            false
        });
        owed
    }
}
