//! The model's view of every topic's history, as the hub really keeps it.
//!
//! The witness is one more connection to the hub, subscribed to every topic
//! from the start and read by the shell the instant the hub wakes it (no
//! network, no stall), so it sees every message at the server time it was
//! appended. From that the checker knows each topic's head, what lies at
//! each offset, and — with the topic's limits — exactly which `since` the
//! hub can still recover at any instant.

use onbeat_core::Instant;
use onbeat_core::dispatch::{Reliability, TopicConfig};
use onbeat_core::proto::{Position, ServerMsg};

use super::logic::payload_id;
use super::params::TOPICS;

/// Every topic's messages as appended.
#[derive(Debug, Default)]
pub struct Witness {
    /// Each topic's epoch, once the hub has said it.
    pub epochs: [Option<u64>; TOPICS.len()],
    /// Each topic's messages by offset: payload id and server time appended.
    msgs: [Vec<(u64, Instant)>; TOPICS.len()],
    /// Why the witness stopped being a complete record, if it did.
    pub broken: Option<String>,
}

/// The index of `name` in [`TOPICS`].
pub fn topic_index(name: &str) -> Option<usize> {
    TOPICS.iter().position(|(n, _)| *n == name)
}

impl Witness {
    /// Takes one frame the hub sent the witness at server time `now`.
    pub fn see(&mut self, msg: &ServerMsg<'_>, now: Instant) {
        match msg {
            ServerMsg::Subscribed(s) => {
                if let Some(t) = topic_index(&s.topic) {
                    self.epochs[t] = Some(s.position.epoch);
                }
            }
            ServerMsg::Deliver(d) => {
                let Some(t) = topic_index(&d.topic) else {
                    return;
                };
                let expected = self.msgs[t].len() as u64;
                if Some(d.epoch) != self.epochs[t] || d.offset != expected {
                    self.broken.get_or_insert_with(|| {
                        format!("{} offset {} where {expected} was due", d.topic, d.offset)
                    });
                    return;
                }
                let id = payload_id(d.data.as_bytes()).unwrap_or(u64::MAX);
                self.msgs[t].push((id, now));
            }
            ServerMsg::Gap(g) => {
                self.broken
                    .get_or_insert_with(|| format!("gap on {}", g.topic));
            }
            _ => {}
        }
    }

    /// The offset the next message of topic `t` gets.
    pub fn head(&self, t: usize) -> u64 {
        self.msgs[t].len() as u64
    }

    /// The head of topic `t` as it was at server time `when`.
    pub fn head_at(&self, t: usize, when: Instant) -> u64 {
        self.msgs[t].partition_point(|m| m.1 <= when) as u64
    }

    /// The head as a position, once the epoch is known.
    pub fn position(&self, t: usize) -> Option<Position> {
        Some(Position {
            epoch: self.epochs[t]?,
            offset: self.head(t),
        })
    }

    /// The payload id at `offset` of topic `t`.
    pub fn at(&self, t: usize, offset: u64) -> Option<u64> {
        self.msgs[t].get(usize::try_from(offset).ok()?).map(|m| m.0)
    }

    /// Whether a `subscribe{since}` to topic `t` taken at `now` must be
    /// answered `recovered: true`: everything from `since` to the head is
    /// still within the topic's history, by count and by age.
    pub fn recoverable(&self, t: usize, since: Position, now: Instant) -> bool {
        let head = self.head(t);
        if Some(since.epoch) != self.epochs[t] || since.offset > head {
            return false;
        }
        if since.offset == head {
            return true;
        }
        let TopicConfig {
            history,
            history_age,
            ..
        } = TOPICS[t].1;
        let oldest_kept = head.saturating_sub(history as u64);
        history > 0
            && since.offset >= oldest_kept
            && self.msgs[t]
                .get(since.offset as usize)
                .is_some_and(|m| now.saturating_duration_since(m.1) <= history_age)
    }

    /// Whether topic `t` drops what a lagging subscriber cannot take.
    pub fn lossy(t: usize) -> bool {
        TOPICS[t].1.reliability == Reliability::Lossy
    }
}
