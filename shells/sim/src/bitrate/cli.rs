//! `onbeat-sim bitrate`: runs each estimator on the scenario's seeds, prints
//! the table, draws the plot and prints the JSON line last.

use std::time::Instant as WallClock;

use serde_json::json;

use super::capacity::Trace;
use super::link_options::LinkOptions;
use super::plot::rates_plot;
use super::report::{Summary, table};
use super::scenario::{Outcome, Point, Scenario, Sender, run_with};
use crate::cli::BitrateArgs;

/// The trace `--scenario trace` uses without `--trace`, in `../shared/traces/`
/// from the repository root (or in `$ONBEAT_TRACES`).
pub const DEFAULT_TRACE: &str = "ATT-LTE-driving-2016.up";

/// Resolves the scenarios the arguments name: one, or one per loss rate of
/// `random-loss`; each must take the link options.
pub fn scenarios(args: &BitrateArgs) -> Result<Vec<Scenario>, String> {
    let list = named(args)?;
    let options = args.link_options();
    for scenario in &list {
        options
            .setup(scenario, 0)
            .map_err(|e| format!("{}: {e}", scenario.name()))?;
    }
    Ok(list)
}

fn named(args: &BitrateArgs) -> Result<Vec<Scenario>, String> {
    Ok(match args.scenario.as_str() {
        "rfc8867-5.1" => vec![Scenario::Rfc8867_5_1],
        "rfc8867-5.2" => vec![Scenario::Rfc8867_5_2],
        "tcp-competition" => vec![Scenario::TcpCompetition],
        "random-loss" => {
            if let Some(bad) = args.loss.iter().find(|p| !(0.0..100.0).contains(*p)) {
                return Err(format!("--loss {bad}: a percentage in [0, 100)"));
            }
            args.loss
                .iter()
                .map(|p| Scenario::RandomLoss(p / 100.0))
                .collect()
        }
        "trace" => {
            let path = args.trace.clone().unwrap_or_else(|| {
                let dir =
                    std::env::var("ONBEAT_TRACES").unwrap_or_else(|_| "../shared/traces".into());
                format!("{dir}/{DEFAULT_TRACE}")
            });
            let trace = Trace::load(&path).map_err(|e| format!("trace {path}: {e}"))?;
            vec![Scenario::Trace(path, trace)]
        }
        "layers" => vec![Scenario::Layers],
        other => {
            return Err(format!(
                "unknown scenario {other:?}: rfc8867-5.1, rfc8867-5.2, tcp-competition, random-loss, trace, layers"
            ));
        }
    })
}

/// Per estimator, the first seed's plot series.
type Series = Vec<(&'static str, Vec<Point>)>;
/// Per estimator, its figures over the seeds.
type Columns = Vec<(&'static str, Summary)>;

/// Both estimators on every seed of one scenario: their summaries and the
/// first seed's series; `Err` holds the exit code.
fn measure(
    scenario: &Scenario,
    options: &LinkOptions,
    seeds: &[u64],
    threads: usize,
) -> Result<(Columns, Series), i32> {
    let senders = [("onbeat", Sender::Onbeat), ("str0m_gcc", Sender::Str0mGcc)];
    let mut columns = Vec::new();
    let mut firsts = Vec::new();
    for (name, sender) in senders {
        let outcomes: Vec<Result<Outcome, String>> =
            crate::seeds::run_in_order(seeds, threads, |seed| {
                run_with(scenario, options, sender, seed)
            });
        let mut figures = Vec::new();
        for (seed, o) in seeds.iter().zip(&outcomes) {
            match o {
                Ok(o) if o.errors == 0 => figures.push(o.figures.clone()),
                Ok(o) => {
                    eprintln!("{name} seed {seed}: {} errors from str0m", o.errors);
                    return Err(1);
                }
                Err(e) => {
                    eprintln!("{name} seed {seed}: {e}");
                    return Err(1);
                }
            }
        }
        if let Some(Ok(first)) = outcomes.into_iter().next() {
            firsts.push((name, first.series));
        }
        columns.push((name, Summary::new(&figures)));
    }
    println!(
        "{} over {} seeds (median [min, max])",
        options.name(&scenario.name()),
        seeds.len()
    );
    let view: Vec<(&str, &Summary)> = columns.iter().map(|(n, s)| (*n, s)).collect();
    print!("{}", table(&view));
    Ok((columns, firsts))
}

/// Runs the command; returns the process exit code.
pub fn run_cli(args: &BitrateArgs) -> i32 {
    let scenarios = match scenarios(args) {
        Ok(s) if !s.is_empty() => s,
        Ok(_) => {
            eprintln!("--loss needs at least one rate");
            return 2;
        }
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let (seeds, threads) = crate::cli::seeds_and_threads(args.seed, args.seeds, args.threads);
    // Wall time is reported, never fed into the simulation.
    let started = WallClock::now();
    let options = args.link_options();
    let mut results = Vec::new();
    for scenario in &scenarios {
        match measure(scenario, &options, &seeds, threads) {
            Ok(r) => results.push((options.name(&scenario.name()), r)),
            Err(code) => return code,
        }
    }
    let wall_ms = started.elapsed().as_millis() as u64;
    // The last scenario (the highest loss of a sweep) is the one plotted and
    // whose figures fill the line's `onbeat` and `str0m_gcc`.
    let Some((name, (columns, firsts))) = results.last() else {
        return 2;
    };
    if let (Some(path), Some(&seed)) = (&args.plot, seeds.first()) {
        let runs: Vec<(&str, &[_])> = firsts.iter().map(|(n, s)| (*n, &s[..])).collect();
        let title = format!("{name}, seed {seed}");
        match rates_plot(path, &title, &runs) {
            Ok(()) => println!("plot of seed {seed}: {path}"),
            Err(e) => {
                eprintln!("plot failed: {e}");
                return 2;
            }
        }
    }
    let sweep = results.len() > 1;
    let mut line = json!({
        "scenario": if sweep { options.name(&args.scenario) } else { name.clone() },
        "seeds": seeds.len(),
        "wall_ms": wall_ms,
    });
    for (estimator, summary) in columns {
        line[*estimator] = summary.json();
    }
    if sweep {
        for (name, (columns, _)) in &results {
            let mut each = json!({});
            for (estimator, summary) in columns {
                each[*estimator] = summary.json();
            }
            line[name.as_str()] = each;
        }
    }
    println!("{line}");
    0
}
