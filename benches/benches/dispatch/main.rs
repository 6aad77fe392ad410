//! Cost of the hub's delivery paths, driven as the server's driver drives
//! them: every `Wake` is answered by one pull of that connection's frames
//! into a reused batch (one write), and by another only when that batch
//! came back full (the driver pulls again once the write is done), so each
//! figure includes the pull. After each measurement every queue is checked
//! empty: nothing is left behind.
//!
//! - `fanout/N`: one publish to a topic with N subscribers (1, 100, 10,000);
//! - `many_topics`: one publish to each of 1,000 topics with 4 subscribers;
//! - `churn`: one session subscribing to and unsubscribing from a topic that
//!   1,000 others follow;
//! - `resume_recover`: a session resuming after missing 1,000 messages and
//!   being caught up from history.
//!
//! Besides criterion's timings (throughput in deliveries), each case prints
//! one line measured outside criterion in steady state: deliveries per second
//! of wall time and, on Linux, per second of the thread's CPU time (the
//! figure that holds on a machine shared with other work), and heap
//! allocations per delivery, counted by the global allocator of `counting.rs`.
//!
//! Instructions and cache misses per delivery, which do not depend on what
//! else the machine runs: `valgrind --tool=callgrind --cache-sim=yes
//! --LL=4194304,16,64 --collect-atstart=no --toggle-collect='*Bench*publish*'
//! --dump-before='*fanout_setup*' target/release/deps/dispatch-<hash>
//! --bench 'fanout/10000$' --profile-time 1` counts what `Bench::publish`
//! (the publish and every pull it causes) costs; the fourth dump holds the
//! `fanout/10000` case: divide its totals by its calls of `Bench::publish`
//! times 10,000.

// criterion_group! and criterion_main! generate undocumented items.
#![allow(missing_docs)]

mod bench;
mod cases;
mod counting;
mod idle;
mod steady;

use std::time::Duration as WallDuration;

use criterion::{Criterion, criterion_group, criterion_main};

use cases::{churn, fanout, many_topics, resume_recover};
use idle::idle_session;

fn config() -> Criterion {
    // Two cores shared with other work: short, few samples, enough to see
    // the order of magnitude and any regression by a factor.
    Criterion::default()
        .warm_up_time(WallDuration::from_secs(1))
        .measurement_time(WallDuration::from_secs(3))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = idle_session, fanout, many_topics, churn, resume_recover
}
criterion_main!(benches);
