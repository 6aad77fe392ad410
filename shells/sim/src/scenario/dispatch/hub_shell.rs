//! The hub's shell: the str0m rule, socket writes by `pull`, closes, and
//! the witness connection.

use onbeat_core::dispatch::{Capabilities, CloseCode, Codec, HubOutput};
use onbeat_core::proto::codec::{decode_json, decode_postcard};
use onbeat_core::proto::{
    ClientMsg, Hello, MemberId, PROTOCOL_VERSION, ServerMsg, Subscribe, Topic,
};

use super::checks::Check;
use super::model::Cx;
use super::params::{SOCKET_BUFFER, TOPICS};
use super::pipe::Item;
use super::witness::topic_index;
use super::world::{Down, Up, WITNESS, World, conn_id};
use crate::log::Record;

impl World {
    /// Connects the witness and subscribes it to every topic.
    /// It asks for each topic from where it opened, so that what the room
    /// published before it subscribed is replayed to it.
    pub(super) fn open_witness(&mut self, opened: &[onbeat_core::proto::Position]) {
        let now = self.hub_now();
        let user = MemberId::try_from("witness").expect("short name");
        let caps = Capabilities::new(user).subscribe("*/*");
        // The witness is the hub's first connection: nothing can refuse it.
        self.hub
            .handle_connect(WITNESS, caps, Codec::Postcard, now)
            .expect("witness connects");
        let hello = ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            resume: None,
            auth: None,
        });
        let _ = self.hub.handle_message(WITNESS, hello, now);
        for ((name, _), since) in TOPICS.iter().zip(opened) {
            let topic = Topic::try_from(*name).expect("short topic name");
            let since = Some(*since);
            let sub = ClientMsg::Subscribe(Subscribe { topic, since });
            let _ = self.hub.handle_message(WITNESS, sub, now);
        }
        self.drain_hub();
    }

    /// The str0m rule: everything the hub asks, then its timer re-armed.
    pub(super) fn drain_hub(&mut self) {
        while let Some(out) = self.hub.poll_output() {
            match out {
                HubOutput::Wake(conn) if conn == WITNESS => self.read_witness(),
                HubOutput::Wake(conn) => self.write((conn.0 - 1) as u32, false),
                HubOutput::Close { conn, code } => self.closed(conn, code),
                _ => {}
            }
        }
        let Some(deadline) = self.hub.poll_timeout() else {
            return;
        };
        let now = self.sim.now();
        let at = match self.hub_placed {
            Some((d, at)) if d == deadline && at >= now => at,
            _ => {
                let placed = self.server.true_at(deadline, now);
                self.hub_placed = placed.map(|at| (deadline, at));
                placed.unwrap_or(now)
            }
        };
        if self.hub_armed != Some(at) {
            self.hub_armed = Some(at);
            self.hub_gen += 1;
            self.sim
                .schedule(at, super::world::Timer::Hub(self.hub_gen));
        }
    }

    fn read_witness(&mut self) {
        let now = self.hub_now();
        let mut batch = std::mem::take(&mut self.batch);
        while self.hub.pull(WITNESS, &mut batch, usize::MAX) > 0 {
            for frame in batch.drain(..) {
                match decode_postcard::<ServerMsg<'_>>(&frame) {
                    Ok(msg) => self.witness.see(&msg, now),
                    Err(e) => {
                        self.witness
                            .broken
                            .get_or_insert(format!("undecodable: {e:?}"));
                    }
                }
            }
        }
        self.batch = batch;
    }

    /// Writes what the hub queued for connection `k` while its socket has
    /// room (or everything, when `all`: the hub is closing it).
    pub(super) fn write(&mut self, k: u32, all: bool) {
        let id = conn_id(k);
        // True time stands still while one event is handled.
        let pulled_at = self.hub_now();
        let mut batch = std::mem::take(&mut self.batch);
        loop {
            let conn = &mut self.conns[k as usize];
            if !conn.hub_open {
                break;
            }
            let room = SOCKET_BUFFER.saturating_sub(conn.down.unread());
            if room == 0 && !all {
                conn.blocked = true;
                break;
            }
            let max = if all { usize::MAX } else { room };
            if self.hub.pull(id, &mut batch, max) == 0 {
                break;
            }
            let now = self.sim.now();
            self.sim
                .log()
                .append(Record::Output, now, 0, &[1, k as u64, batch.len() as u64]);
            for frame in batch.drain(..) {
                self.send_down(k, frame, pulled_at);
            }
        }
        self.batch = batch;
    }

    /// Puts one pulled frame on the wire; a `subscribed` is checked against
    /// the model here, where no loss can hide it.
    fn send_down(
        &mut self,
        k: u32,
        frame: onbeat_core::dispatch::Frame,
        pulled_at: onbeat_core::Instant,
    ) {
        let i = self.conns[k as usize].client;
        let json = self.clients[i].params.json;
        let is_subscribed = if json {
            frame.starts_with(b"{\"subscribed\"")
        } else {
            frame.first() == Some(&2)
        };
        if is_subscribed {
            let msg = if json {
                decode_json::<ServerMsg<'_>>(&frame)
            } else {
                decode_postcard::<ServerMsg<'_>>(&frame)
            };
            if let Ok(ServerMsg::Subscribed(s)) = msg
                && let Some(t) = topic_index(&s.topic)
            {
                let mut cx = Cx {
                    seed: self.seed,
                    client: i,
                    now: self.sim.now(),
                    witness: &self.witness,
                    ledger: &self.ledger.borrow(),
                    v: &mut self.v,
                    n: &mut self.n,
                };
                self.clients[i]
                    .model
                    .answered(t, s.recovered, s.reason, &mut cx);
            }
        }
        // Checked even when the client has closed its side: the answer is
        // lost with the socket, but it was given.
        if !self.conns[k as usize].down.open {
            return;
        }
        let size = frame.len() as u32;
        let seq = self.conns[k as usize]
            .down
            .push(Item::Frame(Down { frame, pulled_at }), size);
        self.transmit(k, true, seq, size);
    }

    /// The hub asked for connection `conn` to be closed: what is left is
    /// written, then the end of the stream, and the hub forgets it.
    fn closed(&mut self, conn: onbeat_core::dispatch::ConnId, code: CloseCode) {
        if conn == WITNESS {
            self.witness
                .broken
                .get_or_insert(format!("closed: {code:?}"));
            return;
        }
        if code == CloseCode::SlowConsumer {
            self.n.slow_consumer += 1;
        } else {
            self.n.other_closes += 1;
        }
        let k = (conn.0 - 1) as u32;
        self.write(k, true);
        let c = &mut self.conns[k as usize];
        if c.down.open {
            let seq = c.down.push(Item::Fin, 0);
            self.transmit(k, true, seq, 0);
        }
        self.hub_gone(k);
    }

    /// The hub's side of connection `k` is gone.
    pub(super) fn hub_gone(&mut self, k: u32) {
        let c = &mut self.conns[k as usize];
        if !c.hub_open {
            return;
        }
        c.hub_open = false;
        c.up.kill();
        let now = self.hub_now();
        self.hub.handle_disconnect(conn_id(k), now);
    }

    /// A frame from connection `k` reached the hub in order.
    pub(super) fn hub_receive(&mut self, k: u32, up: Up) {
        if !self.conns[k as usize].hub_open {
            return;
        }
        let now = self.hub_now();
        let i = self.conns[k as usize].client;
        if let Some((t, since)) = up.subscribe
            && let Some(session) = self.hub.session_of(conn_id(k))
        {
            let expect = since.is_some_and(|s| self.witness.recoverable(t, s, now));
            let session = session.as_str().to_string();
            self.clients[i].model.expect(&session, t, expect);
        }
        if let Err(e) = self.hub.handle_frame(conn_id(k), &up.bytes, now) {
            self.note_hub_error(i, e);
        }
        self.drain_hub();
    }

    fn note_hub_error(&mut self, i: usize, e: onbeat_core::dispatch::HubError) {
        use onbeat_core::dispatch::HubError;
        // Refusals a correct client can meet: the room's rate limits and
        // the timeline, which answer a request with its id.
        if matches!(e, HubError::RateLimited | HubError::TimedFull) {
            return;
        }
        let now = self.sim.now();
        self.v.add(Check::Protocol, self.seed, Some(i), now, || {
            format!("the hub refused a client frame: {e:?}")
        });
    }
}
