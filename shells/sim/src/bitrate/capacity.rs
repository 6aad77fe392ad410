//! How much the bottleneck can carry, as a function of true time.
//!
//! A [`Capacity`] is either a rate that changes in steps (a constant rate is
//! one step) or a Mahimahi trace: one line per 1500-byte delivery opportunity,
//! a millisecond timestamp from the start of the trace, repeated when the trace
//! ends (Winstein et al., NSDI 2013). Both answer the same two questions: when
//! does a packet that starts service at `t` finish, and how many bits could the
//! link have carried in `[a, b)` — the latter is the ground truth every
//! utilization figure divides by.

use std::fmt;

use onbeat_core::{Duration, Instant};

/// Bytes one Mahimahi delivery opportunity carries.
pub const OPPORTUNITY_BYTES: u32 = 1500;

/// The bottleneck's service rate over time.
#[derive(Clone, Debug, PartialEq)]
pub enum Capacity {
    /// Piecewise-constant rates: `(from, bits per second)`, sorted by `from`,
    /// the first at time zero; the last rate lasts forever.
    Steps(Vec<(Instant, u64)>),
    /// A Mahimahi trace.
    Trace(Trace),
}

/// A Mahimahi trace: sorted delivery opportunities (ms) within one period.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// Opportunity times within a period, in ms, sorted (repeats allowed).
    opportunities: Vec<u64>,
    /// Length of one period in ms (the last timestamp, at least 1).
    period_ms: u64,
}

/// Why a trace file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceError {
    /// Line `line` (1-based) is not a non-negative integer.
    NotANumber {
        /// 1-based line number.
        line: usize,
    },
    /// Line `line` is earlier than the line before it.
    Unsorted {
        /// 1-based line number.
        line: usize,
    },
    /// The file has no opportunities.
    Empty,
    /// The file could not be read.
    Io(String),
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::NotANumber { line } => write!(f, "line {line}: not a millisecond count"),
            TraceError::Unsorted { line } => write!(f, "line {line}: earlier than the line before"),
            TraceError::Empty => write!(f, "no delivery opportunities"),
            TraceError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TraceError {}

impl Trace {
    /// Parses the text of a Mahimahi trace file.
    pub fn parse(text: &str) -> Result<Trace, TraceError> {
        let mut opportunities = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let ms: u64 = line
                .parse()
                .map_err(|_| TraceError::NotANumber { line: i + 1 })?;
            if opportunities.last().is_some_and(|&last| ms < last) {
                return Err(TraceError::Unsorted { line: i + 1 });
            }
            opportunities.push(ms);
        }
        let last = *opportunities.last().ok_or(TraceError::Empty)?;
        Ok(Trace {
            opportunities,
            period_ms: last.max(1),
        })
    }

    /// Reads and parses a trace file.
    pub fn load(path: &str) -> Result<Trace, TraceError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| TraceError::Io(format!("{path}: {e}")))?;
        Trace::parse(&text)
    }

    /// Mean capacity over one period, bits per second.
    pub fn mean_bps(&self) -> f64 {
        self.opportunities.len() as f64 * f64::from(OPPORTUNITY_BYTES) * 8.0 * 1e3
            / self.period_ms as f64
    }

    /// The `k`-th opportunity counting from time zero across periods, in µs.
    fn at(&self, k: u64) -> u64 {
        let n = self.opportunities.len() as u64;
        ((k / n) * self.period_ms + self.opportunities[(k % n) as usize]) * 1000
    }

    /// Index of the first opportunity at or after `t` µs (= how many come before).
    fn first_at_or_after(&self, t: u64) -> u64 {
        let n = self.opportunities.len() as u64;
        let period_us = self.period_ms * 1000;
        let (cycle, within) = (t / period_us, t % period_us);
        let before = self.opportunities.partition_point(|&o| o * 1000 < within) as u64;
        // The last line of a period is stamped with the period itself, so at a
        // period's start the previous period's last opportunities are not yet past.
        let at_boundary = if within == 0 && cycle > 0 {
            self.opportunities.len() as u64
                - self.opportunities.partition_point(|&o| o < self.period_ms) as u64
        } else {
            0
        };
        cycle * n + before - at_boundary
    }

    /// Opportunities in `[a, b)` µs.
    fn count_between(&self, a: u64, b: u64) -> u64 {
        self.first_at_or_after(b)
            .saturating_sub(self.first_at_or_after(a))
    }
}

/// Where a trace-driven link stands within its current opportunity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    /// The opportunity last used.
    next: u64,
    /// Bytes of it still unused.
    left: u32,
}

/// When one packet is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    /// When its first bit leaves.
    pub start: Instant,
    /// When its last bit has left.
    pub end: Instant,
}

impl Capacity {
    /// A constant rate.
    pub fn constant(bps: u64) -> Self {
        Capacity::Steps(vec![(Instant::ZERO, bps)])
    }

    /// Rates held for the given durations in turn; the last one lasts forever.
    pub fn phases(phases: &[(u64, Duration)]) -> Self {
        let mut at = Instant::ZERO;
        let mut steps = Vec::new();
        for &(bps, d) in phases {
            steps.push((at, bps));
            at += d;
        }
        Capacity::Steps(steps)
    }

    /// The rate at `t`, bits per second (for a trace: its mean over the
    /// surrounding 100 ms, since an opportunity is an instant).
    pub fn rate_at(&self, t: Instant) -> f64 {
        match self {
            Capacity::Steps(steps) => step_rate(steps, t) as f64,
            Capacity::Trace(_) => {
                let half = Duration::from_millis(50);
                self.bits_between(t.saturating_sub(half), t + half) / 0.1
            }
        }
    }

    /// Bits the link could carry in `[a, b)`.
    pub fn bits_between(&self, a: Instant, b: Instant) -> f64 {
        if b <= a {
            return 0.0;
        }
        match self {
            Capacity::Steps(steps) => {
                let mut bits = 0.0;
                for (i, &(from, bps)) in steps.iter().enumerate() {
                    let to = steps.get(i + 1).map_or(Instant::MAX, |s| s.0);
                    let (lo, hi) = (from.max(a), to.min(b));
                    if hi > lo {
                        bits += bps as f64 * (hi - lo).as_micros() as f64 / 1e6;
                    }
                }
                bits
            }
            Capacity::Trace(trace) => {
                trace.count_between(a.as_micros(), b.as_micros()) as f64
                    * f64::from(OPPORTUNITY_BYTES)
                    * 8.0
            }
        }
    }

    /// Serves `bytes` starting no earlier than `from`; `cursor` carries a
    /// trace's partly used opportunity from one packet to the next (unused
    /// bytes of an opportunity are lost once the queue runs empty, as in
    /// Mahimahi).
    pub fn serve(&self, from: Instant, bytes: u32, cursor: &mut Cursor) -> Service {
        match self {
            Capacity::Steps(steps) => {
                let mut t = from;
                let mut bits = f64::from(bytes) * 8.0;
                loop {
                    let i = steps.partition_point(|s| s.0 <= t).saturating_sub(1);
                    let bps = steps[i].1 as f64;
                    let next = steps.get(i + 1).map(|s| s.0);
                    let need_us = if bps > 0.0 {
                        (bits / bps * 1e6).ceil()
                    } else {
                        f64::INFINITY
                    };
                    match next {
                        Some(n) if need_us > (n - t).as_micros() as f64 => {
                            bits -= bps * (n - t).as_micros() as f64 / 1e6;
                            t = n;
                        }
                        _ if need_us.is_finite() => {
                            return Service {
                                start: from,
                                end: t + Duration::from_micros(need_us as u64),
                            };
                        }
                        // A zero rate forever never delivers.
                        _ => {
                            return Service {
                                start: from,
                                end: Instant::MAX,
                            };
                        }
                    }
                }
            }
            Capacity::Trace(trace) => {
                let first = trace.first_at_or_after(from.as_micros());
                if cursor.left == 0
                    || cursor.next < first
                    || trace.at(cursor.next) < from.as_micros()
                {
                    *cursor = Cursor {
                        next: first,
                        left: OPPORTUNITY_BYTES,
                    };
                }
                let start = Instant::from_micros(trace.at(cursor.next));
                let mut need = bytes;
                loop {
                    let used = need.min(cursor.left);
                    need -= used;
                    cursor.left -= used;
                    if need == 0 {
                        let end = Instant::from_micros(trace.at(cursor.next));
                        if cursor.left == 0 {
                            *cursor = Cursor {
                                next: cursor.next + 1,
                                left: OPPORTUNITY_BYTES,
                            };
                        }
                        return Service { start, end };
                    }
                    *cursor = Cursor {
                        next: cursor.next + 1,
                        left: OPPORTUNITY_BYTES,
                    };
                }
            }
        }
    }

    /// Times at which a stepped capacity changes, with the rates before and
    /// after (empty for a trace).
    pub fn changes(&self) -> Vec<(Instant, u64, u64)> {
        match self {
            Capacity::Steps(steps) => steps.windows(2).map(|w| (w[1].0, w[0].1, w[1].1)).collect(),
            Capacity::Trace(_) => Vec::new(),
        }
    }
}

fn step_rate(steps: &[(Instant, u64)], t: Instant) -> u64 {
    let i = steps.partition_point(|s| s.0 <= t).saturating_sub(1);
    steps.get(i).map_or(0, |s| s.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_rate_serves_at_that_rate() {
        let c = Capacity::constant(1_000_000);
        let s = c.serve(Instant::from_millis(10), 1250, &mut Cursor::default());
        assert_eq!(s.start, Instant::from_millis(10));
        assert_eq!(s.end, Instant::from_millis(20));
    }

    #[test]
    fn service_spans_a_step() {
        // 5 ms at 1 Mbit/s carries 625 bytes; the other 625 take 2.5 ms at 2 Mbit/s.
        let c = Capacity::phases(&[
            (1_000_000, Duration::from_millis(5)),
            (2_000_000, Duration::from_secs(1)),
        ]);
        let s = c.serve(Instant::ZERO, 1250, &mut Cursor::default());
        assert_eq!(s.end, Instant::from_micros(7_500));
        assert_eq!(
            c.bits_between(Instant::ZERO, Instant::from_millis(10)),
            5_000.0 + 10_000.0
        );
        assert_eq!(
            c.changes(),
            vec![(Instant::from_millis(5), 1_000_000, 2_000_000)]
        );
    }

    #[test]
    fn trace_parses_repeats_and_rejects_garbage() {
        let t = Trace::parse("1\n1\n3\n4\n").unwrap();
        assert_eq!(t.period_ms, 4);
        // Period 2 starts at 4 ms: opportunities at 5, 5, 7, 8 ms.
        assert_eq!(t.at(4), 5_000);
        assert_eq!(t.at(7), 8_000);
        assert_eq!(t.count_between(0, 8_000), 7);
        assert_eq!(
            Trace::parse("1\nx\n"),
            Err(TraceError::NotANumber { line: 2 })
        );
        assert_eq!(
            Trace::parse("3\n2\n"),
            Err(TraceError::Unsorted { line: 2 })
        );
        assert_eq!(Trace::parse("\n"), Err(TraceError::Empty));
    }

    #[test]
    fn trace_shares_an_opportunity_between_small_packets() {
        let c = Capacity::Trace(Trace::parse("2\n5\n10\n").unwrap());
        let mut cur = Cursor::default();
        let a = c.serve(Instant::ZERO, 700, &mut cur);
        let b = c.serve(a.end, 700, &mut cur);
        let d = c.serve(b.end, 700, &mut cur);
        assert_eq!(
            (a.start, a.end),
            (Instant::from_millis(2), Instant::from_millis(2))
        );
        assert_eq!(b.end, Instant::from_millis(2));
        // 100 bytes left at 2 ms, the rest at 5 ms.
        assert_eq!(
            (d.start, d.end),
            (Instant::from_millis(2), Instant::from_millis(5))
        );
        // An idle link wastes what was left of the opportunity at 5 ms.
        let e = c.serve(Instant::from_millis(6), 100, &mut cur);
        assert_eq!(e.end, Instant::from_millis(10));
    }
}
