//! Cost of the timeline machines on their hot paths: digesting a pong,
//! reading the shared clock (done every frame by a client), judging an input.

// criterion_group! and criterion_main! generate undocumented items.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use onbeat_core::proto::{ClockId, ClockPong};
use onbeat_core::timeline::{
    ClockConfig, ClockEvent, ClockSync, Schedule, Timeline, TimelineConfig,
};
use onbeat_core::{Duration, Instant};

/// A synchronised client with a full window: 64 samples over a jittery path.
fn warmed_up() -> (ClockSync, Instant) {
    let mut now = Instant::from_micros(1_000_000);
    let mut sync = ClockSync::new(ClockConfig::default(), now);
    for i in 0..64u64 {
        sync.handle_timeout(now);
        while let Some(ev) = sync.poll_output() {
            if let ClockEvent::Ping(ping) = ev {
                let fwd = 20_000 + (i * 7_919) % 9_000;
                let back = 20_000 + (i * 104_729) % 11_000;
                let t2 = Instant::from_micros(ping.t1.as_micros() + 5_000_000 + fwd);
                let pong = ping.answer(t2, t2, ClockId(1));
                let arrive = Instant::from_micros(ping.t1.as_micros() + fwd + back);
                sync.handle_pong(&pong, arrive).expect("valid pong");
            }
        }
        now = sync.poll_timeout().expect("always wants to ping");
    }
    (sync, now)
}

fn clock_sync(c: &mut Criterion) {
    let (sync, now) = warmed_up();
    c.bench_function("clock_sync/estimate", |b| {
        let mut t = now;
        b.iter(|| {
            t += Duration::from_micros(16_667);
            black_box(sync.estimate(black_box(t)))
        })
    });
    c.bench_function("clock_sync/handle_pong_full_window", |b| {
        b.iter_batched(
            || {
                let mut s = sync.clone();
                s.handle_timeout(now);
                let Some(ClockEvent::Ping(ping)) = s.poll_output() else {
                    unreachable!("a ping is due at the timeout")
                };
                let t2 = Instant::from_micros(ping.t1.as_micros() + 5_000_000 + 21_000);
                (s, ping.answer(t2, t2, ClockId(1)))
            },
            |(mut s, pong): (ClockSync, ClockPong)| {
                s.handle_pong(&pong, now + Duration::from_micros(42_000))
                    .expect("valid pong");
                s
            },
            criterion::BatchSize::SmallInput,
        )
    });
}

fn timeline(c: &mut Criterion) {
    let schedule = Schedule::new()
        .phase("open", Duration::from_secs(10), true)
        .and_then(|s| s.phase("closed", Duration::from_secs(2), false))
        .and_then(|s| s.phase("reveal", Duration::from_secs(3), false))
        .expect("valid schedule");
    let t = Timeline::new(schedule, Instant::ZERO, TimelineConfig::default());
    c.bench_function("timeline/judge", |b| {
        let mut at = 0u64;
        b.iter(|| {
            at = (at + 1_234_567) % 3_600_000_000;
            black_box(t.judge(Instant::from_micros(at), None))
        })
    });
}

criterion_group!(benches, clock_sync, timeline);
criterion_main!(benches);
