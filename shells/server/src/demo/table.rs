//! The live table's rules: one pick per player per round, scored at the reveal.

use std::collections::BTreeMap;

use onbeat_core::dispatch::hub::{RoomCtx, RoomInput, RoomLogic};
use onbeat_core::proto::{Phase, RejectCode, Topic};
use onbeat_core::time::Duration;
use rand_chacha::ChaCha20Rng;
use serde::Deserialize;
use serde_json::json;

use super::commit::{OUTCOMES, Secret};

/// Points for a correct pick.
pub const POINTS: u64 = 5;
/// Most players named in one reveal (winners and scores each): a reveal must
/// stay a small frame however many play.
pub const REVEAL_MAX_PLAYERS: usize = 200;
/// Most players whose running scores are remembered; later newcomers play
/// but are not scored, so memory stays bounded.
pub const SCORED_PLAYERS_MAX: usize = 100_000;

/// Phase indices of a round.
const PICKS: u8 = 0;
const CLOSED: u8 = 1;

/// The table's state between phases.
pub struct Table {
    rng: ChaCha20Rng,
    topic: Topic,
    closed: Duration,
    secret: Option<Secret>,
    /// This round's picks by user; a later pick replaces an earlier one.
    picks: BTreeMap<String, u8>,
    scores: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
struct Pick {
    pick: u8,
}

impl Table {
    /// A table publishing on `topic`, whose `closed` phase lasts `closed`.
    pub fn new(rng: ChaCha20Rng, topic: Topic, closed: Duration) -> Self {
        Table {
            rng,
            topic,
            closed,
            secret: None,
            picks: BTreeMap::new(),
            scores: BTreeMap::new(),
        }
    }

    fn open_round(&mut self, ctx: &mut RoomCtx<'_>, phase: &Phase) {
        let secret = Secret::draw(phase.round, &mut self.rng);
        let commit = json!({
            "type": "commit",
            "round": phase.round,
            "commitment": secret.commitment(),
            "picks_close_at": phase.ends_at.as_micros(),
            "reveal_at": (phase.ends_at + self.closed).as_micros(),
        });
        self.picks.clear();
        self.secret = Some(secret);
        ctx.publish(self.topic.clone(), commit.to_string().as_bytes(), None);
    }

    /// At the close: scores the picks and publishes the reveal, held by the
    /// hub until the reveal time so that everyone gets it at once.
    fn close_round(&mut self, ctx: &mut RoomCtx<'_>, phase: &Phase) {
        let Some(secret) = self.secret.take().filter(|s| s.round == phase.round) else {
            return;
        };
        let mut winners = Vec::new();
        let mut scores = serde_json::Map::new();
        for (user, pick) in std::mem::take(&mut self.picks) {
            let known = self.scores.contains_key(&user);
            if !known && self.scores.len() >= SCORED_PLAYERS_MAX {
                continue;
            }
            let score = self.scores.entry(user.clone()).or_insert(0);
            if pick == secret.outcome {
                *score += POINTS;
                if winners.len() < REVEAL_MAX_PLAYERS {
                    winners.push(user.clone());
                }
            }
            if scores.len() < REVEAL_MAX_PLAYERS {
                scores.insert(user, (*score).into());
            }
        }
        let reveal = json!({
            "type": "reveal",
            "round": secret.round,
            "outcome": secret.outcome,
            "salt": secret.salt,
            "commitment": secret.commitment(),
            "winners": winners,
            "scores": scores,
        });
        ctx.publish(
            self.topic.clone(),
            reveal.to_string().as_bytes(),
            Some(phase.ends_at),
        );
    }
}

impl RoomLogic for Table {
    fn on_input(
        &mut self,
        _ctx: &mut RoomCtx<'_>,
        input: &RoomInput<'_>,
    ) -> Result<(), RejectCode> {
        let pick = serde_json::from_slice::<Pick>(input.data)
            .ok()
            .map(|p| p.pick)
            .filter(|p| OUTCOMES.contains(p))
            .ok_or(RejectCode::Invalid)?;
        // The hub has judged the timing on its clock: an input reaching the
        // logic counts for the round in progress.
        let round = input.verdict.map(|v| v.round);
        if self.secret.as_ref().map(|s| s.round) != round {
            return Err(RejectCode::Late);
        }
        self.picks.insert(input.user.as_str().to_owned(), pick);
        Ok(())
    }

    fn on_phase(&mut self, ctx: &mut RoomCtx<'_>, phase: &Phase) {
        match phase.index {
            PICKS => self.open_round(ctx, phase),
            CLOSED => self.close_round(ctx, phase),
            _ => {}
        }
    }
}
