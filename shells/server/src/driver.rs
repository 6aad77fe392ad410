//! The hub's task: one [`Hub`] driven by messages from connection tasks and
//! by its own timer, on the first executor thread (see [`crate::server`]).
//!
//! Connections never touch the hub. Their reader tasks send [`ToHub`]
//! messages over one channel. A connection has at most one batch in
//! flight: when its queue wakes and nobody is writing to its socket, the
//! hub takes the turn (see [`crate::turn`]), pulls a batch (up to
//! `write_batch_bytes`) and writes it at the end of the pass, straight to
//! the socket (see [`crate::direct`]); only then is the next batch pulled.
//! What the socket does not take at once goes to the connection's writer
//! task through its [`Mailbox`], as do closes. Whoever finds the hub wanted
//! the turn meanwhile says [`ToHub::Written`], so a quiet connection costs
//! no message at all. Frames that arrive meanwhile wait in the hub's
//! bounded queue, which is what makes a slow reader a slow consumer
//! instead of unbounded memory in the shell, and what coalesces a burst
//! into one write.

use std::collections::HashMap;
use std::sync::Arc;

use async_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

use bytes::Bytes;
use onbeat_core::dispatch::hub::{
    Capabilities, Codec, ConnId, Dest, Frame, Hub, HubOutput, PeerMsg, ShardId,
};
use onbeat_core::proto::ErrorCode;
use smol::channel::{Receiver, Sender};

use crate::clock::ServerClock;
use crate::close;
use crate::direct::{Job, Pool};
use crate::mailbox::Mailbox;
use crate::metrics::Metrics;
use crate::outbox::Posting;
use crate::socket::Socket;

/// A message from a connection to the hub.
pub(crate) enum ToHub {
    /// An authenticated connection opened. Boxed: it is rare and large, and
    /// every slot of the hub's channel is the size of the largest message.
    Connect(Box<Connect>),
    /// A data frame arrived.
    Frame { conn: ConnId, data: Bytes },
    /// The writer finished its batch after the hub had more for it.
    Written { conn: ConnId },
    /// The connection is gone.
    Disconnect { conn: ConnId },
    /// Tell every client to go and stop taking new ones.
    Shutdown,
    /// End the thread.
    Stop,
}

/// A connection that opened; the hub talks back through `mailbox`.
pub(crate) struct Connect {
    pub(crate) conn: ConnId,
    pub(crate) caps: Capabilities,
    pub(crate) codec: Codec,
    pub(crate) mailbox: Mailbox,
    pub(crate) socket: Socket,
}

/// A message for one connection's writer task.
pub(crate) enum ToConn {
    /// Frames to write once it has the turn (see [`crate::turn`]).
    Frames(Vec<Frame>),
    /// The rest of a batch a direct writer could not finish, from byte
    /// `skip` on (headers included), with the turn.
    Handed { frames: Vec<Frame>, skip: usize },
    /// Whole control frames from the connection's WebSocket layer (see
    /// [`crate::socket`]).
    Control(Vec<u8>),
    /// Write `last` (an `error` frame) if any, then close with `code`.
    Close {
        code: u16,
        reason: &'static str,
        last: Option<Bytes>,
    },
}

struct Conn {
    mailbox: Mailbox,
    codec: Codec,
    socket: Socket,
}

/// The WebSocket frame type of a codec's frames.
fn opcode(codec: Codec) -> OpCode {
    OpCode::Data(match codec {
        Codec::Postcard => Data::Binary,
        _ => Data::Text,
    })
}

/// What woke the hub's task.
enum Wake {
    Hub(Result<ToHub, smol::channel::RecvError>),
    /// Boxed: a peer message is several times larger than the others.
    Peer(Box<FromPeer>),
    Timer,
}

/// A message from another hub of the same server.
pub(crate) type FromPeer = (ShardId, PeerMsg);

/// Messages taken from one channel in one pass, at most: the hub shares its
/// thread with connections.
const PASS: usize = 256;

/// A hub's links to the server's other hubs (see the core's `Shards` in
/// `docs/dispatch.md`): one FIFO channel into each hub, so that what one
/// hub tells another arrives in the order it was said. Unbounded, as a hub
/// that waited for room in another's channel could wait on one waiting for
/// it; what flows is bounded by the clients' rate limits.
pub(crate) struct Peers {
    /// This hub's place.
    pub(crate) me: ShardId,
    /// Every hub's channel, by index (this hub's own unused).
    pub(crate) to: Vec<Sender<FromPeer>>,
    /// This hub's channel.
    pub(crate) from: Receiver<FromPeer>,
}

/// Owns the hub and everything only the hub task touches.
pub(crate) struct Driver {
    hub: Hub,
    clock: ServerClock,
    metrics: Arc<Metrics>,
    batch_bytes: usize,
    conns: HashMap<ConnId, Conn>,
    posting: Posting,
    /// What [`Hub::pull`] fills, reused.
    pulled: Vec<Frame>,
    /// The batches of this pass, written at its end.
    jobs: Vec<Job>,
    /// Connections the hub has more for once their batch is written.
    again: Vec<ConnId>,
    pool: Pool,
    peers: Option<Peers>,
    /// What this hub last added to the server's session and timed gauges,
    /// which every hub adds to.
    counted: (i64, i64),
    shutting_down: bool,
}

impl Driver {
    pub(crate) fn new(
        hub: Hub,
        clock: ServerClock,
        metrics: Arc<Metrics>,
        batch_bytes: usize,
        posting: Posting,
        pool: Pool,
        peers: Option<Peers>,
    ) -> Self {
        Driver {
            hub,
            clock,
            metrics,
            batch_bytes,
            conns: HashMap::new(),
            posting,
            pulled: Vec::new(),
            jobs: Vec::new(),
            again: Vec::new(),
            pool,
            peers,
            counted: (0, 0),
            shutting_down: false,
        }
    }

    /// Runs until [`ToHub::Stop`] or until every sender is gone.
    pub(crate) async fn run(mut self, rx: Receiver<ToHub>) {
        // One timer, moved only when the hub's deadline moves: arming a
        // reactor timer is a system call.
        let mut timer = smol::Timer::never();
        let mut armed = None;
        // A lone hub's peer channel never has anything (and never closes).
        let no_peers = smol::channel::unbounded::<FromPeer>();
        loop {
            let deadline = self.hub.poll_timeout();
            if deadline != armed {
                match deadline {
                    Some(at) => timer.set_at(self.clock.std_instant(at)),
                    None => timer = smol::Timer::never(),
                }
                armed = deadline;
            }
            let from_peers = self.peers.as_ref().map_or(&no_peers.1, |p| &p.from);
            let woken = smol::future::or(
                smol::future::or(async { Wake::Hub(rx.recv().await) }, async {
                    match from_peers.recv().await {
                        Ok(m) => Wake::Peer(Box::new(m)),
                        // Every hub holds its own sender: never closed.
                        Err(_) => std::future::pending().await,
                    }
                }),
                async {
                    (&mut timer).await;
                    Wake::Timer
                },
            )
            .await;
            let mut next = match woken {
                Wake::Hub(m) => Some(m),
                Wake::Peer(m) => {
                    self.on_peer(*m);
                    None
                }
                Wake::Timer => {
                    // Fired: a timer fires once, so re-arm next time round.
                    armed = None;
                    None
                }
            };
            // Takes what else is waiting before looking at the clock and
            // the outputs again, so a burst costs one pass.
            for _ in 0..PASS {
                match next.take() {
                    Some(Ok(ToHub::Stop)) | Some(Err(_)) => return self.finish(),
                    Some(Ok(m)) => self.on_message(m),
                    None => {}
                }
                match rx.try_recv() {
                    Ok(m) => next = Some(Ok(m)),
                    Err(_) => break,
                }
            }
            if let Some(m) = next {
                match m {
                    Ok(ToHub::Stop) | Err(_) => return self.finish(),
                    Ok(m) => self.on_message(m),
                }
            }
            for _ in 0..PASS {
                let Some(Ok(m)) = self.peers.as_ref().map(|p| p.from.try_recv()) else {
                    break;
                };
                self.on_peer(m);
            }
            let now = self.clock.now();
            if self.hub.poll_timeout().is_some_and(|at| at <= now) {
                self.hub.handle_timeout(now);
            }
            self.drain_outputs();
            self.write(false);
            self.posting.post();
            self.count();
            // The hub shares its thread with connections: let them run
            // between passes even when more messages wait.
            smol::future::yield_now().await;
        }
    }

    fn on_peer(&mut self, (from, msg): FromPeer) {
        let now = self.clock.now();
        if let Err(e) = self.hub.handle_peer(from, msg, now) {
            tracing::debug!(from = from.0, error = %e, "peer message refused");
        }
        self.metrics.peer_messages_in.inc();
    }

    /// Takes in everything other hubs have said so far, and tells them what
    /// that made this hub say.
    pub(crate) fn take_from_peers(&mut self) {
        while let Some(Ok(m)) = self.peers.as_ref().map(|p| p.from.try_recv()) {
            self.on_peer(m);
        }
        self.tell_peers();
    }

    /// Sends what the hub has for its peers, each message to each
    /// destination in the order polled.
    pub(crate) fn tell_peers(&mut self) {
        let Some(peers) = &self.peers else {
            return;
        };
        while let Some((dest, msg)) = self.hub.poll_peer() {
            match dest {
                Dest::Shard(to) => {
                    if let Some(tx) = peers.to.get(usize::from(to.0)) {
                        let _ = tx.try_send((peers.me, msg));
                    }
                }
                _ => {
                    for (i, tx) in peers.to.iter().enumerate() {
                        if i != usize::from(peers.me.0) {
                            let _ = tx.try_send((peers.me, msg.clone()));
                        }
                    }
                }
            }
        }
    }

    /// Adds this hub's change of sessions and timed publishes to the
    /// server's gauges.
    fn count(&mut self) {
        let now = (
            self.hub.session_count() as i64,
            self.hub.timed_count() as i64,
        );
        self.metrics.hub_sessions.inc_by(now.0 - self.counted.0);
        self.metrics.hub_timed.inc_by(now.1 - self.counted.1);
        self.counted = now;
    }

    fn on_message(&mut self, msg: ToHub) {
        let now = self.clock.now();
        match msg {
            ToHub::Connect(connect) => {
                let Connect {
                    conn,
                    caps,
                    codec,
                    mailbox,
                    socket,
                } = *connect;
                if self.shutting_down {
                    let last =
                        close::error_frame(codec, ErrorCode::ShuttingDown, "server stopping");
                    self.metrics.error("shutting_down");
                    self.posting.push(&mailbox, close::shutting_down(last));
                    return;
                }
                if let Err(e) = self.hub.handle_connect(conn, caps, codec, now) {
                    let last = close::error_frame(codec, e.code(), &e.to_string());
                    self.metrics.error(e.code().as_str());
                    self.metrics.close("full");
                    self.posting.push(
                        &mailbox,
                        ToConn::Close {
                            code: close::TRY_AGAIN_LATER,
                            reason: "full",
                            last: Some(last),
                        },
                    );
                    return;
                }
                self.conns.insert(
                    conn,
                    Conn {
                        mailbox,
                        codec,
                        socket,
                    },
                );
            }
            ToHub::Frame { conn, data } => {
                if let Err(e) = self.hub.handle_frame(conn, &data, now) {
                    if self.conns.contains_key(&conn) {
                        self.metrics.error(e.code().as_str());
                    }
                }
            }
            ToHub::Written { conn } => self.send_batch(conn),
            ToHub::Disconnect { conn } => {
                self.conns.remove(&conn);
                self.hub.handle_disconnect(conn, now);
            }
            ToHub::Shutdown => self.shut_down(now),
            // Handled by the loop.
            ToHub::Stop => {}
        }
    }

    fn drain_outputs(&mut self) {
        while let Some(out) = self.hub.poll_output() {
            match out {
                HubOutput::Wake(conn) => self.send_batch(conn),
                HubOutput::Close { conn, code } => {
                    self.metrics.close(code.as_str());
                    self.close(conn, close::ws_code(code), code.as_str(), None);
                }
                _ => {}
            }
        }
        self.tell_peers();
    }

    /// Takes the turn to write to `conn` and its next batch, if the hub
    /// has one; it is written at the end of the pass (see [`Pool`]).
    fn send_batch(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        if !c.mailbox.turn().claim() {
            return;
        }
        if self.hub.pull(conn, &mut self.pulled, self.batch_bytes) == 0 {
            if c.mailbox.turn().release().waiting {
                c.mailbox.wake();
            }
            return;
        }
        // More than one batch was queued: no `Wake` comes for the rest (the
        // queue does not become non-empty again), so whoever writes this one
        // is to say when it is done.
        if self.hub.queued(conn).is_some_and(|(frames, _)| frames > 0) {
            c.mailbox.turn().want_more();
        }
        let job = Job {
            conn,
            mailbox: c.mailbox.clone(),
            socket: c.socket.clone(),
            opcode: opcode(c.codec),
            frames: self.take_pulled(),
        };
        self.metrics
            .hub_pulled_unwritten
            .inc_by(job.frames.len() as i64);
        self.jobs.push(job);
    }

    /// Writes the pass's batches, and the next batches of connections that
    /// took the last one whole, until none is left; all on this thread if
    /// `here_only`.
    fn write(&mut self, here_only: bool) {
        while !self.jobs.is_empty() {
            self.pool.write(&mut self.jobs, &mut self.again, here_only);
            let mut again = std::mem::take(&mut self.again);
            for conn in again.drain(..) {
                self.send_batch(conn);
            }
            self.again = again;
        }
    }

    /// The last pass: what it pulled is written and what it posted leaves.
    fn finish(&mut self) {
        self.write(true);
        self.posting.post();
    }

    /// The frames pulled so far, in a vector of their own.
    fn take_pulled(&mut self) -> Vec<Frame> {
        self.pulled.drain(..).collect()
    }

    /// Hands the writer everything still queued, then the close; the hub
    /// forgets the connection (its session stays resumable).
    fn close(&mut self, conn: ConnId, code: u16, reason: &'static str, last: Option<Bytes>) {
        let now = self.clock.now();
        if let Some(c) = self.conns.remove(&conn) {
            while self.hub.pull(conn, &mut self.pulled, usize::MAX) > 0 {}
            let rest = self.take_pulled();
            if !rest.is_empty() {
                self.metrics.hub_pulled_unwritten.inc_by(rest.len() as i64);
                self.posting.push(&c.mailbox, ToConn::Frames(rest));
            }
            self.posting
                .push(&c.mailbox, ToConn::Close { code, reason, last });
        }
        self.hub.handle_disconnect(conn, now);
    }

    fn shut_down(&mut self, now: onbeat_core::time::Instant) {
        self.shutting_down = true;
        self.hub.handle_timeout(now);
        self.drain_outputs();
        let conns: Vec<(ConnId, Codec)> = self.conns.iter().map(|(k, c)| (*k, c.codec)).collect();
        for (conn, codec) in conns {
            let last = close::error_frame(
                codec,
                ErrorCode::ShuttingDown,
                "server stopping; reconnect and resume",
            );
            self.metrics.error("shutting_down");
            self.metrics.close("shutting_down");
            self.close(conn, close::SERVICE_RESTART, "shutting_down", Some(last));
        }
    }
}
