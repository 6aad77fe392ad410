//! The estimator against hostile or odd input and its timed behaviour.

extern crate std;

use std::vec::Vec;

use super::super::*;
use super::{Link, estimator, without_initial_probes};
use crate::time::Instant;

fn sent(id: u64, at_ms: u64) -> SentPacket {
    SentPacket {
        id,
        size: 1_200,
        send_time: Instant::from_millis(at_ms),
        probe: None,
    }
}

fn drain(e: &mut Estimator) -> Vec<EstimatorOutput> {
    core::iter::from_fn(|| e.poll_output()).collect()
}

#[test]
fn starts_with_its_target_and_two_initial_probes() {
    let mut e = estimator();
    let out = drain(&mut e);
    assert_eq!(
        out[0],
        EstimatorOutput::Target {
            target: Bitrate::from_kbps(300),
            pacing: Bitrate::from_kbps(375),
        }
    );
    let probes: Vec<Bitrate> = out[1..]
        .iter()
        .map(|o| match o {
            EstimatorOutput::Probe(p) => p.rate,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(probes, [Bitrate::from_kbps(900), Bitrate::from_kbps(1_800)]);
    assert_eq!(drain(&mut e), []);
}

#[test]
fn initial_probes_find_a_fast_link_within_two_seconds() {
    let link = Link::constant(3_000_000);
    let mut e = estimator();
    let run = link.run(&mut e, 3);
    let at = run
        .first_after(0.0, |s| s.target >= 1_500_000)
        .expect("reached half the link");
    assert!(at <= 2.0, "reached 1.5 Mbit/s after {at} s");
}

#[test]
fn unknown_duplicate_reordered_and_absurd_feedback_is_harmless() {
    let cfg = EstimatorConfig::default();
    let mut e = Estimator::new(cfg, Instant::ZERO);
    for id in 0..200u64 {
        e.handle_sent(sent(id, id * 5), Instant::from_millis(id * 5));
    }
    // Replays and decreasing ids are ignored.
    e.handle_sent(sent(3, 0), Instant::from_millis(1_000));
    let mut results: Vec<PacketResult> = (0..200u64)
        .rev()
        .map(|id| PacketResult {
            id,
            arrival: Some(Instant::from_micros(id.wrapping_mul(0x9E37_79B9_7F4A_7C15))),
        })
        .collect();
    results.extend((0..50u64).map(|i| PacketResult {
        id: u64::MAX - i,
        arrival: Some(Instant::MAX),
    }));
    results.extend_from_slice(&results.clone());
    for round in 0..20u64 {
        e.handle_feedback(&results, Instant::from_millis(1_000 + round));
        let t = e.target();
        assert!(t >= cfg.min && t <= cfg.max, "{t}");
        assert!(e.pacing_rate() >= t);
    }
    // Time running backwards is clamped, not obeyed.
    e.handle_timeout(Instant::ZERO);
    e.handle_feedback(&results, Instant::ZERO);
    assert!(e.target() >= cfg.min);
}

#[test]
fn a_config_with_crossed_bounds_is_corrected() {
    let cfg = EstimatorConfig {
        min: Bitrate::from_mbps(2),
        max: Bitrate::from_mbps(1),
        start: Bitrate::from_kbps(10),
        pacing_factor: f64::NAN,
        ..EstimatorConfig::default()
    };
    let e = Estimator::new(cfg, Instant::ZERO);
    assert_eq!(e.config().max, Bitrate::from_mbps(2));
    assert_eq!(e.target(), Bitrate::from_mbps(2));
    assert_eq!(e.pacing_rate(), Bitrate::from_mbps(2));
}

#[test]
fn silence_after_sending_halves_the_target_each_timeout() {
    let mut e = without_initial_probes();
    assert_eq!(e.poll_timeout(), None, "idle until something is sent");
    e.handle_sent(sent(0, 0), Instant::ZERO);
    let due = e.poll_timeout().expect("a feedback deadline");
    assert_eq!(due, Instant::from_millis(1_000));
    e.handle_timeout(due);
    assert_eq!(e.target(), Bitrate::from_kbps(150));
    let due = e.poll_timeout().unwrap();
    e.handle_timeout(due);
    assert_eq!(e.target(), Bitrate::from_kbps(75));
    e.handle_feedback(
        &[PacketResult {
            id: 0,
            arrival: Some(Instant::ZERO),
        }],
        due,
    );
    assert_eq!(e.poll_timeout(), None, "feedback is flowing again");
}

#[test]
fn application_limited_sending_does_not_grow_the_target() {
    let mut e = without_initial_probes();
    e.set_app_limited(true, Instant::ZERO);
    // A trickle of 100 kbit/s, delivered without any queue, for 10 s.
    for id in 0..1_000u64 {
        let at = id * 10;
        e.handle_sent(
            SentPacket {
                size: 125,
                ..sent(id, at)
            },
            Instant::from_millis(at),
        );
        if id % 5 == 4 {
            let results: Vec<PacketResult> = (id - 4..=id)
                .map(|i| PacketResult {
                    id: i,
                    arrival: Some(Instant::from_millis(i * 10 + 40)),
                })
                .collect();
            e.handle_feedback(&results, Instant::from_millis(at + 80));
        }
    }
    assert_eq!(e.target(), Bitrate::from_kbps(300));
    drain(&mut e);
    // Leaving the limited state probes for headroom.
    e.set_app_limited(false, Instant::from_millis(11_000));
    assert!(matches!(
        drain(&mut e)[..],
        [EstimatorOutput::Probe(ProbeRequest { rate, .. })] if rate == Bitrate::from_kbps(600)
    ));
}

#[test]
fn probes_look_no_further_than_the_desired_rate() {
    // Alone on 5 Mbit/s the estimator probes far past 1.5 Mbit/s...
    let link = Link::constant(5_000_000);
    let mut e = without_initial_probes();
    let free = link.run(&mut e, 10).probe_rates;
    assert!(free.iter().any(|&r| r > 1_500_000), "{free:?}");
    // ...but not far past what the sender could use (1.2 Mbit/s): its probes
    // stop a quarter past it, and once the target is there there are none.
    let mut e = without_initial_probes();
    e.set_desired(Some(Bitrate::from_kbps(1_200)), Instant::ZERO);
    let run = link.run(&mut e, 10);
    assert!(!run.probe_rates.is_empty());
    assert!(
        run.probe_rates.iter().all(|&r| r <= 1_500_000),
        "{:?}",
        run.probe_rates
    );
    assert!(e.target().bps() >= 1_500_000, "{}", e.target().bps());
    assert!(
        drain(&mut e)
            .iter()
            .all(|o| !matches!(o, EstimatorOutput::Probe(_)))
    );
    // A probe asked for explicitly is the caller's call.
    e.request_probe(Bitrate::from_mbps(8), Instant::from_millis(10_000));
    assert!(matches!(
        drain(&mut e)[..],
        [.., EstimatorOutput::Probe(ProbeRequest { rate, .. })] if rate == Bitrate::from_mbps(8)
    ));
}

#[test]
fn a_requested_probe_reports_its_verdict() {
    let mut e = without_initial_probes();
    let id = e.request_probe(Bitrate::from_mbps(1), Instant::ZERO);
    // 8 packets of 1250 bytes 10 ms apart: exactly 1 Mbit/s, carried intact.
    for i in 0..8u64 {
        e.handle_sent(
            SentPacket {
                id: i,
                size: 1_250,
                send_time: Instant::from_millis(i * 10),
                probe: Some(id),
            },
            Instant::from_millis(i * 10),
        );
    }
    let results: Vec<PacketResult> = (0..8u64)
        .map(|i| PacketResult {
            id: i,
            arrival: Some(Instant::from_millis(500 + i * 10)),
        })
        .collect();
    e.handle_feedback(&results, Instant::from_millis(200));
    let outcome = e.poll_probe_result().expect("a verdict");
    assert_eq!(outcome.id, id);
    assert!(outcome.confirmed, "{outcome:?}");
    assert_eq!(
        e.target(),
        Bitrate::from_kbps(900),
        "lifted to 90% of the proven rate"
    );
}

#[test]
fn a_link_outage_holds_sending_back_and_its_end_restores_the_rate() {
    let cfg = EstimatorConfig {
        initial_probes: false,
        ..EstimatorConfig::default()
    };
    let mut e = Estimator::new(cfg, Instant::ZERO);
    // 10 ms apart, 60 ms one way, a report every 50 ms: 2 s of normal flow.
    let mut id = 0u64;
    let report = |e: &mut Estimator, upto_ms: u64, id: &mut u64| {
        let mut results = Vec::new();
        while *id * 10 + 60 <= upto_ms {
            results.push(PacketResult {
                id: *id,
                arrival: Some(Instant::from_millis(*id * 10 + 60)),
            });
            *id += 1;
        }
        e.handle_feedback(&results, Instant::from_millis(upto_ms + 10));
    };
    let mut flowing = Bitrate::ZERO;
    for t in 0..400u64 {
        e.handle_sent(sent(t, t * 10), Instant::from_millis(t * 10));
        if t % 5 == 4 && t < 200 {
            report(&mut e, t * 10, &mut id);
        }
        if let Some(due) = e
            .poll_timeout()
            .filter(|&d| d <= Instant::from_millis(t * 10))
        {
            e.handle_timeout(due);
        }
        if t == 199 {
            flowing = e.target();
            assert!(flowing > cfg.min, "flowing: {flowing}");
        }
        if t == 215 {
            // The last report came at 2 s; 150 ms later the link is silent.
            assert_eq!(e.target(), cfg.min, "held back during the outage");
        }
    }
    report(&mut e, 4_000, &mut id);
    assert!(
        e.target() >= flowing,
        "the rate before the outage comes back: {}",
        e.target()
    );
}

/// 240 kbit/s through a 400 kbit/s bottleneck (50 ms one way) for 3 s,
/// with a burst of five packets 5 ms apart at 2 s, tagged as a probe or not;
/// returns the target before the burst and the lowest after it.
fn burst_through_a_slow_link(tagged: bool) -> (Bitrate, Bitrate) {
    let mut e = without_initial_probes();
    let cluster = e.request_probe(Bitrate::from_mbps(2), Instant::ZERO);
    let mut sends: Vec<(u64, u32)> = (0..75u64).map(|i| (i * 40_000, 0)).collect();
    sends.extend((0..5u64).map(|i| (2_000_000 + i * 5_000 + 1, 1)));
    sends.sort_unstable();
    let (mut free_at, mut pending, mut before) = (0u64, Vec::new(), Bitrate::ZERO);
    let mut lowest = Bitrate::MAX;
    for (id, &(send, burst)) in sends.iter().enumerate() {
        let id = id as u64;
        let probe = (tagged && burst == 1).then_some(cluster);
        let at = Instant::from_micros(send);
        e.handle_sent(
            SentPacket {
                id,
                size: 1_200,
                send_time: at,
                probe,
            },
            at,
        );
        // 1200 bytes take 24 ms at 400 kbit/s.
        free_at = free_at.max(send) + 24_000;
        pending.push(PacketResult {
            id,
            arrival: Some(Instant::from_micros(free_at + 50_000)),
        });
        if pending.len() == 5 {
            e.handle_feedback(&pending, Instant::from_micros(free_at + 100_000));
            pending.clear();
        }
        if send < 2_000_000 {
            before = e.target();
        } else {
            lowest = lowest.min(e.target());
        }
    }
    (before, lowest)
}

#[test]
fn a_probes_own_burst_is_not_taken_for_congestion() {
    let (before, after) = burst_through_a_slow_link(true);
    assert!(after >= before, "probe burst cut {before} to {after}");
    let (before, after) = burst_through_a_slow_link(false);
    assert!(
        after < before,
        "the same burst untagged is a queue: {before} → {after}"
    );
}
