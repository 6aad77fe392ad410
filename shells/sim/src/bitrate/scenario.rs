//! The scenarios, and one run of one estimator on one seed.

use onbeat_core::{Duration, Instant};

use super::capacity::{Capacity, Trace};
use super::figures::{Figures, Run};
use super::layer_figures::{Phase, layer_figures};
use super::layers::Layers;
use super::link::{BottleneckConfig, Loss, QueueLimit, stream};
use super::link_options::LinkOptions;
use super::media::{FixedRate, MediaFlow};
use super::onbeat::{LayeredOnbeat, OnbeatController};
use super::reference::ReferenceFlow;
use super::source::{Source, SourceConfig};
use super::tcp::TcpFlow;
use super::world::{Flow, Sample, World};

/// The rate every estimator starts from, bits per second.
pub const START_BPS: u64 = 300_000;

/// A named bitrate scenario.
#[derive(Clone, Debug, PartialEq)]
pub enum Scenario {
    /// RFC 8867 §5.1: 1.0, 2.5, 0.6, 1.0 Mbit/s for 40/20/20/20 s, 50 ms
    /// one way, 300 ms queue.
    Rfc8867_5_1,
    /// RFC 8867 §5.2: two flows sharing 2.0/1.0/1.75/0.5/1.0 Mbit/s, 25 s each.
    Rfc8867_5_2,
    /// One media flow against a long TCP-like flow on 2 Mbit/s.
    TcpCompetition,
    /// 2 Mbit/s with this much random loss.
    RandomLoss(f64),
    /// A Mahimahi trace (the path it was read from, and the trace).
    Trace(String, Trace),
    /// One subscriber of three tracks, onbeat's allocator choosing their
    /// layers, on [`LAYERS_PHASES`] with ±10% noise.
    Layers,
}

/// The `layers` link: nominal Mbit/s and seconds. Every track's top layer
/// fits the first and last (4.2 Mbit/s at 80%), the second and fourth do not,
/// the third is below the sum of the lowest layers (0.4 Mbit/s).
pub const LAYERS_PHASES: [(f64, u64); 5] = [(6.0, 35), (2.5, 25), (0.3, 15), (2.5, 25), (6.0, 25)];
/// Capacity noise of `layers`: each slice of this length is scaled by a
/// uniform draw from `[1 − LAYERS_NOISE, 1 + LAYERS_NOISE)`.
pub const NOISE_SLICE: Duration = Duration::from_millis(500);
/// ±10%.
pub const LAYERS_NOISE: f64 = 0.10;
/// The link's own stream for the capacity noise of `layers`.
const NOISE_STREAM: u64 = 7;

/// The nominal phases of `layers`.
pub fn layers_phases() -> Vec<Phase> {
    let mut from = Instant::ZERO;
    LAYERS_PHASES
        .iter()
        .map(|&(mbps, secs)| {
            let to = from + Duration::from_secs(secs);
            let p = Phase {
                from,
                to,
                bps: (mbps * 1e6) as u64,
            };
            from = to;
            p
        })
        .collect()
}

/// The capacity of `layers` on `seed`: the nominal phases in noisy slices.
pub fn layers_capacity(seed: u64) -> Capacity {
    let mut rng = stream(seed, NOISE_STREAM);
    let mut slices = Vec::new();
    for p in layers_phases() {
        let mut t = p.from;
        while t < p.to {
            let f = rng.uniform(1.0 - LAYERS_NOISE, 1.0 + LAYERS_NOISE);
            slices.push(((p.bps as f64 * f) as u64, NOISE_SLICE));
            t += NOISE_SLICE;
        }
    }
    Capacity::phases(&slices)
}

impl Scenario {
    /// The name used on the command line and in the JSON line.
    pub fn name(&self) -> String {
        match self {
            Scenario::Rfc8867_5_1 => "rfc8867-5.1".into(),
            Scenario::Rfc8867_5_2 => "rfc8867-5.2".into(),
            Scenario::TcpCompetition => "tcp-competition".into(),
            Scenario::RandomLoss(p) => format!("random-loss-{}", (p * 100.0).round()),
            Scenario::Trace(path, _) => {
                format!("trace:{}", path.rsplit('/').next().unwrap_or(path.as_str()))
            }
            Scenario::Layers => "layers".into(),
        }
    }

    /// The bottleneck, how long the run lasts, how many media flows share
    /// it, whether TCP runs too, and the encoder's highest rate, on `seed`
    /// (only the noise of `layers` depends on it).
    pub fn setup(&self, seed: u64) -> Setup {
        let ms = Duration::from_millis;
        let s = Duration::from_secs;
        let link = |capacity| BottleneckConfig {
            capacity,
            queue: QueueLimit::Time(ms(300)),
            delay: ms(50),
            jitter: Duration::ZERO,
            loss: Loss::None,
        };
        let mbps = |x: f64| (x * 1e6) as u64;
        match self {
            Scenario::Rfc8867_5_1 => Setup {
                link: link(Capacity::phases(&[
                    (mbps(1.0), s(40)),
                    (mbps(2.5), s(20)),
                    (mbps(0.6), s(20)),
                    (mbps(1.0), s(20)),
                ])),
                duration: s(100),
                media: 1,
                tcp: false,
                max_bps: mbps(5.0),
            },
            Scenario::Rfc8867_5_2 => Setup {
                link: link(Capacity::phases(&[
                    (mbps(2.0), s(25)),
                    (mbps(1.0), s(25)),
                    (mbps(1.75), s(25)),
                    (mbps(0.5), s(25)),
                    (mbps(1.0), s(25)),
                ])),
                duration: s(125),
                media: 2,
                tcp: false,
                max_bps: mbps(5.0),
            },
            Scenario::TcpCompetition => Setup {
                link: link(Capacity::constant(mbps(2.0))),
                duration: s(60),
                media: 1,
                tcp: true,
                max_bps: mbps(5.0),
            },
            Scenario::RandomLoss(p) => Setup {
                link: BottleneckConfig {
                    loss: Loss::Random(*p),
                    ..link(Capacity::constant(mbps(2.0)))
                },
                duration: s(60),
                media: 1,
                tcp: false,
                max_bps: mbps(5.0),
            },
            Scenario::Trace(_, trace) => Setup {
                link: link(Capacity::Trace(trace.clone())),
                duration: s(120),
                media: 1,
                tcp: false,
                max_bps: mbps(25.0),
            },
            Scenario::Layers => Setup {
                link: link(layers_capacity(seed)),
                duration: layers_phases()
                    .last()
                    .map_or(Duration::ZERO, |p| p.to - Instant::ZERO),
                media: 1,
                tcp: false,
                max_bps: mbps(8.0),
            },
        }
    }
}

/// How a scenario is laid out.
#[derive(Clone, Debug, PartialEq)]
pub struct Setup {
    /// The bottleneck.
    pub link: BottleneckConfig,
    /// How long a run lasts.
    pub duration: Duration,
    /// Media flows of the judged estimator.
    pub media: u8,
    /// Whether a TCP-like flow shares the bottleneck.
    pub tcp: bool,
    /// The encoder's highest rate, bits per second.
    pub max_bps: u64,
}

/// Which sender the media flows run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sender {
    /// onbeat's estimator.
    Onbeat,
    /// str0m's GCC (the reference).
    Str0mGcc,
    /// A constant rate, as a fraction of the link's mean capacity (link checks).
    Fixed(f64),
}

/// One time series point for the plot, per 100 ms.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Point {
    /// Seconds since the start.
    pub t: f64,
    /// True capacity, bits per second.
    pub capacity_bps: f64,
    /// The first flow's target, bits per second.
    pub target_bps: f64,
    /// What the judged flows put onto the link, bits per second.
    pub sending_bps: f64,
    /// Longest wait in the queue among packets entering in this bin, ms.
    pub queue_ms: f64,
}

/// What one run produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The figures.
    pub figures: Figures,
    /// Time series for the plot.
    pub series: Vec<Point>,
    /// Errors the reference's str0m peers reported (zero in a sound run).
    pub errors: u64,
}

/// Runs `scenario` with `sender` on `seed`.
pub fn run(scenario: &Scenario, sender: Sender, seed: u64) -> Result<Outcome, String> {
    run_with(scenario, &LinkOptions::default(), sender, seed)
}

/// Runs `scenario` on its link changed by `options`, with `sender` on `seed`.
pub fn run_with(
    scenario: &Scenario,
    options: &LinkOptions,
    sender: Sender,
    seed: u64,
) -> Result<Outcome, String> {
    let setup = options.setup(scenario, seed).map_err(|e| e.to_string())?;
    let layered = *scenario == Scenario::Layers;
    let end = Instant::ZERO + setup.duration;
    let mut world = World::new(setup.link.clone(), seed);
    let mean_bps = setup.link.capacity.bits_between(Instant::ZERO, end)
        / (setup.duration.as_micros() as f64 / 1e6);
    let mut flows = Vec::new();
    for k in 0..u64::from(setup.media) {
        let source = Source::new(SourceConfig::default(), stream(seed, 100 + k));
        let flow: Box<dyn Flow> = match sender {
            Sender::Onbeat if layered => Box::new(MediaFlow::new(
                LayeredOnbeat::new(START_BPS, setup.max_bps, Instant::ZERO)?,
                source,
            )),
            Sender::Str0mGcc if layered => Box::new(
                ReferenceFlow::new(source, START_BPS, setup.max_bps)?
                    .with_layers(Layers::new(Instant::ZERO)?, Instant::ZERO),
            ),
            Sender::Onbeat => Box::new(MediaFlow::new(
                OnbeatController::new(START_BPS, setup.max_bps, Instant::ZERO),
                source,
            )),
            Sender::Str0mGcc => Box::new(ReferenceFlow::new(source, START_BPS, setup.max_bps)?),
            Sender::Fixed(fraction) => {
                Box::new(MediaFlow::new(FixedRate(fraction * mean_bps), source))
            }
        };
        flows.push(world.add(flow, Instant::ZERO) as u8);
    }
    let tcp = setup
        .tcp
        .then(|| world.add(Box::new(TcpFlow::new()), Instant::ZERO) as u8);
    world.run(end);
    let samples: &[Sample] = &world.samples()[usize::from(flows[0])];
    let nominal = layered.then(layers_phases);
    let mut figures = Run {
        capacity: &setup.link.capacity,
        delay: setup.link.delay,
        records: world.link().records(),
        flows: &flows,
        tcp,
        samples,
        end,
        nominal: nominal.as_deref(),
    }
    .figures();
    if let Some(layers) = world.flow(usize::from(flows[0])).layers() {
        figures.layers = Some(layer_figures(
            &layers.trace,
            layers.keyframes,
            &setup.link.capacity,
            nominal.as_deref().unwrap_or_default(),
        ));
    }
    let series = series(&world, &setup.link.capacity, &flows, end);
    Ok(Outcome {
        figures,
        series,
        errors: world.errors(),
    })
}

fn series(world: &World, capacity: &Capacity, flows: &[u8], end: Instant) -> Vec<Point> {
    let bin = Duration::from_millis(100);
    let bins = (end.as_micros() / bin.as_micros()) as usize;
    let mut points: Vec<Point> = (0..bins)
        .map(|i| {
            let a = Instant::from_micros(i as u64 * bin.as_micros());
            Point {
                t: a.as_micros() as f64 / 1e6,
                capacity_bps: capacity.bits_between(a, a + bin) * 10.0,
                ..Point::default()
            }
        })
        .collect();
    for r in world
        .link()
        .records()
        .iter()
        .filter(|r| flows.contains(&r.flow))
    {
        if let Some(p) = points.get_mut((r.sent.as_micros() / bin.as_micros()) as usize) {
            p.sending_bps += f64::from(r.size) * 80.0;
            p.queue_ms = p.queue_ms.max(r.queued.as_micros() as f64 / 1e3);
        }
    }
    for s in &world.samples()[usize::from(flows[0])] {
        if let Some(p) = points.get_mut((s.at.as_micros() / bin.as_micros()) as usize) {
            p.target_bps = s.target_bps;
        }
    }
    points
}
