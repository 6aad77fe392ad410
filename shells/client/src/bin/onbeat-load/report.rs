//! The summary table and the closing JSON line.

use std::sync::atomic::Ordering::Relaxed;

use hdrhistogram::Histogram;

use crate::run::Shared;

/// A server's resident memory in KiB, from /proc/PID/status.
pub fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What a run measured, apart from latencies.
pub enum Summary {
    Run {
        sent: u64,
        received: u64,
        expected: u64,
        duration_s: f64,
        subscribers: usize,
        publishers: usize,
        topics: usize,
        payload: usize,
    },
    Idle {
        asked: usize,
        opened: usize,
        rss_before_kb: Option<u64>,
        rss_after_kb: Option<u64>,
    },
}

impl Summary {
    pub fn run(shared: &Shared, expected: u64, started_us: u64) -> Summary {
        let counters = &shared.counters;
        let subscribers = shared.ready.load(Relaxed).saturating_sub(shared.publishers);
        Summary::Run {
            sent: counters.sent.load(Relaxed),
            received: counters.received.load(Relaxed),
            expected,
            duration_s: (crate::stamp::now_us() - started_us) as f64 / 1e6,
            subscribers,
            publishers: shared.publishers,
            topics: shared.topics.len(),
            payload: shared.payload,
        }
    }

    pub fn idle(
        asked: usize,
        opened: usize,
        rss_before_kb: Option<u64>,
        rss_after_kb: Option<u64>,
    ) -> Summary {
        Summary::Idle {
            asked,
            opened,
            rss_before_kb,
            rss_after_kb,
        }
    }

    pub fn print(&self, hist: &Histogram<u64>, rate: &str, target: &str, codec: &str, errors: u64) {
        let q = |q: f64| {
            if hist.is_empty() {
                0
            } else {
                hist.value_at_quantile(q)
            }
        };
        let (p50, p99, max) = (
            q(0.5),
            q(0.99),
            if hist.is_empty() { 0 } else { hist.max() },
        );
        println!("target        {target} ({codec})");
        let json = match *self {
            Summary::Run {
                sent,
                received,
                expected,
                duration_s,
                subscribers,
                publishers,
                topics,
                payload,
            } => {
                let lost = expected.saturating_sub(received);
                let per_s = received as f64 / duration_s.max(1e-9);
                println!(
                    "workload      {subscribers} subscribers, {publishers} publishers, {topics} topics, {payload} B, rate {rate}"
                );
                println!("sent          {sent}");
                println!("received      {received} of {expected} expected ({lost} lost)");
                println!("errors        {errors}");
                println!("duration      {duration_s:.2} s");
                println!("deliveries    {per_s:.0}/s");
                println!(
                    "latency (µs)  p50 {p50}  p90 {}  p99 {p99}  p99.9 {}  max {max}",
                    q(0.9),
                    q(0.999)
                );
                serde_json::json!({
                    "target": target, "codec": codec, "rate": rate,
                    "subscribers": subscribers, "publishers": publishers,
                    "topics": topics, "payload": payload,
                    "sent": sent, "received": received, "expected": expected,
                    "duration_s": (duration_s * 1000.0).round() / 1000.0,
                    "deliveries_per_s": per_s.round(),
                    "p50_us": p50, "p99_us": p99, "max_us": max,
                    "lost": lost, "errors": errors,
                })
            }
            Summary::Idle {
                asked,
                opened,
                rss_before_kb,
                rss_after_kb,
            } => {
                let per_conn = match (rss_before_kb, rss_after_kb) {
                    (Some(b), Some(a)) if opened > 0 => {
                        Some((a.saturating_sub(b) * 1024) as f64 / opened as f64)
                    }
                    _ => None,
                };
                println!("idle          {opened} of {asked} connections held");
                println!("errors        {errors}");
                if let (Some(b), Some(a)) = (rss_before_kb, rss_after_kb) {
                    println!("server RSS    {b} KiB before, {a} KiB after");
                }
                if let Some(p) = per_conn {
                    println!("per conn      {p:.0} B");
                }
                serde_json::json!({
                    "target": target, "codec": codec,
                    "idle": asked, "opened": opened,
                    "rss_before_kb": rss_before_kb, "rss_after_kb": rss_after_kb,
                    "rss_per_conn_bytes": per_conn.map(f64::round),
                    "deliveries_per_s": 0, "p50_us": 0, "p99_us": 0, "max_us": 0,
                    "lost": asked - opened, "errors": errors,
                })
            }
        };
        println!("{json}");
    }
}
