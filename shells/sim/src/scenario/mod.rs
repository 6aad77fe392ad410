//! Scenarios: rooms of nodes, machines and links that the binary runs.

pub mod clock;
pub mod dispatch;
mod draw;
