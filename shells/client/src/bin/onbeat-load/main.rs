//! onbeat-load: a load generator for onbeat (and, for comparison, NATS over
//! WebSocket).
//!
//! Subscribers and publishers on a few threads; each payload carries its
//! send time, so every delivery yields a publish-to-receive latency on one
//! monotonic clock. Prints progress every second to stderr, then a summary
//! table, and as its last line one JSON object with the figures.

mod nats;
mod onbeat;
mod open;
mod report;
mod run;
mod sink;
mod stamp;
mod stats;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use smol::LocalExecutor;

use run::{Job, Rate, Shared};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Target {
    Onbeat,
    Nats,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum CodecArg {
    Json,
    Postcard,
}

/// Load generator for onbeat and NATS over WebSocket.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// WebSocket URL: ws://127.0.0.1:7700/ws (onbeat) or ws://127.0.0.1:8222 (NATS).
    #[arg(long)]
    url: String,
    /// Subscribing connections.
    #[arg(long, default_value_t = 100)]
    subscribers: usize,
    /// Publishing connections.
    #[arg(long, default_value_t = 1)]
    publishers: usize,
    /// Topics; subscriber i follows topic i mod T, publishers rotate over all.
    #[arg(long, default_value_t = 1)]
    topics: usize,
    /// Payload size in bytes (at least 19: it carries the send time).
    #[arg(long, default_value_t = 100)]
    payload: usize,
    /// Messages per second across all publishers, or `max`.
    #[arg(long, default_value = "100")]
    rate: String,
    /// Seconds of publishing (or of holding idle connections).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Wire encoding (onbeat only).
    #[arg(long, value_enum, default_value = "json")]
    codec: CodecArg,
    /// Open this many idle connections (with hello) instead of the pub/sub run.
    #[arg(long)]
    idle: Option<usize>,
    /// The server's PID, to report its memory (VmRSS) per idle connection.
    #[arg(long)]
    server_pid: Option<u32>,
    /// What to talk to.
    #[arg(long, value_enum, default_value = "onbeat")]
    target: Target,
    /// An auth token (JWT) presented at the upgrade (onbeat only).
    #[arg(long)]
    token: Option<String>,
    /// Topic names: this prefix and a number, or the prefix alone for one
    /// topic (default `table/chat` for onbeat, `load.t` for NATS).
    #[arg(long)]
    topic_prefix: Option<String>,
    /// Worker threads (default: the cores this process may use).
    #[arg(long)]
    threads: Option<usize>,
    /// Longest wait for in-flight deliveries after publishing ends, seconds.
    #[arg(long, default_value_t = 5.0)]
    drain: f64,
}

fn main() {
    let args = Args::parse();
    stamp::now_us();
    let rate = match args.rate.as_str() {
        "max" => Rate::Max,
        n => match n.parse::<f64>() {
            Ok(r) if r > 0.0 => Rate::PerSec(r),
            _ => {
                eprintln!("--rate takes a positive number or `max`");
                std::process::exit(2);
            }
        },
    };
    if args.topics == 0 || args.duration <= 0.0 {
        eprintln!("--topics and --duration must be positive");
        std::process::exit(2);
    }
    let prefix = args
        .topic_prefix
        .clone()
        .unwrap_or_else(|| match args.target {
            Target::Onbeat => "table/chat".to_owned(),
            Target::Nats => "load.t".to_owned(),
        });
    let mut subscribers_of = vec![0u64; args.topics];
    if args.idle.is_none() {
        for i in 0..args.subscribers {
            subscribers_of[i % args.topics] += 1;
        }
    }
    let (go_tx, go) = smol::channel::bounded::<()>(1);
    let (stop_tx, stop) = smol::channel::bounded::<()>(1);
    let shared = Arc::new(Shared {
        url: args.url.clone(),
        token: args.token.clone(),
        codec: match args.codec {
            CodecArg::Json => onbeat_client::Codec::Json,
            CodecArg::Postcard => onbeat_client::Codec::Postcard,
        },
        topics: match args.topics {
            1 => vec![prefix],
            n => (0..n).map(|t| format!("{prefix}{t}")).collect(),
        },
        payload: args.payload.max(stamp::MIN_PAYLOAD),
        rate,
        publishers: args.publishers,
        duration: Duration::from_secs_f64(args.duration),
        counters: stats::Counters::new(args.topics),
        ready: AtomicUsize::new(0),
        finished: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        subscribers_of,
        go,
        stop,
        connecting: smol::lock::Semaphore::new(64),
    });
    let jobs: Vec<Job> = match args.idle {
        Some(n) => vec![Job::Idle; n],
        None => (0..args.subscribers)
            .map(|i| Job::Subscriber(i % args.topics))
            .chain((0..args.publishers).map(Job::Publisher))
            .collect(),
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let rss_before = args.server_pid.and_then(report::rss_kb);
    let workers = spawn_workers(&shared, &jobs, threads, args.target);

    // Every connection set up (or failed) before publishing starts.
    let setup = Instant::now();
    while shared.ready.load(Relaxed) + shared.failed.load(Relaxed) < jobs.len() {
        if setup.elapsed() > Duration::from_secs(120) {
            eprintln!("gave up waiting for connections to open");
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let setup_s = setup.elapsed().as_secs_f64();
    eprintln!(
        "{} of {} connections open in {setup_s:.2} s",
        shared.ready.load(Relaxed),
        jobs.len()
    );
    let stop_progress = Arc::new(AtomicBool::new(false));
    let progress = stats::progress(shared.counters.clone(), stop_progress.clone());
    let started = Instant::now();
    let started_us = stamp::now_us();
    drop(go_tx);

    let summary = if let Some(n) = args.idle {
        // Let the server settle before reading its memory.
        std::thread::sleep(shared.duration);
        let rss_after = args.server_pid.and_then(report::rss_kb);
        report::Summary::idle(n, shared.ready.load(Relaxed), rss_before, rss_after)
    } else {
        let publishers = args.publishers;
        while shared.finished.load(Relaxed) + shared.failed.load(Relaxed).min(publishers)
            < publishers
            && started.elapsed() < shared.duration + Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        let expected = expected(&shared, &jobs);
        drain(&shared, expected, Duration::from_secs_f64(args.drain));
        report::Summary::run(&shared, expected, started_us)
    };
    drop(stop_tx);
    stop_progress.store(true, Relaxed);
    let mut hist = stats::histogram();
    for worker in workers {
        if let Ok(h) = worker.join() {
            let _ = hist.add(&h);
        }
    }
    let _ = progress.join();
    let target = match args.target {
        Target::Onbeat => "onbeat",
        Target::Nats => "nats",
    };
    let codec = match (args.target, args.codec) {
        (Target::Nats, _) => "nats",
        (_, CodecArg::Json) => "json",
        (_, CodecArg::Postcard) => "postcard",
    };
    summary.print(
        &hist,
        &args.rate,
        target,
        codec,
        shared.counters.errors.load(Relaxed),
    );
}

/// Deliveries owed: each message sent to a topic, once per subscriber of it
/// that opened.
fn expected(shared: &Shared, jobs: &[Job]) -> u64 {
    let mut per_topic = vec![0u64; shared.topics.len()];
    for job in jobs {
        if let Job::Subscriber(t) = job {
            per_topic[*t] += 1;
        }
    }
    // A subscriber that failed to open owes nothing; failures are rare and
    // counted as errors, so assume they spread like the subscribers.
    let opened_subs = shared.ready.load(Relaxed).saturating_sub(shared.publishers) as u64;
    let subs: u64 = per_topic.iter().sum();
    let full: u64 = per_topic
        .iter()
        .zip(&shared.counters.sent_to)
        .map(|(n, sent)| n * sent.load(Relaxed))
        .sum();
    (full * opened_subs.min(subs))
        .checked_div(subs)
        .unwrap_or(0)
}

/// Waits until everything owed has arrived, or nothing has for a while.
fn drain(shared: &Shared, expected: u64, longest: Duration) {
    let start = Instant::now();
    let mut last = (shared.counters.received.load(Relaxed), Instant::now());
    while start.elapsed() < longest {
        let received = shared.counters.received.load(Relaxed);
        if received >= expected {
            return;
        }
        if received != last.0 {
            last = (received, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(2) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Deals the subscribers round-robin to `threads` readiness loops
/// ([`sink`]), and runs publishers and idle connections as tasks on one
/// more thread's executor; each returns its latency histogram.
fn spawn_workers(
    shared: &Arc<Shared>,
    jobs: &[Job],
    threads: usize,
    target: Target,
) -> Vec<std::thread::JoinHandle<Histogram<u64>>> {
    let subscribers: Vec<usize> = jobs
        .iter()
        .filter_map(|job| match job {
            Job::Subscriber(t) => Some(*t),
            _ => None,
        })
        .collect();
    let others: Vec<Job> = jobs
        .iter()
        .filter(|job| !matches!(job, Job::Subscriber(_)))
        .cloned()
        .collect();
    let mut workers: Vec<_> = (0..threads.min(subscribers.len()))
        .map(|w| {
            let mine: Vec<usize> = subscribers
                .iter()
                .skip(w)
                .step_by(threads)
                .copied()
                .collect();
            let shared = shared.clone();
            std::thread::spawn(move || sink::run(&shared, &mine, target == Target::Nats))
        })
        .collect();
    if !others.is_empty() {
        let shared = shared.clone();
        workers.push(std::thread::spawn(move || {
            let ex = LocalExecutor::new();
            let tasks: Vec<_> = others
                .into_iter()
                .map(|job| {
                    let shared = shared.clone();
                    ex.spawn(async move {
                        match (target, job) {
                            (Target::Onbeat, Job::Publisher(i)) => {
                                onbeat::publisher(&shared, i).await
                            }
                            (Target::Onbeat, _) => onbeat::idle(&shared).await,
                            (Target::Nats, Job::Publisher(i)) => nats::publisher(&shared, i).await,
                            (Target::Nats, _) => nats::idle(&shared).await,
                        }
                    })
                })
                .collect();
            smol::block_on(ex.run(futures_util::future::join_all(tasks)));
            stats::histogram()
        }));
    }
    workers
}
