//! The link options of `onbeat-sim bitrate` (`--loss-burst`, `--jitter`)
//! against the ground truth of the link they configure.

use onbeat_core::{Duration, Instant};
use onbeat_sim::bitrate::link::{Bottleneck, BottleneckConfig, Fate};
use onbeat_sim::bitrate::link_options::LinkOptions;
use onbeat_sim::bitrate::media::{FixedRate, MediaFlow};
use onbeat_sim::bitrate::scenario::{Scenario, Sender, run_with};
use onbeat_sim::bitrate::source::{Source, SourceConfig};
use onbeat_sim::bitrate::world::World;
use onbeat_sim::rng::SimRng;

fn burst(ms: u64) -> LinkOptions {
    LinkOptions {
        loss_burst: Some(Duration::from_millis(ms)),
        ..LinkOptions::default()
    }
}

fn jitter(ms: u64) -> LinkOptions {
    LinkOptions {
        jitter: Some(Duration::from_millis(ms)),
        ..LinkOptions::default()
    }
}

/// The link of `scenario` under `options` on `seed`.
fn link(scenario: &Scenario, options: &LinkOptions, seed: u64) -> BottleneckConfig {
    options.setup(scenario, seed).expect("valid options").link
}

/// Sends `size`-byte packets every `every` for `secs` seconds; their fates in order.
fn steady(config: BottleneckConfig, seed: u64, size: u32, every: Duration, secs: u64) -> Vec<Fate> {
    let mut link = Bottleneck::new(config, seed, 0);
    let end = Instant::ZERO + Duration::from_secs(secs);
    let mut t = Instant::ZERO;
    let mut fates = Vec::new();
    while t < end {
        fates.push(link.send(0, size, t));
        t += every;
    }
    fates
}

/// Share of packets lost, and the mean length of runs of consecutive losses.
fn loss_and_runs(fates: &[Fate]) -> (f64, f64) {
    assert!(!fates.contains(&Fate::QueueFull), "the queue must not drop");
    let lost: Vec<bool> = fates.iter().map(|f| *f == Fate::Lost).collect();
    let losses = lost.iter().filter(|&&l| l).count();
    let runs = lost.windows(2).filter(|w| w[1] && !w[0]).count() + usize::from(lost[0]);
    (
        losses as f64 / lost.len() as f64,
        losses as f64 / runs.max(1) as f64,
    )
}

#[test]
fn bursty_loss_keeps_the_long_run_rate_and_loses_in_runs() {
    for (pct, seed) in [(1.0, 1), (5.0, 2), (20.0, 3)] {
        let scenario = Scenario::RandomLoss(pct / 100.0);
        let every = Duration::from_millis(2);
        // 200 bytes every 2 ms is 0.8 Mbit/s on 2 Mbit/s: no queue drops.
        let random = steady(
            link(&scenario, &LinkOptions::default(), seed),
            seed,
            200,
            every,
            1000,
        );
        let bursty = steady(link(&scenario, &burst(40), seed), seed, 200, every, 1000);
        let (random_loss, random_run) = loss_and_runs(&random);
        let (bursty_loss, bursty_run) = loss_and_runs(&bursty);
        let p = pct / 100.0;
        assert!(
            (random_loss - p).abs() < 0.1 * p,
            "{pct}%: random {random_loss}"
        );
        assert!(
            (bursty_loss - p).abs() < 0.1 * p,
            "{pct}%: bursty {bursty_loss}"
        );
        // Independent losses at p come in runs of 1 / (1 − p); in a bad
        // period half the packets are lost, so runs approach 2.
        assert!(
            random_run < 1.0 / (1.0 - p) + 0.05,
            "{pct}%: random runs {random_run}"
        );
        assert!(bursty_run > 1.6, "{pct}%: bursty runs {bursty_run}");
    }
}

#[test]
fn a_bursty_scenario_run_loses_its_loss_rate() {
    for (pct, seed) in [(3.0, 4), (5.0, 5)] {
        let scenario = Scenario::RandomLoss(pct / 100.0);
        let o = run_with(&scenario, &burst(40), Sender::Fixed(0.5), seed).unwrap();
        let p = pct / 100.0;
        assert!(
            (o.figures.loss - p).abs() < 0.25 * p,
            "{pct}%: {}",
            o.figures.loss
        );
    }
}

#[test]
fn longer_bursts_lose_in_longer_runs() {
    let scenario = Scenario::RandomLoss(0.05);
    let every = Duration::from_millis(2);
    let short = steady(link(&scenario, &burst(4), 6), 6, 200, every, 1000);
    let long = steady(link(&scenario, &burst(100), 6), 6, 200, every, 1000);
    let (_, short_run) = loss_and_runs(&short);
    let (_, long_run) = loss_and_runs(&long);
    assert!(
        long_run > short_run + 0.2,
        "runs {short_run} then {long_run}"
    );
}

/// Every delivered packet's one-way delay, in the order the packets were
/// sent, from a paced media flow of `bps` over `config`.
fn delivered(config: BottleneckConfig, bps: f64, seed: u64) -> Vec<(Instant, Instant)> {
    let mut world = World::new(config, seed);
    let source = Source::new(SourceConfig::default(), SimRng::new(seed));
    world.add(
        Box::new(MediaFlow::new(FixedRate(bps), source)),
        Instant::ZERO,
    );
    world.run(Instant::ZERO + Duration::from_secs(30));
    world
        .link()
        .records()
        .iter()
        .filter_map(|r| match r.fate {
            Fate::Delivered { at } => Some((r.sent, at)),
            _ => None,
        })
        .collect()
}

fn p95_ms(packets: &[(Instant, Instant)]) -> f64 {
    let mut d: Vec<u64> = packets.iter().map(|(s, a)| (*a - *s).as_micros()).collect();
    d.sort_unstable();
    d[d.len() * 95 / 100] as f64 / 1e3
}

#[test]
fn jitter_never_reorders_and_raises_the_p95_delay() {
    // 2 Mbit/s, no loss.
    let scenario = Scenario::RandomLoss(0.0);
    for seed in [1, 2] {
        let plain = delivered(link(&scenario, &LinkOptions::default(), seed), 1.2e6, seed);
        let jittered = delivered(link(&scenario, &jitter(20), seed), 1.2e6, seed);
        // The pacer spaces packets about 7 ms apart at 1.2 Mbit/s, well
        // under the 20 ms jitter: drawn alone, the jitter would reorder many.
        assert!(jittered.windows(2).all(|w| w[0].1 <= w[1].1));
        let (a, b) = (p95_ms(&plain), p95_ms(&jittered));
        assert!(b > a + 10.0 && b < a + 40.0, "p95 {a} ms then {b} ms");
    }
}

#[test]
fn jitter_raises_a_scenarios_p95_delay_figure() {
    // Half of 2 Mbit/s: the queue stays short, so the jitter shows.
    let scenario = Scenario::RandomLoss(0.0);
    let a = run_with(&scenario, &LinkOptions::default(), Sender::Fixed(0.5), 3).unwrap();
    let b = run_with(&scenario, &jitter(10), Sender::Fixed(0.5), 3).unwrap();
    let (a, b) = (a.figures.p95_delay_ms, b.figures.p95_delay_ms);
    assert!(b > a + 7.0 && b < a + 20.0, "p95 {a} ms then {b} ms");
}
