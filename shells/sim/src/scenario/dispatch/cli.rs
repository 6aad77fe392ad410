//! `onbeat-sim dispatch`: runs the seeds, prints the table, the failures and
//! the JSON line.

use std::time::Instant as WallClock;

use super::{Summary, run_seeds};
use crate::cli::DispatchArgs;

/// Runs the command; returns the process exit code.
pub fn run(args: &DispatchArgs) -> i32 {
    let (seeds, threads) = crate::cli::seeds_and_threads(args.seed, args.seeds, args.threads);
    // Wall time is reported, never fed into the simulation.
    let started = WallClock::now();
    let results = run_seeds(&seeds, args.clients, threads);
    let wall_ms = started.elapsed().as_millis() as u64;
    let summary = Summary::new(&results, args.clients);
    if let [r] = &results[..] {
        println!(
            "seed {}: mix {}, event log {:016x} ({} records)",
            r.seed,
            r.mix.label(),
            r.hash,
            r.records
        );
    }
    print!("{}", summary.table());
    for (seed, first) in &summary.failures {
        for why in first {
            println!("{why}");
        }
        println!(
            "  reproduce: cargo run --release -p onbeat-sim -- dispatch --seed {seed} --clients {}",
            args.clients
        );
    }
    println!(
        "event log hash over {} seeds: {:016x}",
        summary.seeds, summary.hash
    );
    println!("{}", summary.json(wall_ms));
    i32::from(!summary.failures.is_empty())
}
