//! The figures on hand-built ground truth whose answers are worked out by hand.

use super::*;

const MBPS: u64 = 1_000_000;

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

/// A 1250-byte (10 kbit) packet of `flow` sent at `sent_ms`, after waiting
/// `queued_ms`, delivered at `at_ms`.
fn packet(flow: u8, sent_ms: u64, queued_ms: u64, at_ms: u64) -> PacketRecord {
    PacketRecord {
        flow,
        sent: ms(sent_ms),
        size: 1250,
        queued: Duration::from_millis(queued_ms),
        fate: Fate::Delivered { at: ms(at_ms) },
    }
}

/// One packet of `flow` delivered every `every_ms` in `[from_ms, to_ms)`.
fn every(flow: u8, from_ms: u64, to_ms: u64, every_ms: u64) -> Vec<PacketRecord> {
    (from_ms..to_ms)
        .step_by(every_ms as usize)
        .map(|t| packet(flow, t, 0, t))
        .collect()
}

fn run<'a>(capacity: &'a Capacity, records: &'a [PacketRecord], end_ms: u64) -> Run<'a> {
    Run {
        capacity,
        delay: Duration::from_millis(50),
        records,
        flows: &[0],
        tcp: None,
        samples: &[],
        end: ms(end_ms),
        nominal: None,
    }
}

#[test]
fn score_weighs_delay_utilization_and_loss() {
    let p = Duration::from_millis(50);
    // D = (400 − 100) / (400 − 50) = 6/7; 20·6/7 + 20·0.9 + 30·0.98.
    let expected = 20.0 * 6.0 / 7.0 + 18.0 + 29.4;
    assert!((score(100.0, p, 0.9, 0.02) - expected).abs() < 1e-9);
    // At or past 400 ms the delay scores nothing; utilization is capped at 1.
    assert!((score(500.0, p, 1.2, 0.0) - 50.0).abs() < 1e-9);
    assert!((score(400.0, p, 0.5, 0.5) - 25.0).abs() < 1e-9);
    // Under the propagation delay the delay score is clamped to 1.
    assert!((score(40.0, p, 0.5, 0.1) - 57.0).abs() < 1e-9);
}

#[test]
fn recover_down_is_when_every_packet_waits_under_50_ms_for_a_second() {
    // Steps down at 10 s and at 20 s.
    let capacity = Capacity::phases(&[
        (2 * MBPS, Duration::from_secs(10)),
        (MBPS, Duration::from_secs(10)),
        (MBPS / 2, Duration::from_secs(10)),
    ]);
    let mut records = Vec::new();
    for t in (0..30_000).step_by(100) {
        // 200 ms waits for 2 s after the first step and 0.3 s after the
        // second; one 60 ms wait at 12.5 s restarts the count, so the first
        // step recovers at 12.6 s.
        let queued = match t {
            10_000..12_000 | 20_000..20_300 => 200,
            12_500 => 60,
            _ => 10,
        };
        records.push(packet(0, t, queued, t + 100));
        // Another flow's long waits are not the judged flow's.
        records.push(packet(1, t + 50, 250, t + 400));
    }
    let r = run(&capacity, &records, 30_000);
    assert_eq!(r.recover_down(), Some(2600.0));
    // Never calm again: the phase's length.
    for p in records.iter_mut().filter(|p| p.sent >= ms(20_000)) {
        p.queued = Duration::from_millis(200);
    }
    let r = run(&capacity, &records, 30_000);
    assert_eq!(r.recover_down(), Some(10_000.0));
    // No step down, no figure.
    let constant = Capacity::constant(MBPS);
    assert_eq!(run(&constant, &records, 30_000).recover_down(), None);
}

#[test]
fn reach_up_is_when_500_ms_deliver_90_percent_of_the_new_capacity() {
    // Steps up from 1 to 2 Mbit/s at 10 s.
    let capacity = Capacity::phases(&[
        (MBPS, Duration::from_secs(10)),
        (2 * MBPS, Duration::from_secs(10)),
    ]);
    // 0.5 Mbit/s until 13 s, 2 Mbit/s from then: the 500 ms to 13.4 s carry
    // 0.85 Mbit (under 0.9 · 2 Mbit/s · 0.5 s), those to 13.5 s 1 Mbit.
    let mut records = every(0, 0, 13_000, 20);
    records.extend(every(0, 13_000, 20_000, 5));
    assert_eq!(run(&capacity, &records, 20_000).reach_up(), Some(3500.0));
    // Never reached: the phase's length.
    let slow = every(0, 0, 20_000, 20);
    assert_eq!(run(&capacity, &slow, 20_000).reach_up(), Some(10_000.0));
    // The other flow's bits do not count.
    let mut other = every(0, 0, 20_000, 20);
    other.extend(every(1, 10_000, 20_000, 5));
    assert_eq!(run(&capacity, &other, 20_000).reach_up(), Some(10_000.0));
}

#[test]
fn steady_variation_is_the_mean_peak_to_peak_over_the_mean_of_long_phases() {
    let s = Duration::from_secs;
    // Phases of 20 s, 20 s and 10 s (too short to count).
    let capacity = Capacity::phases(&[(MBPS, s(20)), (2 * MBPS, s(20)), (MBPS, s(10))]);
    let samples: Vec<Sample> = (0..500)
        .map(|i| {
            let t = i * 100;
            let target_bps = match t {
                // Wild before the last 10 s of a phase: not judged.
                0..10_000 | 20_000..30_000 => (i % 7) as f64 * 1e6,
                // 0.9 and 1.1 Mbit/s in turn: peak-to-peak 0.2 of the mean.
                10_000..20_000 => 1e6 + if i % 2 == 0 { -1e5 } else { 1e5 },
                30_000..40_000 => 2e6,
                _ => (i % 7) as f64 * 1e6,
            };
            Sample {
                at: ms(t),
                target_bps,
            }
        })
        .collect();
    let mut r = run(&capacity, &[], 50_000);
    r.samples = &samples;
    let v = r.steady_variation().unwrap_or(f64::NAN);
    assert!((v - 0.1).abs() < 1e-9, "{v}");
    // No samples, no figure.
    r.samples = &[];
    assert_eq!(r.steady_variation(), None);
}

#[test]
fn tcp_share_counts_delivered_bits_after_the_warm_up() {
    let capacity = Capacity::constant(2 * MBPS);
    // From 5 s: media 30 packets, TCP 90, so media has a quarter.
    let mut records = every(0, 5_000, 8_000, 100);
    records.extend(every(1, 5_000, 14_000, 100));
    // Before the warm-up ends, and lost: neither counts.
    records.extend(every(0, 0, 5_000, 10));
    records.extend(every(0, 8_000, 9_000, 10).into_iter().map(|mut p| {
        p.fate = Fate::Lost;
        p
    }));
    let mut r = run(&capacity, &records, 20_000);
    r.tcp = Some(1);
    let share = r.figures().tcp_share.unwrap_or(f64::NAN);
    assert!((share - 0.25).abs() < 1e-9, "{share}");
    r.tcp = None;
    assert_eq!(r.figures().tcp_share, None);
}

#[test]
fn min_share_is_the_emptiest_second_after_ten() {
    let capacity = Capacity::constant(MBPS);
    // Half the link from 10 s on, nothing from 15.0 to 15.5 s: a second
    // holding that gap carries a quarter of the link. The silence before
    // 10 s is not judged.
    let mut records = every(0, 10_000, 15_000, 20);
    records.extend(every(0, 15_500, 20_000, 20));
    records.extend(every(1, 0, 20_000, 20));
    let mut r = run(&capacity, &records, 20_000);
    r.tcp = Some(1);
    let share = r.min_share().unwrap_or(f64::NAN);
    assert!((share - 0.25).abs() < 1e-9, "{share}");
    r.tcp = None;
    assert_eq!(r.min_share(), None);
}
