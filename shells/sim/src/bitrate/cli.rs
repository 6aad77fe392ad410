//! `onbeat-sim bitrate`: runs each estimator on the scenario's seeds, prints
//! the table, draws the plot and prints the JSON line last.

use std::time::Instant as WallClock;

use serde_json::json;

use super::capacity::Trace;
use super::plot::rates_plot;
use super::report::{Summary, table};
use super::scenario::{Outcome, Scenario, Sender, run};
use crate::cli::BitrateArgs;

/// The trace `--scenario trace` uses without `--trace`, in `../shared/traces/`
/// from the repository root (or in `$ONBEAT_TRACES`).
pub const DEFAULT_TRACE: &str = "ATT-LTE-driving-2016.up";

/// Resolves the scenario the arguments name.
pub fn scenario(args: &BitrateArgs) -> Result<Scenario, String> {
    Ok(match args.scenario.as_str() {
        "rfc8867-5.1" => Scenario::Rfc8867_5_1,
        "rfc8867-5.2" => Scenario::Rfc8867_5_2,
        "tcp-competition" => Scenario::TcpCompetition,
        "random-loss" => Scenario::RandomLoss(args.loss / 100.0),
        "trace" => {
            let path = args.trace.clone().unwrap_or_else(|| {
                let dir =
                    std::env::var("ONBEAT_TRACES").unwrap_or_else(|_| "../shared/traces".into());
                format!("{dir}/{DEFAULT_TRACE}")
            });
            let trace = Trace::load(&path).map_err(|e| format!("trace {path}: {e}"))?;
            Scenario::Trace(path, trace)
        }
        other => {
            return Err(format!(
                "unknown scenario {other:?}: rfc8867-5.1, rfc8867-5.2, tcp-competition, random-loss, trace"
            ));
        }
    })
}

/// Runs the command; returns the process exit code.
pub fn run_cli(args: &BitrateArgs) -> i32 {
    let scenario = match scenario(args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let (seeds, threads) = crate::cli::seeds_and_threads(args.seed, args.seeds, args.threads);
    // Wall time is reported, never fed into the simulation.
    let started = WallClock::now();
    let senders = [("onbeat", Sender::Onbeat), ("str0m_gcc", Sender::Str0mGcc)];
    let mut columns = Vec::new();
    let mut firsts = Vec::new();
    for (name, sender) in senders {
        let outcomes: Vec<Result<Outcome, String>> =
            crate::seeds::run_in_order(&seeds, threads, |seed| run(&scenario, sender, seed));
        let mut figures = Vec::new();
        for (seed, o) in seeds.iter().zip(&outcomes) {
            match o {
                Ok(o) if o.errors == 0 => figures.push(o.figures.clone()),
                Ok(o) => {
                    eprintln!("{name} seed {seed}: {} errors from str0m", o.errors);
                    return 1;
                }
                Err(e) => {
                    eprintln!("{name} seed {seed}: {e}");
                    return 1;
                }
            }
        }
        if let Some(Ok(first)) = outcomes.into_iter().next() {
            firsts.push((name, first.series));
        }
        columns.push((name, Summary::new(&figures)));
    }
    let wall_ms = started.elapsed().as_millis() as u64;
    let view: Vec<(&str, &Summary)> = columns.iter().map(|(n, s)| (*n, s)).collect();
    println!(
        "{} over {} seeds (median [min, max])",
        scenario.name(),
        seeds.len()
    );
    print!("{}", table(&view));
    if let (Some(path), Some(&seed)) = (&args.plot, seeds.first()) {
        let runs: Vec<(&str, &[_])> = firsts.iter().map(|(n, s)| (*n, &s[..])).collect();
        let title = format!("{}, seed {seed}", scenario.name());
        match rates_plot(path, &title, &runs) {
            Ok(()) => println!("plot of seed {seed}: {path}"),
            Err(e) => {
                eprintln!("plot failed: {e}");
                return 2;
            }
        }
    }
    let mut line = json!({
        "scenario": scenario.name(),
        "seeds": seeds.len(),
        "wall_ms": wall_ms,
    });
    for (name, summary) in &columns {
        line[*name] = summary.json();
    }
    println!("{line}");
    0
}
