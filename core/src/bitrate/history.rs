//! Packets sent and not yet forgotten, looked up by transport-wide id.
//!
//! A fixed ring indexed by `id % SENT_HISTORY`: a feedback result for an id
//! that has been overwritten (or never sent) finds a slot holding another id
//! and is ignored, so forged, stale and duplicate results cost nothing.

use crate::time::Instant;

/// Sent packets remembered for feedback. At 20 Mbit/s of 1200-byte packets
/// this covers about a second of sending, well beyond any feedback delay a
/// congestion controller can still act on.
pub const SENT_HISTORY: usize = 2048;

/// What feedback has said about a sent packet so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fate {
    Unreported,
    Lost,
    Received,
}

/// One sent packet.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sent {
    pub id: u64,
    pub size: u32,
    pub send_time: Instant,
    pub probe: Option<u32>,
    pub fate: Fate,
    /// Media bytes sent up to and including this packet (probes left out).
    pub sent_upto: u64,
}

/// The ring of sent packets.
#[derive(Clone, Debug)]
pub(crate) struct History {
    slots: [Option<Sent>; SENT_HISTORY],
    /// Highest id recorded, to refuse ids that go backwards.
    last_id: Option<u64>,
}

impl History {
    pub fn new() -> Self {
        History {
            slots: [None; SENT_HISTORY],
            last_id: None,
        }
    }

    /// Records a sent packet; an id that does not increase is refused
    /// (`false`) so that a replay cannot overwrite a packet still in flight.
    pub fn record(&mut self, sent: Sent) -> bool {
        if self.last_id.is_some_and(|last| sent.id <= last) {
            return false;
        }
        self.last_id = Some(sent.id);
        self.slots[slot(sent.id)] = Some(sent);
        true
    }

    /// The packet with this id, if it is still remembered.
    pub fn get_mut(&mut self, id: u64) -> Option<&mut Sent> {
        self.slots[slot(id)].as_mut().filter(|s| s.id == id)
    }

    /// The packet with this id, if it is still remembered.
    pub fn get(&self, id: u64) -> Option<&Sent> {
        self.slots[slot(id)].as_ref().filter(|s| s.id == id)
    }
}

fn slot(id: u64) -> usize {
    // The remainder is below SENT_HISTORY, so it fits a usize.
    (id % SENT_HISTORY as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(id: u64) -> Sent {
        Sent {
            id,
            size: 1_000,
            send_time: Instant::from_micros(id),
            probe: None,
            fate: Fate::Unreported,
            sent_upto: 0,
        }
    }

    #[test]
    fn forgets_overwritten_ids_and_refuses_replays() {
        let mut h = History::new();
        assert!(h.record(sent(5)));
        assert!(!h.record(sent(5)), "a repeated id is refused");
        assert!(!h.record(sent(3)), "a decreasing id is refused");
        assert!(h.get(5).is_some());
        assert!(h.get(3).is_none(), "never sent");
        assert!(h.record(sent(5 + SENT_HISTORY as u64)));
        assert!(
            h.get(5).is_none(),
            "overwritten by a newer id in the same slot"
        );
        assert!(h.get(u64::MAX).is_none());
    }
}
