//! Publishes held until their `at`.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::slab::Key;
use crate::proto::RequestId;
use crate::time::Instant;

/// A publish waiting for its time.
#[derive(Debug)]
pub(crate) struct Held {
    pub(crate) topic: Key,
    pub(crate) data: Arc<[u8]>,
    /// The publishing session and its request id, to ack on release.
    pub(crate) ack: Option<(Key, RequestId)>,
}

/// Held publishes in release order: by `at`, then by arrival.
#[derive(Debug, Default)]
pub(crate) struct Timed {
    held: BTreeMap<(Instant, u64), Held>,
    seq: u64,
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
    pub(crate) fn forget_topic(&mut self, topic: Key) -> Vec<(Key, RequestId)> {
        let mut owed = Vec::new();
        self.held.retain(|_, h| {
            if h.topic != topic {
                return true;
            }
            owed.extend(h.ack);
            false
        });
        owed
    }
}
