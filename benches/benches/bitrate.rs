//! Cost of the bitrate machines on their hot paths: digesting a feedback
//! report of 50 packets (a TWCC report every 50 ms at about 10 Mbit/s), and
//! re-deciding a subscriber's layers on a new estimate.

// criterion_group! and criterion_main! generate undocumented items.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration as WallDuration;

use criterion::{Criterion, criterion_group, criterion_main};
use onbeat_core::bitrate::{
    Allocator, AllocatorConfig, Bitrate, Estimator, EstimatorConfig, PacketResult, SentPacket,
    TrackId,
};
use onbeat_core::{Duration, Instant};

const REPORT: u64 = 50;

/// Sends one report's worth of packets 1 ms apart with a jittery path and
/// returns their feedback, arriving 60 ms after the last was sent.
fn one_report(est: &mut Estimator, next_id: &mut u64, now: &mut Instant) -> Vec<PacketResult> {
    let mut results = Vec::with_capacity(REPORT as usize);
    for _ in 0..REPORT {
        let id = *next_id;
        *next_id += 1;
        *now += Duration::from_micros(1_000);
        est.handle_sent(
            SentPacket {
                id,
                size: 1_200,
                send_time: *now,
                probe: None,
            },
            *now,
        );
        let jitter = (id.wrapping_mul(7_919) % 3_000) as i64;
        results.push(PacketResult {
            id,
            arrival: Some(now.saturating_add_signed(40_000 + jitter)),
        });
    }
    // Feedback reports are not in send order on the wire either.
    results.swap(3, 17);
    *now += Duration::from_micros(60_000);
    results
}

fn estimator(c: &mut Criterion) {
    c.bench_function("estimator/handle_feedback_50", |b| {
        let mut now = Instant::from_micros(1_000_000);
        let mut est = Estimator::new(EstimatorConfig::default(), now);
        let mut next_id = 0;
        for _ in 0..200 {
            let results = one_report(&mut est, &mut next_id, &mut now);
            est.handle_feedback(&results, now);
            while est.poll_output().is_some() {}
        }
        b.iter_custom(|iters| {
            let mut spent = WallDuration::ZERO;
            for _ in 0..iters {
                let results = one_report(&mut est, &mut next_id, &mut now);
                let start = std::time::Instant::now();
                est.handle_feedback(black_box(&results), now);
                spent += start.elapsed();
                while est.poll_output().is_some() {}
            }
            spent
        })
    });
}

fn allocator(c: &mut Criterion) {
    c.bench_function("allocator/handle_estimate_8_tracks", |b| {
        let mut alloc: Allocator<8> = Allocator::new(AllocatorConfig::default());
        let layers = [
            Bitrate::from_kbps(150),
            Bitrate::from_kbps(500),
            Bitrate::from_kbps(1_500),
        ];
        for t in 0..8u64 {
            alloc
                .add_track(TrackId(t), (t % 3) as u8, &layers, Instant::ZERO)
                .expect("room for 8 tracks");
        }
        let mut now = Instant::ZERO;
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            now += Duration::from_millis(100);
            let estimate = Bitrate::from_kbps(2_000 + (i * 7_919) % 6_000);
            alloc.handle_estimate(black_box(estimate), now);
            while alloc.poll_output().is_some() {}
        })
    });
}

criterion_group!(benches, estimator, allocator);
criterion_main!(benches);
