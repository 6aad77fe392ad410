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

mod connections;
mod peers;
mod writing;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use onbeat_core::dispatch::hub::{Capabilities, Codec, ConnId, Frame, Hub};
use smol::channel::Receiver;

use crate::clock::ServerClock;
use crate::direct::{Job, Pool};
use crate::mailbox::Mailbox;
use crate::metrics::Metrics;
use crate::outbox::Posting;
use crate::socket::Socket;

pub(crate) use peers::{FromPeer, Peers};

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

/// What woke the hub's task.
enum Wake {
    Hub(Result<ToHub, smol::channel::RecvError>),
    /// Boxed: a peer message is several times larger than the others.
    Peer(Box<FromPeer>),
    Timer,
}

/// Messages taken from one channel in one pass, at most: the hub shares its
/// thread with connections.
const PASS: usize = 256;

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
}
