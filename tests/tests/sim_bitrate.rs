//! The bitrate simulator: its bottleneck model against the ground truth it
//! claims, its cross traffic, the str0m reference, and determinism.

use onbeat_core::bitrate::LayerChoice;
use onbeat_core::{Duration, Instant};
use onbeat_sim::bitrate::capacity::{Capacity, Trace};
use onbeat_sim::bitrate::layer_figures::{Phase, layer_figures};
use onbeat_sim::bitrate::layers::Allocation;
use onbeat_sim::bitrate::link::{Bottleneck, BottleneckConfig, Fate, Loss, QueueLimit};
use onbeat_sim::bitrate::scenario::{
    LAYERS_NOISE, Scenario, Sender, layers_capacity, layers_phases, run,
};
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

/// One allocation of the `layers` tracks at `secs`; `None` pauses a track.
fn alloc(secs: f64, layers: [Option<u8>; 3]) -> Allocation {
    Allocation {
        at: Instant::from_micros((secs * 1e6) as u64),
        layers: layers.map(|l| Some(l.map_or(LayerChoice::Paused, LayerChoice::Active))),
    }
}

#[test]
fn layer_figures_of_a_hand_made_allocator_trace() {
    let s = Duration::from_secs;
    let capacity = Capacity::phases(&[(2_000_000, s(20)), (300_000, s(20)), (2_000_000, s(20))]);
    let at = |secs| Instant::ZERO + s(secs);
    let phases =
        [(0, 20, 2_000_000), (20, 40, 300_000), (40, 60, 2_000_000)].map(|(from, to, bps)| Phase {
            from: at(from),
            to: at(to),
            bps,
        });
    let trace = [
        alloc(0.0, [None, None, None]),
        alloc(0.0, [Some(0), Some(0), Some(0)]),
        alloc(1.0, [Some(1), Some(1), Some(1)]),
        // Two switches under steady capacity, after the phase settled.
        alloc(15.0, [Some(1), Some(1), Some(0)]),
        alloc(15.5, [Some(1), Some(1), Some(1)]),
        // The step to 0.3 Mbit/s: fits again (250 kbit/s) 300 ms later; the
        // pause is right, the lowest layers (400 kbit/s) do not fit.
        alloc(20.3, [Some(0), Some(0), None]),
        // A pause of the second track while its lowest layer and the first's
        // (250 kbit/s) fit.
        alloc(30.0, [Some(0), None, None]),
        // Back at 2 Mbit/s: the settled 1.4 Mbit/s is reached after 2 s.
        alloc(41.0, [Some(0), Some(0), Some(0)]),
        alloc(42.0, [Some(1), Some(1), Some(1)]),
        // A pause while everything fits, and the resume.
        alloc(55.0, [Some(1), Some(1), None]),
        alloc(55.1, [Some(1), Some(1), Some(1)]),
    ];
    let f = layer_figures(&trace, 13, &capacity, &phases);
    // 15, 15.5, 30, 55 and 55.1 s in 30 judged seconds.
    assert!((f.switches_per_min - 10.0).abs() < 1e-9, "{f:?}");
    // 55 and 55.1 s; 15 and 15.5 s; 30 s alone.
    assert_eq!(f.most_switches_10s, 2.0, "{f:?}");
    assert_eq!(f.pauses_while_fitting, 1.0, "{f:?}");
    assert_eq!(f.track_pauses_while_fitting, 2.0, "{f:?}");
    assert_eq!(f.down_ms, Some(300.0), "{f:?}");
    assert_eq!(f.up_ms, Some(2000.0), "{f:?}");
    // 3 + 3 + 1 + 2 + 3 + 1 switches up.
    assert_eq!(f.keyframes_per_up, Some(1.0), "{f:?}");
    assert_eq!(
        layer_figures(&trace, 12, &capacity, &phases).keyframes_per_up,
        Some(12.0 / 13.0)
    );
}

#[test]
fn the_layers_link_is_its_phases_with_seeded_noise() {
    let a = layers_capacity(3);
    for p in layers_phases() {
        let mut t = p.from;
        while t < p.to {
            let r = a.rate_at(t) / p.bps as f64;
            assert!(
                (1.0 - LAYERS_NOISE..1.0 + LAYERS_NOISE).contains(&r),
                "{r} at {t:?}"
            );
            t += Duration::from_millis(100);
        }
    }
    assert_eq!(a, layers_capacity(3));
    assert_ne!(a, layers_capacity(4));
}

#[test]
fn the_allocator_under_onbeat_never_pauses_while_the_lowest_layers_fit() {
    let a = run(&Scenario::Layers, Sender::Onbeat, 2).unwrap();
    let l = a.figures.layers.expect("layers figures");
    assert_eq!(l.pauses_while_fitting, 0.0, "{l:?}");
    assert_eq!(l.keyframes_per_up, Some(1.0), "{l:?}");
    assert!(l.switches_per_min <= 6.0, "{l:?}");
    assert!(l.most_switches_10s <= 1.0, "{l:?}");
    assert!(l.down_ms.is_some() && l.up_ms.is_some(), "{l:?}");
    assert_eq!(a, run(&Scenario::Layers, Sender::Onbeat, 2).unwrap());
}

/// Seed 97's 0.3 Mbit/s phase holds the two first tracks' lowest layers
/// (250 kbit/s) within the noise. Fed the pushed-back target, whose dips
/// follow the bytes in flight packet by packet, the allocator paused and
/// resumed them six times in 10 s, the main camera among them.
#[test]
fn the_allocator_holds_its_layers_through_the_encoders_pushback() {
    let a = run(&Scenario::Layers, Sender::Onbeat, 97).unwrap();
    let l = a.figures.layers.expect("layers figures");
    assert!(l.most_switches_10s <= 1.0, "{l:?}");
    assert!(l.track_pauses_while_fitting <= 1.0, "{l:?}");
}

#[test]
fn fairness_is_reported_phase_by_phase() {
    let o = run(&Scenario::Rfc8867_5_2, Sender::Fixed(0.3), 1).unwrap();
    let phases: Vec<f64> = o.figures.jain_phases.iter().flatten().copied().collect();
    assert_eq!(phases.len(), 5, "{:?}", o.figures);
    // Two equal constant senders share every phase equally.
    assert!(phases.iter().all(|&j| j > 0.99), "{phases:?}");
    assert_eq!(o.figures.jain, phases.iter().copied().reduce(f64::min));
}

#[test]
fn trace_utilization_counts_the_links_delivery_opportunities() {
    let t = trace("Verizon-LTE-short.down");
    let scenario = Scenario::Trace("Verizon-LTE-short.down".into(), t);
    // Twice the mean capacity keeps the queue full but for outages longer
    // than the queue: nearly every opportunity carries a packet, none more.
    let o = run(&scenario, Sender::Fixed(2.0), 1).unwrap();
    let u = o.figures.utilization;
    assert!((0.85..=1.0).contains(&u), "{:?}", o.figures);
}
