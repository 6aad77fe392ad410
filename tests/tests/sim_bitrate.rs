//! The bitrate simulator: its bottleneck model against the ground truth it
//! claims, its cross traffic, the str0m reference, and determinism.

use onbeat_core::{Duration, Instant};
use onbeat_sim::bitrate::capacity::{Capacity, Trace};
use onbeat_sim::bitrate::link::{Bottleneck, BottleneckConfig, Fate, Loss, QueueLimit};
use onbeat_sim::bitrate::scenario::{Scenario, Sender, run};
use onbeat_sim::bitrate::tcp::TcpFlow;
use onbeat_sim::bitrate::world::World;

/// The traces live in `../shared/traces/` beside the repository;
/// `ONBEAT_TRACES` points elsewhere.
fn trace(name: &str) -> Trace {
    let dir = std::env::var("ONBEAT_TRACES")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/traces").into());
    let path = format!("{dir}/{name}");
    Trace::load(&path).unwrap_or_else(|e| {
        panic!("the traces must be in ../shared/traces/ (or $ONBEAT_TRACES): {e}")
    })
}

fn config(capacity: Capacity, queue: QueueLimit, loss: Loss) -> BottleneckConfig {
    BottleneckConfig {
        capacity,
        queue,
        delay: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        loss,
    }
}

#[test]
fn trace_replays_at_the_files_mean_capacity() {
    for (name, readme_mbps) in [
        ("ATT-LTE-driving-2016.up", 1.91),
        ("Verizon-LTE-short.down", 5.03),
    ] {
        let t = trace(name);
        let mean = t.mean_bps();
        assert!(
            (mean / 1e6 - readme_mbps).abs() / readme_mbps < 0.02,
            "{name}: {mean}"
        );
        // A queue that never runs dry for 300 s (past the end of the trace, so
        // it repeats) delivers exactly what the file offers.
        let mut link = Bottleneck::new(
            config(Capacity::Trace(t), QueueLimit::Bytes(u32::MAX), Loss::None),
            1,
            0,
        );
        let packets = (mean * 300.0 / 12_000.0) as u64;
        let mut last = Instant::ZERO;
        for _ in 0..packets {
            if let Fate::Delivered { at } = link.send(0, 1500, Instant::ZERO) {
                last = at;
            }
        }
        let secs = last.as_micros() as f64 / 1e6;
        let rate = packets as f64 * 12_000.0 / secs;
        assert!(
            (rate - mean).abs() / mean < 0.02,
            "{name}: replayed {rate} vs {mean}"
        );
    }
}

#[test]
fn drop_tail_never_holds_more_than_its_limit() {
    let limit = 30_000;
    let mut link = Bottleneck::new(
        config(
            Capacity::constant(1_000_000),
            QueueLimit::Bytes(limit),
            Loss::None,
        ),
        2,
        0,
    );
    let mut dropped = 0;
    for i in 0..20_000u64 {
        // 2 Mbit/s into 1 Mbit/s.
        let now = Instant::from_micros(i * 4_800);
        if link.send(0, 1200, now) == Fate::QueueFull {
            dropped += 1;
        }
        assert!(link.queued_bytes(now) <= u64::from(limit));
    }
    let waits = link.records().iter().filter(|r| r.fate != Fate::QueueFull);
    // 30 kB at 1 Mbit/s is 240 ms of queue.
    assert!(waits.map(|r| r.queued).max() <= Some(Duration::from_millis(240)));
    assert!((9_000..11_000).contains(&dropped), "dropped {dropped}");
}

#[test]
fn random_and_bursty_loss_rates_match_their_parameters() {
    let bursty = Loss::Bursty {
        good_mean: Duration::from_millis(900),
        bad_mean: Duration::from_millis(100),
        loss_good: 0.0,
        loss_bad: 0.5,
    };
    for (loss, expected) in [(Loss::Random(0.05), 0.05), (bursty, 0.05)] {
        let mut link = Bottleneck::new(
            config(
                Capacity::constant(100_000_000),
                QueueLimit::Bytes(1 << 20),
                loss,
            ),
            3,
            0,
        );
        let n = 200_000;
        let lost = (0..n)
            .filter(|&i| link.send(0, 1000, Instant::from_millis(i)) == Fate::Lost)
            .count();
        let rate = lost as f64 / n as f64;
        assert!((rate - expected).abs() < 0.006, "{loss:?}: {rate}");
    }
}

#[test]
fn a_tcp_flow_fills_an_empty_link() {
    let link = config(
        Capacity::constant(2_000_000),
        QueueLimit::Time(Duration::from_millis(100)),
        Loss::None,
    );
    let mut world = World::new(link, 4);
    world.add(Box::new(TcpFlow::new()), Instant::ZERO);
    let end = Instant::from_millis(30_000);
    world.run(end);
    let from = Instant::from_millis(5_000);
    let bits: f64 = world
        .link()
        .records()
        .iter()
        .filter_map(|r| match r.fate {
            Fate::Delivered { at } if at >= from => Some(f64::from(r.size) * 8.0),
            _ => None,
        })
        .sum();
    let utilization = bits / 2_000_000.0 / 25.0;
    assert!(utilization > 0.9, "TCP used {utilization}");
    assert!(
        world
            .link()
            .records()
            .iter()
            .any(|r| r.fate == Fate::QueueFull)
    );
}

#[test]
fn a_source_below_capacity_sees_no_queue_and_above_it_fills_and_drops() {
    let below = run(&Scenario::RandomLoss(0.0), Sender::Fixed(0.9), 5).unwrap();
    assert!(below.figures.p95_queue_ms < 20.0, "{:?}", below.figures);
    assert_eq!(below.figures.loss, 0.0);
    let above = run(&Scenario::RandomLoss(0.0), Sender::Fixed(1.1), 5).unwrap();
    assert!(above.figures.p95_queue_ms > 250.0, "{:?}", above.figures);
    assert!(above.figures.loss > 0.05, "{:?}", above.figures);
    assert!(above.figures.utilization > 0.99, "{:?}", above.figures);
}

#[test]
fn the_str0m_reference_runs_and_follows_the_link() {
    let a = run(&Scenario::RandomLoss(0.01), Sender::Str0mGcc, 6).unwrap();
    assert_eq!(a.errors, 0);
    assert!(a.figures.utilization > 0.3, "{:?}", a.figures);
    assert!(a.figures.loss >= 0.01, "{:?}", a.figures);
}

#[test]
fn the_same_seed_gives_the_same_figures() {
    let scenario = Scenario::Rfc8867_5_1;
    let a = run(&scenario, Sender::Fixed(0.8), 8).unwrap();
    assert_eq!(a, run(&scenario, Sender::Fixed(0.8), 8).unwrap());
    assert_ne!(
        a.figures,
        run(&scenario, Sender::Fixed(0.8), 9).unwrap().figures
    );
}
