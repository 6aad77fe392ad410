//! A reliable, ordered stream over a lossy link, like WebSocket over TCP.
//!
//! The sender numbers segments. A segment none of whose copies gets through
//! is sent again after a retransmission timeout (RTO) that doubles on every
//! retry, as TCP's does. Acknowledgements are not carried over the link: the
//! sender learns a segment's fate when the link decides it, which stands in
//! for an ACK that always gets back (spurious retransmits are not modelled).
//! The receiver hands segments to the application strictly in order, holding
//! later ones back until the gap is filled (head-of-line blocking), and drops
//! duplicates.

use std::collections::BTreeMap;

use onbeat_core::Duration;

/// The smallest RTO, as in TCP (RFC 6298 recommends 1 s; Linux uses 200 ms).
pub const MIN_RTO: Duration = Duration::from_millis(200);

/// The first RTO for a path with this base round trip and jitter mean.
pub fn initial_rto(base_rtt: Duration, jitter_mean: Duration) -> Duration {
    // SRTT + 4·RTTVAR with the jitter mean standing in for the variation.
    (base_rtt + jitter_mean.saturating_mul(8)).max(MIN_RTO)
}

/// The receiving end: in-order delivery of segments numbered from 0.
#[derive(Clone, Debug)]
pub struct Receiver<T> {
    next: u64,
    held: BTreeMap<u64, T>,
}

impl<T> Default for Receiver<T> {
    fn default() -> Self {
        Receiver {
            next: 0,
            held: BTreeMap::new(),
        }
    }
}

impl<T> Receiver<T> {
    /// Accepts segment `seq` and returns what can now be handed over, in order.
    pub fn receive(&mut self, seq: u64, segment: T) -> Vec<T> {
        if seq < self.next {
            return Vec::new();
        }
        self.held.entry(seq).or_insert(segment);
        let mut ready = Vec::new();
        while let Some(s) = self.held.remove(&self.next) {
            ready.push(s);
            self.next += 1;
        }
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivers_in_order_once() {
        let mut r = Receiver::default();
        assert_eq!(r.receive(1, 'b'), Vec::<char>::new());
        assert_eq!(r.receive(1, 'b'), Vec::<char>::new());
        assert_eq!(r.receive(0, 'a'), vec!['a', 'b']);
        assert_eq!(r.receive(0, 'a'), Vec::<char>::new());
        assert_eq!(r.receive(3, 'd'), Vec::<char>::new());
        assert_eq!(r.receive(2, 'c'), vec!['c', 'd']);
    }

    #[test]
    fn rto_has_a_floor_and_grows_with_the_path() {
        assert_eq!(
            initial_rto(Duration::from_millis(20), Duration::ZERO),
            MIN_RTO
        );
        assert_eq!(
            initial_rto(Duration::from_millis(300), Duration::from_millis(10)),
            Duration::from_millis(380)
        );
    }
}
