//! What each client's app does: joins, then every U(2, 6) s one random act.

use onbeat_core::Duration;

use super::logic::{Kind, payload};
use super::params::{CURSOR, HEAL_SECS, QUIET_SECS, ROOM, TOPICS};
use super::witness::Witness;
use super::world::{Timer, World};

impl World {
    /// The app starts: follows each topic with probability ½ (at least one).
    pub(super) fn join(&mut self, i: usize) {
        let session = self.new_session(i);
        self.clients[i].session = Some(session);
        let first = self.sim.rng().range_u64(0, TOPICS.len() as u64 - 1) as usize;
        for t in 0..TOPICS.len() {
            if t == first || self.sim.rng().chance(0.5) {
                self.follow(i, t);
            }
        }
        self.drain_client(i);
        self.next_act(i);
    }

    fn next_act(&mut self, i: usize) {
        let wait = self.sim.rng().range_u64(2_000_000, 6_000_000);
        let at = self.sim.now() + Duration::from_micros(wait);
        self.sim.schedule(at, Timer::Act(i));
    }

    fn follow(&mut self, i: usize, t: usize) {
        let now = self.local(i);
        let c = &mut self.clients[i];
        let Some(s) = c.session.as_mut() else { return };
        let done = if Witness::lossy(t) {
            s.subscribe_lossy(TOPICS[t].0, now)
        } else {
            s.subscribe(TOPICS[t].0, now)
        };
        c.subs[t] |= done.is_ok();
    }

    /// One act, drawn: publish 25 %, timed publish 10 %, cursor 15 %,
    /// input 25 %, subscribe 10 %, unsubscribe 8 %, disconnect 7 % (the
    /// last three only in seeds with churn or disconnects, else nothing).
    pub(super) fn act(&mut self, i: usize) {
        let now = self.sim.now();
        if now.as_micros() >= QUIET_SECS * 1_000_000 {
            return;
        }
        let r = self.sim.rng().unit();
        let local = self.local(i);
        let server_now = self.hub_now();
        let ahead = Duration::from_micros(self.sim.rng().range_u64(50_000, 2_000_000));
        let pick = self.sim.rng().range_u64(0, TOPICS.len() as u64 - 1) as usize;
        let healing = now.as_micros() >= HEAL_SECS * 1_000_000;
        let (mix, c) = (self.mix, &mut self.clients[i]);
        let Some(s) = c.session.as_mut() else { return };
        c.seq += 1;
        let seq = c.seq;
        let me = i as u16;
        let mut disconnect = false;
        if r < 0.25 {
            if let Ok(id) = s.publish("r/chat", &payload(Kind::Chat, me, seq), None, local) {
                c.model.outstanding.insert(id, (false, seq));
                self.n.publishes += 1;
            }
        } else if r < 0.35 {
            let at = Some(server_now + ahead);
            if let Ok(id) = s.publish("r/chat", &payload(Kind::Timed, me, seq), at, local) {
                c.model.outstanding.insert(id, (false, seq));
                self.n.publishes += 1;
                self.n.timed += 1;
            }
        } else if r < 0.5 {
            let topic = TOPICS[CURSOR].0;
            if let Ok(id) = s.publish(topic, &payload(Kind::Cursor, me, seq), None, local) {
                c.model.outstanding.insert(id, (false, seq));
                self.n.publishes += 1;
            }
        } else if r < 0.75 {
            if let Ok(id) = s.input(ROOM, None, &payload(Kind::Input, me, seq), local) {
                c.model.outstanding.insert(id, (true, seq));
                self.n.inputs += 1;
            }
        } else if r < 0.85 {
            if mix.churn && !c.subs[pick] {
                self.follow(i, pick);
            }
        } else if r < 0.93 {
            // The app always follows one topic at least, so it stays in the room.
            let followed = c.subs.iter().filter(|f| **f).count();
            if mix.churn
                && c.subs[pick]
                && followed > 1
                && s.unsubscribe(TOPICS[pick].0, local).is_ok()
            {
                c.subs[pick] = false;
            }
        } else {
            disconnect = mix.disconnects && !healing;
        }
        if disconnect {
            self.client_close(i);
        }
        self.drain_client(i);
        self.next_act(i);
    }
}
