//! The congestion window and the probe that follows a fully carried one.

extern crate std;

use std::vec::Vec;

use super::super::*;
use super::without_initial_probes;
use crate::time::Instant;

fn media(id: u64, at_ms: u64) -> SentPacket {
    SentPacket {
        id,
        size: 1_200,
        send_time: Instant::from_millis(at_ms),
        probe: None,
    }
}

/// Whether the encoder's target is the controller's (the pacing rate is
/// always 1.25 times that).
fn unpushed(e: &Estimator) -> bool {
    e.target().bps() as f64 * 1.25 >= e.pacing_rate().bps() as f64 - 2.0
}

#[test]
fn media_piling_up_unreported_pushes_the_encoders_target_back_until_reported() {
    let mut e = without_initial_probes();
    // 960 kbit/s of 1200-byte packets 10 ms apart, 60 ms one way, a report
    // every 50 ms: 2 s of normal flow.
    let mut results = Vec::new();
    for i in 0..200u64 {
        e.handle_sent(media(i, i * 10), Instant::from_millis(i * 10));
        results.push(PacketResult {
            id: i,
            arrival: Some(Instant::from_millis(i * 10 + 60)),
        });
        let now = i * 10 + 60;
        if i % 5 == 4 {
            e.handle_feedback(&results, Instant::from_millis(now));
            results.clear();
        }
    }
    let flowing = e.target();
    let pacing = e.pacing_rate();
    assert!(unpushed(&e), "not pushed back yet");
    // Delivery stalls: 400 ms more sent, nothing reported.
    for i in 200..240u64 {
        e.handle_sent(media(i, i * 10), Instant::from_millis(i * 10));
    }
    let pushed = e.target();
    assert!(
        pushed.bps() * 10 <= flowing.bps() * 6,
        "pushed back from {flowing} to {pushed}"
    );
    assert_eq!(e.pacing_rate(), pacing, "only the encoder's target");
    assert_eq!(
        e.available(),
        flowing,
        "a layer allocator keeps the controller's rate through the pushback"
    );
    // The report comes: nothing is in flight any more.
    let late: Vec<PacketResult> = (200..240u64)
        .map(|i| PacketResult {
            id: i,
            arrival: Some(Instant::from_millis(2_400 + i)),
        })
        .collect();
    e.handle_feedback(&late, Instant::from_millis(2_700));
    assert!(unpushed(&e), "back once reported");
}

/// Sends probe cluster `cluster` as 8 packets of 1250 bytes from id
/// `first`, `gap_ms` apart from `at_ms`, all carried intact; reports them at
/// `report_ms` and returns the probe rates asked for next.
fn carried_probe(
    e: &mut Estimator,
    cluster: u32,
    first: u64,
    at_ms: u64,
    gap_ms: u64,
    report_ms: u64,
) -> Vec<Bitrate> {
    for i in 0..8u64 {
        let at = Instant::from_millis(at_ms + i * gap_ms);
        let packet = SentPacket {
            id: first + i,
            size: 1_250,
            send_time: at,
            probe: Some(cluster),
        };
        e.handle_sent(packet, at);
    }
    let results: Vec<PacketResult> = (0..8u64)
        .map(|i| PacketResult {
            id: first + i,
            arrival: Some(Instant::from_millis(at_ms + 500 + i * gap_ms)),
        })
        .collect();
    e.handle_feedback(&results, Instant::from_millis(report_ms));
    core::iter::from_fn(|| e.poll_output())
        .filter_map(|o| match o {
            EstimatorOutput::Probe(p) => Some(p.rate),
            EstimatorOutput::Target { .. } => None,
        })
        .collect()
}

#[test]
fn a_probe_the_path_fully_carried_is_followed_at_once_by_one_twice_as_high() {
    let mut e = without_initial_probes();
    let id = e.request_probe(Bitrate::from_mbps(1), Instant::ZERO);
    while e.poll_output().is_some() {}
    // 10 ms apart: exactly 1 Mbit/s, carried intact.
    let next = carried_probe(&mut e, id, 0, 0, 10, 200);
    assert_eq!(e.target(), Bitrate::from_kbps(900));
    assert_eq!(next, [Bitrate::from_kbps(1_800)]);
    // The follow-up (cluster 1) is carried in full too: it lifts the target
    // but is not followed at once in turn.
    let next = carried_probe(&mut e, id + 1, 8, 300, 5, 700);
    assert!(e.target() > Bitrate::from_mbps(1), "lifted: {}", e.target());
    assert_eq!(next, [], "one follow-up only");
}
