//! Running a room: its logic with a context, its actions, its timeline.

use super::peer_msg::{Dest, PeerMsg};
use super::room::{Action, RoomCtx, RoomLogic};
use super::slab::Key;
use super::{Deadline, Hub};
use crate::proto::{PhaseAnnounce, ServerMsg};
use crate::time::Instant;
use crate::timeline::TimelineEvent;

impl Hub {
    /// Runs the room's logic with a context; its actions are applied by
    /// [`Hub::apply_actions`].
    pub(super) fn with_logic<R>(
        &mut self,
        rkey: Key,
        now: Instant,
        f: impl FnOnce(&mut dyn RoomLogic, &mut RoomCtx<'_>) -> R,
    ) -> Option<R> {
        let room = self.rooms.get_mut(rkey)?;
        let mut logic = room.logic.take()?;
        let name = room.name.clone();
        let mut ctx = RoomCtx {
            room: &name,
            now,
            actions: &mut self.actions,
        };
        let result = f(logic.as_mut(), &mut ctx);
        if let Some(room) = self.rooms.get_mut(rkey) {
            room.logic = Some(logic);
        }
        Some(result)
    }

    /// Carries out what room logic asked for, in order.
    pub(super) fn apply_actions(&mut self, now: Instant) {
        let actions = core::mem::take(&mut self.actions);
        for action in actions {
            // An action naming what does not exist is dropped: the logic
            // asked for something that went away, which is not the sender's fault.
            let _ = match action {
                Action::Publish { topic, data, at } => {
                    self.publish(&topic, &data, at, now).map(drop)
                }
                Action::ToSession { session, data } => self.send_to_session(&session, &data),
                Action::ToUser { user, data } => {
                    self.send_to_user(&user, &data);
                    Ok(())
                }
                Action::ToRoom { room, data } => self.send_to_room(&room, &data).map(drop),
            };
        }
    }

    /// Lets the room's timeline reach `now`: announces upcoming phases to the
    /// room's members (on every shard), tells the logic of phases that begin, and re-arms.
    pub(super) fn run_timeline(&mut self, rkey: Key, now: Instant) {
        loop {
            let Some(room) = self.rooms.get_mut(rkey) else {
                return;
            };
            let Some(timeline) = room.timeline.as_mut() else {
                return;
            };
            timeline.handle_timeout(now);
            let Some(event) = timeline.poll_output() else {
                break;
            };
            match event {
                TimelineEvent::Upcoming(phase) => {
                    let msg = ServerMsg::Phase(PhaseAnnounce {
                        room: room.name.clone(),
                        phase,
                    });
                    let members = room.members.clone();
                    self.push_shared(&members, &msg);
                    if let (true, ServerMsg::Phase(a)) = (self.sharded(), msg) {
                        // The replicas' members hear it in the same instant.
                        let msg = PeerMsg::Phase {
                            room: a.room,
                            phase: a.phase,
                        };
                        self.send_peer(Dest::Others, msg);
                    }
                }
                TimelineEvent::Began(phase) => {
                    self.with_logic(rkey, now, |logic, ctx| logic.on_phase(ctx, &phase));
                    self.apply_actions(now);
                }
                _ => {}
            }
        }
        let Some(room) = self.rooms.get_mut(rkey) else {
            return;
        };
        if let Some(at) = room.deadline.take() {
            self.deadlines.remove(&(at, Deadline::Room(rkey)));
        }
        room.deadline = room.timeline.as_ref().and_then(|t| t.poll_timeout());
        if let Some(at) = room.deadline {
            self.deadlines.insert((at, Deadline::Room(rkey)));
        }
    }
}
