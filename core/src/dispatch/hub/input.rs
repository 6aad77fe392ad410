//! Inputs: judged once, answered once.
//!
//! With several shards, an input to a room another shard runs is checked
//! here (capabilities, rate), then forwarded to the owner with the time it
//! arrived here, which its timeline judges; the answer comes back through
//! [`Hub::answer_input`] (see `peer_send`).

use super::frame::Frame;
use super::session::{Answer, Kind};
use super::slab::Key;
use super::{ConnId, Hub, HubError, RoomInput};
use crate::proto::{Input, InputOutcome, InputResult, RejectCode, RequestId, ServerMsg};
use crate::time::Instant;

impl Hub {
    /// Judges an input and answers it exactly once: a resent request id gets
    /// the remembered answer, never a second judgement.
    pub(super) fn input(
        &mut self,
        conn: ConnId,
        key: Key,
        req: &Input<'_>,
        now: Instant,
    ) -> Result<(), HubError> {
        let s = self.sessions.get_mut(key).ok_or(HubError::UnknownSession)?;
        let outcome = match s.cold.requests.get(Kind::Input, req.request) {
            Some(Answer::Input(outcome)) => outcome,
            Some(Answer::InputError(e)) => {
                return Err(self.reject(conn, e, Some(req.request)));
            }
            // Forwarded to the room's owner: answered when its verdict comes.
            Some(Answer::Held) => return Ok(()),
            _ => match self.judge(key, req, now) {
                Ok(Some(outcome)) => outcome,
                Ok(None) => {
                    if let Some(s) = self.sessions.get_mut(key) {
                        s.cold.requests.put(Kind::Input, req.request, Answer::Held);
                    }
                    return Ok(());
                }
                Err(e) => {
                    if let Some(s) = self.sessions.get_mut(key) {
                        s.cold
                            .requests
                            .put(Kind::Input, req.request, Answer::InputError(e));
                    }
                    return Err(self.reject(conn, e, Some(req.request)));
                }
            },
        };
        self.answer_input(key, req.request, Ok(outcome));
        self.apply_actions(now);
        Ok(())
    }

    /// Remembers the answer to an input and sends it: `input_result`, or an
    /// `error` for an input that could not be judged.
    pub(super) fn answer_input(
        &mut self,
        key: Key,
        request: RequestId,
        result: Result<InputOutcome, HubError>,
    ) {
        let Some(s) = self.sessions.get_mut(key) else {
            return;
        };
        let (answer, msg) = match result {
            Ok(outcome) => (
                Answer::Input(outcome),
                ServerMsg::InputResult(InputResult { request, outcome }),
            ),
            Err(e) => (
                Answer::InputError(e),
                super::inbound::error_msg(e, Some(request), None),
            ),
        };
        s.cold.requests.put(Kind::Input, request, answer);
        let frame = Frame::encode(&msg, s.codec);
        self.push_other(key, frame);
    }

    /// Capabilities, rate, then the timeline and the room's logic, here or
    /// on the room's owner (`None`: forwarded there).
    fn judge(
        &mut self,
        key: Key,
        req: &Input<'_>,
        now: Instant,
    ) -> Result<Option<InputOutcome>, HubError> {
        let s = self.sessions.get_mut(key).ok_or(HubError::UnknownSession)?;
        let reject = |code| Ok(Some(InputOutcome::Rejected(code)));
        if !s.cold.caps.may_input(&req.room) {
            return reject(RejectCode::Forbidden);
        }
        let Some(&rkey) = self.room_names.get(req.room.as_str()) else {
            return Err(self.no_room(&req.room));
        };
        if !s.cold.inputs.take(now) {
            return reject(RejectCode::RateLimited);
        }
        let room = self.rooms.get(rkey).ok_or(HubError::UnknownRoom)?;
        if let Some(owner) = room.owner {
            self.forward_input(owner, key, req, now);
            return Ok(None);
        }
        let (id, user) = (s.cold.id.clone(), s.cold.caps.user.clone());
        let input = RoomInput {
            session: &id,
            user: &user,
            request: req.request,
            verdict: None,
            data: req.data.as_bytes(),
            received_at: now,
        };
        Ok(Some(self.judge_in_room(rkey, req.round, input, now)))
    }

    /// Where the room runs: the timeline at the input's arrival time, then
    /// the room's logic.
    pub(super) fn judge_in_room(
        &mut self,
        rkey: Key,
        round: Option<u32>,
        input: RoomInput<'_>,
        now: Instant,
    ) -> InputOutcome {
        let timeline = self.rooms.get(rkey).and_then(|r| r.timeline.as_ref());
        let verdict = match timeline.map(|t| t.judge(input.received_at, round)) {
            Some(Err(code)) => return InputOutcome::Rejected(code),
            Some(Ok(v)) => Some(v),
            None => None,
        };
        let input = RoomInput { verdict, ..input };
        let judged = self.with_logic(rkey, now, |logic, ctx| logic.on_input(ctx, &input));
        match judged {
            Some(Err(code)) => InputOutcome::Rejected(code),
            _ => InputOutcome::Accepted,
        }
    }
}
