//! The dispatch scenario: a `Hub` and a room of `ClientSession`s over
//! WebSocket-like streams on impaired links, with a model checker.
//!
//! Each seed is one room: a hub with a scheduled room, two reliable and two
//! lossy topics, and clients that subscribe, unsubscribe, publish (now or
//! timed), send inputs, drop their connection, stall their reads, and lose
//! their path for a while, each seed with its own mix of faults (swarm
//! testing). A witness connection records the hub's real history, and the
//! checks of [`checks::Check`] run on every event; after the faults heal,
//! the end state is checked for liveness. See `docs/simulation.md`.

mod app;
pub mod checks;
pub mod cli;
mod client_shell;
mod decoded;
mod end;
mod hub_shell;
pub mod logic;
mod model;
pub mod params;
pub mod pipe;
pub mod report;
mod wire;
pub mod witness;
mod world;

pub use report::{Counters, SeedResult, Summary};

use world::World;

/// A deliberate fault in the shell, to show that the checker catches it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tamper {
    /// The real thing.
    #[default]
    None,
    /// One `deliver` of a reliable topic vanishes between the socket and the
    /// client session (after 10 s).
    DropDelivery,
    /// One delivered message never reaches the app (after 10 s).
    DropEvent,
    /// The hub's timer is fed a server time 300 ms ahead, so timed publishes
    /// leave early.
    EarlyTimed,
}

/// Runs one seed's room with `clients` clients.
pub fn run_seed(seed: u64, clients: u32) -> SeedResult {
    run_seed_with(seed, clients, Tamper::None)
}

/// Runs one seed's room with a deliberate fault.
pub fn run_seed_with(seed: u64, clients: u32, tamper: Tamper) -> SeedResult {
    let mut world = World::new(seed, clients, tamper);
    world.run();
    SeedResult {
        seed,
        mix: world.mix,
        hash: world.sim.log_hash(),
        records: world.sim.log().records(),
        n: world.n,
        violations: world.v,
    }
}

/// Runs `seeds` on `threads` threads; results come back in the order of
/// `seeds` whatever the threads' timing.
pub fn run_seeds(seeds: &[u64], clients: u32, threads: usize) -> Vec<SeedResult> {
    crate::seeds::run_in_order(seeds, threads, |seed| run_seed(seed, clients))
}
