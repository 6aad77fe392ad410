//! Running many seeds on several threads with results in seed order.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `run` for every seed on `threads` threads; results come back in the
/// order of `seeds` whatever the threads' timing.
pub fn run_in_order<R: Send>(
    seeds: &[u64],
    threads: usize,
    run: impl Fn(u64) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&seed) = seeds.get(k) else {
                            break mine;
                        };
                        mine.push((k, run(seed)));
                    }
                })
            })
            .collect();
        // A worker only panics if a seed's run did; pass that on.
        workers
            .into_iter()
            .flat_map(|h| h.join().expect("seed run panicked"))
            .collect()
    });
    done.sort_by_key(|(k, _)| *k);
    done.into_iter().map(|(_, r)| r).collect()
}
