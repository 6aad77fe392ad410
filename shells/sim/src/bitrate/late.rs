//! Why packets miss the trace goal's delay: sent into a delivery gap, or
//! queued behind the flow's own earlier packets.
//!
//! On a cellular trace the two call for different cures. A packet sent into
//! a gap waits for the gap's end whatever the rate, so only holding back
//! sooner helps; one that joined a long queue of the flow's own packets was
//! sent while the rate stood above a falling capacity, so a lower or more
//! cautious rate helps. The split comes from the link's ground truth: what
//! the link carried while the packet waited.

use onbeat_core::Duration;

use super::capacity::{Capacity, OPPORTUNITY_BYTES};
use super::link::{Fate, PacketRecord};

/// The trace goal's one-way delay: packets above it are late.
pub const LATE_OVER: Duration = Duration::from_millis(150);
/// A late packet counts as sent into a gap when the link carried fewer than
/// this many full opportunities while it waited.
const GAP_OPPORTUNITIES: u32 = 10;

/// The late packets of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Late {
    /// Late packets / delivered packets.
    pub share: f64,
    /// Of the late packets, the share that was sent into a delivery gap.
    pub in_gap: f64,
}

/// The late packets among `judged` (a trace-driven link only: on stepped
/// capacities a wait is always behind other packets).
pub fn late<'a>(
    capacity: &Capacity,
    judged: impl Iterator<Item = &'a PacketRecord>,
) -> Option<Late> {
    if !matches!(capacity, Capacity::Trace(_)) {
        return None;
    }
    let gap_bits = f64::from(GAP_OPPORTUNITIES * OPPORTUNITY_BYTES) * 8.0;
    let (mut delivered, mut late, mut in_gap) = (0u64, 0u64, 0u64);
    for r in judged {
        let Fate::Delivered { at } = r.fate else {
            continue;
        };
        delivered += 1;
        if at.saturating_duration_since(r.sent) <= LATE_OVER {
            continue;
        }
        late += 1;
        if capacity.bits_between(r.sent, r.sent + r.queued) < gap_bits {
            in_gap += 1;
        }
    }
    Some(Late {
        share: late as f64 / delivered.max(1) as f64,
        in_gap: in_gap as f64 / late.max(1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use onbeat_core::Instant;

    use super::*;
    use crate::bitrate::capacity::Trace;

    fn record(sent_ms: u64, queued_ms: u64) -> PacketRecord {
        let sent = Instant::from_millis(sent_ms);
        let queued = Duration::from_millis(queued_ms);
        PacketRecord {
            flow: 0,
            sent,
            size: 1200,
            queued,
            fate: Fate::Delivered {
                at: sent + queued + Duration::from_millis(50),
            },
        }
    }

    #[test]
    fn a_wait_through_a_silent_stretch_is_a_gap_and_one_behind_packets_is_not() {
        // One opportunity per ms for 100 ms, none for 400 ms, then again.
        let mut lines: Vec<String> = (1..=100).map(|ms| ms.to_string()).collect();
        lines.extend((500..=1000).map(|ms| ms.to_string()));
        let trace = Capacity::Trace(Trace::parse(&lines.join("\n")).unwrap());
        let records = [
            record(10, 1),    // on time
            record(120, 380), // waited out the silence: a gap
            record(20, 520),  // waited behind what the link carried: a queue
            record(600, 5),   // on time
        ];
        let l = late(&trace, records.iter()).unwrap();
        assert_eq!(l.share, 0.5);
        assert_eq!(l.in_gap, 0.5);
        let steps = Capacity::constant(1_000_000);
        assert_eq!(late(&steps, records.iter()), None);
    }
}
