//! Reconnect delays: exponential backoff with full jitter.
//!
//! After the n-th failed attempt in a row the delay is drawn uniformly from
//! `[0, min(cap, base · 2^n)]` ("Exponential Backoff And Jitter", AWS
//! Architecture Blog). Drawing from the whole range, rather than adding a
//! little jitter to a fixed delay, is what keeps clients that lost the server
//! at the same instant from coming back at the same instant: their reconnects
//! spread evenly over the window instead of arriving as a spike.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::time::Duration;

/// The delay sequence of one client, from its own seed.
#[derive(Clone, Debug)]
pub(super) struct Backoff {
    rng: ChaCha8Rng,
    /// Failed attempts since the last stable session.
    attempt: u32,
}

impl Backoff {
    pub(super) fn new(seed: u64) -> Self {
        Backoff {
            rng: ChaCha8Rng::seed_from_u64(seed),
            attempt: 0,
        }
    }

    /// Starts over from the shortest window.
    pub(super) fn reset(&mut self) {
        self.attempt = 0;
    }

    /// The delay before the next attempt; widens the window for the one after.
    pub(super) fn next_delay(&mut self, base: Duration, cap: Duration) -> Duration {
        let window = window(base, cap, self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        Duration::from_micros(self.uniform(window.as_micros()))
    }

    /// Uniform in `[0, max]`. The modulo bias is below `max / 2^64`: for any
    /// delay up to a year (2^45 µs) under one part in half a million.
    fn uniform(&mut self, max: u64) -> u64 {
        let draw = self.rng.next_u64();
        match max.checked_add(1) {
            Some(span) => draw % span,
            None => draw,
        }
    }
}

/// The largest delay after `attempt` failures: `min(cap, base · 2^attempt)`.
pub(super) fn window(base: Duration, cap: Duration, attempt: u32) -> Duration {
    // Past 2^63 the product saturates anyway; the cap bounds it long before.
    let factor = 1u64 << attempt.min(63);
    base.saturating_mul(factor).min(cap)
}
