//! Inputs: judged once, answered once.

use super::frame::Frame;
use super::session::{Answer, Kind};
use super::slab::Key;
use super::{ConnId, Hub, HubError, RoomInput};
use crate::proto::{Input, InputOutcome, InputResult, RejectCode, ServerMsg};
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
            _ => match self.judge(key, req, now) {
                Ok(outcome) => outcome,
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
        if let Some(s) = self.sessions.get_mut(key) {
            s.cold
                .requests
                .put(Kind::Input, req.request, Answer::Input(outcome));
            let msg = ServerMsg::InputResult(InputResult {
                request: req.request,
                outcome,
            });
            let frame = Frame::encode(&msg, s.codec);
            self.push_other(key, frame);
        }
        self.apply_actions(now);
        Ok(())
    }

    /// Capabilities, rate, timeline, then the room's logic.
    fn judge(&mut self, key: Key, req: &Input<'_>, now: Instant) -> Result<InputOutcome, HubError> {
        let s = self.sessions.get_mut(key).ok_or(HubError::UnknownSession)?;
        let reject = |code| Ok(InputOutcome::Rejected(code));
        if !s.cold.caps.may_input(&req.room) {
            return reject(RejectCode::Forbidden);
        }
        let Some(&rkey) = self.room_names.get(req.room.as_str()) else {
            // Rooms are not sharded yet: one another shard runs is not
            // reachable from here, which the shell is told apart.
            return Err(self.no_room(&req.room));
        };
        if !s.cold.inputs.take(now) {
            return reject(RejectCode::RateLimited);
        }
        let room = self.rooms.get_mut(rkey).ok_or(HubError::UnknownRoom)?;
        let verdict = match room.timeline.as_ref().map(|t| t.judge(now, req.round)) {
            Some(Err(code)) => return reject(code),
            Some(Ok(v)) => Some(v),
            None => None,
        };
        let (id, user) = (s.cold.id.clone(), s.cold.caps.user.clone());
        let input = RoomInput {
            session: &id,
            user: &user,
            request: req.request,
            verdict,
            data: req.data.as_bytes(),
            received_at: now,
        };
        let judged = self.with_logic(rkey, now, |logic, ctx| logic.on_input(ctx, &input));
        Ok(match judged {
            Some(Err(code)) => InputOutcome::Rejected(code),
            _ => InputOutcome::Accepted,
        })
    }
}
