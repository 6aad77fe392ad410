//! The line each case prints beside criterion's timings: deliveries per
//! second of wall and CPU time and allocations per delivery, in steady state.

use std::time::Duration as WallDuration;

use crate::bench::Bench;
use crate::counting::allocations;

/// Runs `step` until allocation counts are steady, then measures `rounds`
/// of it outside criterion and prints deliveries per second and allocations
/// per delivery.
pub(crate) fn report(name: &str, b: &mut Bench, rounds: u64, mut step: impl FnMut(&mut Bench)) {
    if !wanted(name) {
        return;
    }
    // Warm-up: the topic history fills to its bound (so each publish also
    // frees the oldest message) and every queue and output buffer reaches
    // its working size.
    for _ in 0..rounds.max(2_048) {
        step(b);
    }
    let (pulled, allocs) = (b.pulled, allocations());
    let (start, cpu) = (std::time::Instant::now(), cpu_time());
    for _ in 0..rounds {
        step(b);
    }
    let (wall, cpu) = (start.elapsed(), cpu_time().zip(cpu).map(|(b, a)| b - a));
    let deliveries = b.pulled - pulled;
    let allocs = allocations() - allocs;
    b.assert_drained();
    assert!(deliveries > 0, "{name}: nothing was delivered");
    println!(
        "{name}: {:.2} M deliveries/s{}, {:.4} allocations/delivery ({:.1} per round of {} deliveries)",
        deliveries as f64 / wall.as_secs_f64() / 1e6,
        per_cpu_second(deliveries, cpu),
        allocs as f64 / deliveries as f64,
        allocs as f64 / rounds as f64,
        deliveries / rounds,
    );
}

/// Whether the steady-state line of case `name` is wanted: not when
/// criterion only profiles (`--profile-time`, as under callgrind, where the
/// warm-up would take minutes), nor when a filter given on the command line
/// does not match it (criterion's rule: a substring of the name).
pub(crate) fn wanted(name: &str) -> bool {
    let mut args = std::env::args().skip(1);
    let mut filter = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--profile-time" => return false,
            // Flags that take a value; `--bench` and the like take none.
            "--save-baseline" | "--baseline" | "--measurement-time" | "--warm-up-time"
            | "--sample-size" | "--output-format" | "--color" => {
                args.next();
            }
            _ if arg.starts_with('-') => {}
            _ => filter = Some(arg),
        }
    }
    filter.is_none_or(|f| name.contains(&f))
}

/// CPU time this thread has run, where the kernel says (Linux): unlike wall
/// time, it does not count the time other processes held the core.
pub(crate) fn cpu_time() -> Option<WallDuration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(WallDuration::from_nanos(nanos))
}

/// ` (N M per CPU-second)`, when the CPU time is known.
pub(crate) fn per_cpu_second(deliveries: u64, cpu: Option<WallDuration>) -> String {
    cpu.filter(|cpu| !cpu.is_zero())
        .map(|cpu| {
            format!(
                " ({:.2} M per CPU-second)",
                deliveries as f64 / cpu.as_secs_f64() / 1e6
            )
        })
        .unwrap_or_default()
}
