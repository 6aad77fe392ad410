//! The clients' shell: the str0m rule on each `ClientSession`, connecting,
//! closing, and the segments of every connection on the wire.

use onbeat_core::Duration;
use onbeat_core::dispatch::{ClientError, ClientEvent, ClientOutput, Codec, StreamError};
use onbeat_core::proto::codec::{encode_json, encode_postcard};
use onbeat_core::proto::{ClientMsg, DecodeError, ServerMsg};

use super::Tamper;
use super::checks::Check;
use super::model::Cx;
use super::params::CONNECT_FAIL;
use super::pipe::{Item, Pipe};
use super::witness::topic_index;
use super::world::{Conn, Seg, Timer, Up, World, conn_id};
use crate::log::Record;

impl World {
    /// The str0m rule on client `i`: every output acted on, then its timer armed.
    pub(super) fn drain_client(&mut self, i: usize) {
        let (mut connect, mut close) = (false, false);
        let now = self.sim.now();
        let World {
            sim,
            clients,
            conns,
            witness,
            ledger,
            v,
            n,
            tamper,
            tampered,
            seed,
            ..
        } = self;
        let client = &mut clients[i];
        let Some(session) = client.session.as_mut() else {
            return;
        };
        while let Some(out) = session.poll_output() {
            match out {
                ClientOutput::Connect => connect = true,
                ClientOutput::Close => close = true,
                ClientOutput::Send(msg) => {
                    let subscribe = match &msg {
                        ClientMsg::Subscribe(s) => topic_index(&s.topic).map(|t| (t, s.since)),
                        _ => None,
                    };
                    let bytes = if client.params.json {
                        encode_json(&msg).into_bytes()
                    } else {
                        let mut buf = [0u8; 1024];
                        // Client messages carry at most a topic and an 8-byte payload.
                        encode_postcard(&msg, &mut buf).expect("fits").to_vec()
                    };
                    let fields = [2, bytes.len() as u64];
                    sim.log().append(Record::Output, now, i as u64 + 1, &fields);
                    if let Some(k) = client.conn {
                        let size = bytes.len() as u32;
                        let item = Item::Frame(Up { bytes, subscribe });
                        let seq = conns[k as usize].up.push(item, size);
                        let seg = Seg {
                            conn: k,
                            down: false,
                            seq,
                        };
                        super::wire::send_segment(sim, n, i, seg, size, client.params.rto());
                    }
                }
                ClientOutput::Event(e) => {
                    // The mutation check's broken app wrapper loses one message.
                    let drop = *tamper == Tamper::DropEvent
                        && !*tampered
                        && now.as_micros() > 10_000_000
                        && matches!(
                            e,
                            ClientEvent::Delivered {
                                topic: "r/chat",
                                ..
                            }
                        );
                    *tampered |= drop;
                    if !drop {
                        let mut cx = Cx {
                            seed: *seed,
                            client: i,
                            now,
                            witness,
                            ledger: &ledger.borrow(),
                            v,
                            n,
                        };
                        client.model.event(&e, &mut cx);
                    }
                }
                _ => {}
            }
        }
        if close {
            self.client_close(i);
        }
        if connect {
            self.start_connect(i);
        }
        self.arm_client(i);
    }

    fn arm_client(&mut self, i: usize) {
        let now = self.sim.now();
        let c = &mut self.clients[i];
        let Some(deadline) = c.session.as_ref().and_then(|s| s.poll_timeout()) else {
            return;
        };
        let at = c.params.clock.true_at(deadline, now).unwrap_or(now);
        if c.armed != Some(at) {
            c.armed = Some(at);
            c.timer_gen += 1;
            self.sim.schedule(at, Timer::Client(i, c.timer_gen));
        }
    }

    fn start_connect(&mut self, i: usize) {
        let now = self.sim.now();
        let c = &mut self.clients[i];
        c.attempt += 1;
        if c.params.cut_at(now) {
            self.sim
                .schedule(now + CONNECT_FAIL, Timer::ConnectFailed(i, c.attempt));
        } else {
            // TCP and WebSocket handshakes: a round trip and a half.
            let rtt = c.params.base_rtt.as_micros();
            let at = now + Duration::from_micros(rtt + rtt / 2);
            self.sim.schedule(at, Timer::Connected(i, c.attempt));
        }
    }

    pub(super) fn connected(&mut self, i: usize) {
        let now = self.sim.now();
        if self.clients[i].params.cut_at(now) || self.clients[i].conn.is_some() {
            return self.connect_failed(i);
        }
        let k = self.conns.len() as u32;
        self.conns.push(Conn {
            client: i,
            up: Pipe::default(),
            down: Pipe::default(),
            hub_open: true,
            blocked: false,
        });
        self.n.connections += 1;
        let (caps, _) = World::caps(i);
        let codec = if self.clients[i].params.json {
            Codec::Json
        } else {
            Codec::Postcard
        };
        let hub_now = self.hub_now();
        if self
            .hub
            .handle_connect(conn_id(k), caps, codec, hub_now)
            .is_err()
        {
            self.conns[k as usize].hub_open = false;
            return self.connect_failed(i);
        }
        self.drain_hub();
        self.clients[i].conn = Some(k);
        let local = self.local(i);
        if let Some(s) = self.clients[i].session.as_mut() {
            let _ = s.handle_connected(local);
        }
        self.drain_client(i);
    }

    pub(super) fn connect_failed(&mut self, i: usize) {
        let local = self.local(i);
        if let Some(s) = self.clients[i].session.as_mut() {
            s.handle_disconnected(local);
        }
        self.drain_client(i);
    }

    /// The client closes its socket: the hub reads what was sent, then the end.
    pub(super) fn client_close(&mut self, i: usize) {
        let Some(k) = self.clients[i].conn.take() else {
            return;
        };
        let c = &mut self.conns[k as usize];
        c.down.kill();
        if c.up.open {
            let seq = c.up.push(Item::Fin, 0);
            self.transmit(k, false, seq, 0);
        }
        self.connect_failed(i);
    }

    /// The path has been cut for the keepalive timeout: both ends give up.
    pub(super) fn cut(&mut self, i: usize) {
        let Some(k) = self.clients[i].conn.take() else {
            return;
        };
        self.n.cut += 1;
        self.conns[k as usize].down.kill();
        self.hub_gone(k);
        self.drain_hub();
        self.connect_failed(i);
    }

    /// Client `i` reads what has arrived in order, unless its reads stall.
    pub(super) fn read_down(&mut self, i: usize) {
        let Some(k) = self.clients[i].conn else {
            return;
        };
        // True time stands still while one event is handled.
        let local = self.local(i);
        while self.clients[i].conn == Some(k) && !self.clients[i].stalled {
            let Some(item) = self.conns[k as usize].down.read() else {
                break;
            };
            match item {
                Item::Frame(down) => {
                    // Taken out while the message it lends is handled.
                    let mut decoded = std::mem::take(&mut self.decoded);
                    let json = self.clients[i].params.json;
                    let msg = decoded.get(&down.frame, json);
                    self.client_receive(i, msg, down.pulled_at, local);
                    self.decoded = decoded;
                }
                Item::Fin => {
                    self.clients[i].conn = None;
                    self.connect_failed(i);
                }
            }
        }
        let c = &mut self.conns[k as usize];
        if c.blocked && c.hub_open {
            c.blocked = false;
            self.write(k, false);
            self.drain_hub();
        }
    }

    fn client_receive(
        &mut self,
        i: usize,
        msg: Result<&ServerMsg<'_>, DecodeError>,
        pulled_at: onbeat_core::Instant,
        local: onbeat_core::Instant,
    ) {
        let now = self.sim.now();
        let Ok(msg) = msg else {
            return self.v.add(Check::Protocol, self.seed, Some(i), now, || {
                "undecodable frame".into()
            });
        };
        if let ServerMsg::Deliver(d) = msg {
            if let Some(at) = d.at.filter(|at| *at > pulled_at) {
                self.v.add(Check::Timed, self.seed, Some(i), now, || {
                    format!(
                        "{} offset {} due at {} left the hub at {}",
                        d.topic,
                        d.offset,
                        at.as_micros(),
                        pulled_at.as_micros()
                    )
                });
            }
            if self.tamper == Tamper::DropDelivery
                && !self.tampered
                && now.as_micros() > 10_000_000
                && d.topic == "r/chat"
            {
                self.tampered = true;
                return;
            }
        }
        let Some(s) = self.clients[i].session.as_mut() else {
            return;
        };
        if let Err(e) = s.handle_message(msg, local) {
            // Expected: frames in flight for a topic just left, and the
            // second answer to a request resent after a resume.
            let broken = !matches!(
                e,
                ClientError::Stream(StreamError::NotSubscribed)
                    | ClientError::UnknownRequest { .. }
                    | ClientError::UnexpectedMessage
            );
            if broken {
                self.v
                    .add(Check::Protocol, self.seed, Some(i), now, || format!("{e}"));
            }
        }
        self.drain_client(i);
    }
}
