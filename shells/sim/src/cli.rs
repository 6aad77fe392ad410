//! The `onbeat-sim` command line.

use std::time::Instant as WallClock;

use clap::{Parser, Subcommand};
use onbeat_core::Duration;

use crate::bitrate::link::QueueLimit;
use crate::bitrate::link_options::{self, LinkOptions};

use crate::plot::error_plot;
use crate::scenario::clock::{Summary, run_seed, run_seeds};

/// Seeded network simulations of onbeat's state machines.
#[derive(Debug, Parser)]
#[command(name = "onbeat-sim", version, about)]
pub struct Cli {
    /// The scenario to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Scenarios.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Clock synchronisation and phase firing across a room (see docs/simulation.md).
    Clock(ClockArgs),
    /// Rooms, topics, recovery, backpressure and inputs under faults, with a
    /// model checker (see docs/simulation.md).
    Dispatch(DispatchArgs),
    /// Bandwidth estimation over bottleneck links, onbeat's estimator next to
    /// str0m's GCC on the same seeds (see docs/simulation.md).
    Bitrate(BitrateArgs),
}

/// Options of `onbeat-sim bitrate`.
#[derive(Debug, clap::Args)]
pub struct BitrateArgs {
    /// rfc8867-5.1, rfc8867-5.2, tcp-competition, random-loss, trace or layers.
    #[arg(long)]
    pub scenario: String,
    /// Run seeds 0..N.
    #[arg(long, default_value_t = 10)]
    pub seeds: u64,
    /// Run only this seed (overrides --seeds); reproduces a run exactly.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Random loss of `random-loss`, percent; a list runs each in turn.
    #[arg(long, value_delimiter = ',', default_values_t = [1.0, 3.0, 5.0],
          allow_negative_numbers = true)]
    pub loss: Vec<f64>,
    /// Any scenario: extra delay per packet, uniform in [0, MS) ms; packets
    /// keep their order.
    #[arg(long, value_name = "MS", value_parser = link_options::parse_jitter,
          allow_negative_numbers = true)]
    pub jitter: Option<Duration>,
    /// Any scenario: the drop-tail queue's limit, a time (`300ms`, `1s`) or a
    /// size (`64kB`, `65536B`; 1 kB = 1024 B).
    #[arg(long, value_name = "LIMIT", value_parser = link_options::parse_queue,
          allow_hyphen_values = true)]
    pub queue: Option<QueueLimit>,
    /// `random-loss` only: losses come in bursts (Gilbert–Elliott), bad
    /// periods of mean MS ms losing half their packets, good ones none, the
    /// long-run loss still `--loss` (which must then be below 50).
    #[arg(long, value_name = "MS", value_parser = link_options::parse_burst,
          allow_negative_numbers = true)]
    pub loss_burst: Option<Duration>,
    /// Mahimahi trace of `trace` (default ../shared/traces/ATT-LTE-driving-2016.up).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<String>,
    /// Draw capacity, targets, sending rates and queue delay of the first seed.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<String>,
    /// Worker threads (defaults to the machine's cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

impl BitrateArgs {
    /// The link overrides the options name.
    pub fn link_options(&self) -> LinkOptions {
        LinkOptions {
            jitter: self.jitter,
            queue: self.queue,
            loss_burst: self.loss_burst,
        }
    }
}

/// Options of `onbeat-sim dispatch`.
#[derive(Debug, clap::Args)]
pub struct DispatchArgs {
    /// Run seeds 0..N.
    #[arg(long, default_value_t = 20)]
    pub seeds: u64,
    /// Run only this seed (overrides --seeds); reproduces a failure exactly.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Clients per room.
    #[arg(long, default_value_t = 100)]
    pub clients: u32,
    /// Worker threads (defaults to the machine's cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Options of `onbeat-sim clock`.
#[derive(Debug, clap::Args)]
pub struct ClockArgs {
    /// Run seeds 0..N.
    #[arg(long, default_value_t = 100)]
    pub seeds: u64,
    /// Run only this seed (overrides --seeds); reproduces a failure exactly.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Clients per room.
    #[arg(long, default_value_t = 100)]
    pub clients: u32,
    /// Worker threads (defaults to the machine's cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Draw the worst client's error and bound over time for the (first) seed.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<String>,
}

/// Runs the command; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Clock(args) => clock(&args),
        Command::Dispatch(args) => crate::scenario::dispatch::cli::run(&args),
        Command::Bitrate(args) => crate::bitrate::cli::run_cli(&args),
    }
}

/// The seeds a run covers (`--seed S` alone, else `0..--seeds`) and its
/// worker threads (`--threads`, else the machine's cores).
pub(crate) fn seeds_and_threads(
    seed: Option<u64>,
    seeds: u64,
    threads: Option<usize>,
) -> (Vec<u64>, usize) {
    let list = match seed {
        Some(s) => vec![s],
        None => (0..seeds).collect(),
    };
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    (list, threads)
}

fn clock(args: &ClockArgs) -> i32 {
    let (seeds, threads) = crate::cli::seeds_and_threads(args.seed, args.seeds, args.threads);
    // Wall time is reported, never fed into the simulation.
    let started = WallClock::now();
    let results = run_seeds(&seeds, args.clients, threads);
    let wall_ms = started.elapsed().as_millis() as u64;
    let summary = Summary::new(&results, args.clients);
    if seeds.len() == 1 {
        let r = &results[0];
        println!(
            "seed {}: mix {}, event log {:016x} ({} records)",
            r.seed,
            r.mix.label(),
            r.hash,
            r.records
        );
    }
    print!("{}", summary.table());
    for (seed, why) in &summary.failures {
        println!("{why}");
        println!(
            "  reproduce: cargo run --release -p onbeat-sim -- clock --seed {seed} --clients {}",
            args.clients
        );
    }
    println!(
        "event log hash over {} seeds: {:016x}",
        summary.seeds, summary.hash
    );
    if let (Some(path), Some(&seed)) = (&args.plot, seeds.first()) {
        let traced = run_seed(seed, args.clients, true);
        let worst = (0..traced.trace.len())
            .max_by_key(|&i| {
                traced.trace[i]
                    .iter()
                    .skip(50)
                    .map(|p| p.1.unsigned_abs())
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        let points = traced.trace.get(worst).map_or(&[][..], |t| &t[..]);
        match error_plot(path, seed, worst, points) {
            Ok(()) => println!("plot of seed {seed}, client {worst}: {path}"),
            Err(e) => {
                eprintln!("plot failed: {e}");
                return 2;
            }
        }
    }
    println!("{}", summary.json(wall_ms));
    i32::from(!summary.failures.is_empty())
}
