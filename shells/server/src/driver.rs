//! The hub's thread: one [`Hub`] driven by messages from connection tasks and
//! by its own timer.
//!
//! Connections never touch the hub. Their reader tasks send [`ToHub`]
//! messages over one channel; the hub answers each connection over its own
//! channel with [`ToConn`]. A connection has at most one batch in flight: the
//! hub pulls a batch (up to `write_batch_bytes`) when the connection's queue
//! wakes and its writer is idle, the writer writes it with one flush and says
//! [`ToHub::Written`], and only then is the next batch pulled. Frames that
//! arrive meanwhile wait in the hub's bounded queue, which is what makes a
//! slow reader a slow consumer instead of unbounded memory in the shell, and
//! what coalesces a burst into one write.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use onbeat_core::dispatch::hub::{Capabilities, Codec, ConnId, Frame, Hub, HubOutput};
use onbeat_core::proto::ErrorCode;
use smol::channel::{Receiver, Sender};

use crate::clock::ServerClock;
use crate::close;
use crate::metrics::Metrics;

/// A message from a connection to the hub.
pub(crate) enum ToHub {
    /// An authenticated connection opened; the hub talks back on `out`.
    Connect {
        conn: ConnId,
        caps: Capabilities,
        codec: Codec,
        out: Sender<ToConn>,
    },
    /// A data frame arrived.
    Frame { conn: ConnId, data: Bytes },
    /// The writer finished the batch it was given and can take another.
    Written { conn: ConnId },
    /// The connection is gone.
    Disconnect { conn: ConnId },
    /// Tell every client to go and stop taking new ones.
    Shutdown,
    /// End the thread.
    Stop,
}

/// A message from the hub to one connection's writer.
pub(crate) enum ToConn {
    /// Frames to write, then flush once and answer [`ToHub::Written`].
    Frames(Vec<Frame>),
    /// Write `last` (an `error` frame) if any, then close with `code`.
    Close {
        code: u16,
        reason: &'static str,
        last: Option<Bytes>,
    },
}

struct Conn {
    out: Sender<ToConn>,
    codec: Codec,
    /// Whether the writer is idle (no batch in flight).
    idle: bool,
}

/// Owns the hub and everything only the hub thread touches.
pub(crate) struct Driver {
    hub: Hub,
    clock: ServerClock,
    metrics: Arc<Metrics>,
    batch_bytes: usize,
    conns: HashMap<ConnId, Conn>,
    shutting_down: bool,
}

impl Driver {
    pub(crate) fn new(
        hub: Hub,
        clock: ServerClock,
        metrics: Arc<Metrics>,
        batch_bytes: usize,
    ) -> Self {
        Driver {
            hub,
            clock,
            metrics,
            batch_bytes,
            conns: HashMap::new(),
            shutting_down: false,
        }
    }

    /// Runs until [`ToHub::Stop`] or until every sender is gone.
    pub(crate) fn run(mut self, rx: Receiver<ToHub>) {
        smol::block_on(async move {
            loop {
                let deadline = self.hub.poll_timeout();
                let msg = match deadline {
                    Some(at) => {
                        let timer = async {
                            smol::Timer::at(self.clock.std_instant(at)).await;
                            None
                        };
                        smol::future::or(async { Some(rx.recv().await) }, timer).await
                    }
                    None => Some(rx.recv().await),
                };
                let mut next = msg;
                // Takes what else is waiting before looking at the clock and
                // the outputs again, so a burst costs one pass.
                for _ in 0..256 {
                    match next.take() {
                        Some(Ok(ToHub::Stop)) | Some(Err(_)) => return,
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
                        Ok(ToHub::Stop) | Err(_) => return,
                        Ok(m) => self.on_message(m),
                    }
                }
                let now = self.clock.now();
                if self.hub.poll_timeout().is_some_and(|at| at <= now) {
                    self.hub.handle_timeout(now);
                }
                self.drain_outputs();
                self.metrics
                    .hub_sessions
                    .set(self.hub.session_count() as i64);
                self.metrics.hub_timed.set(self.hub.timed_count() as i64);
            }
        });
    }

    fn on_message(&mut self, msg: ToHub) {
        let now = self.clock.now();
        match msg {
            ToHub::Connect {
                conn,
                caps,
                codec,
                out,
            } => {
                if self.shutting_down {
                    let last =
                        close::error_frame(codec, ErrorCode::ShuttingDown, "server stopping");
                    self.metrics.error("shutting_down");
                    let _ = out.try_send(close::shutting_down(last));
                    return;
                }
                if let Err(e) = self.hub.handle_connect(conn, caps, codec, now) {
                    let last = close::error_frame(codec, e.code(), &e.to_string());
                    self.metrics.error(e.code().as_str());
                    self.metrics.close("full");
                    let _ = out.try_send(ToConn::Close {
                        code: close::TRY_AGAIN_LATER,
                        reason: "full",
                        last: Some(last),
                    });
                    return;
                }
                self.conns.insert(
                    conn,
                    Conn {
                        out,
                        codec,
                        idle: true,
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
            ToHub::Written { conn } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.idle = true;
                }
                self.send_batch(conn);
            }
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
    }

    /// Gives an idle writer its next batch, if the hub has one.
    fn send_batch(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if !c.idle {
            return;
        }
        let mut batch = Vec::new();
        if self.hub.pull(conn, &mut batch, self.batch_bytes) == 0 {
            return;
        }
        c.idle = false;
        self.metrics.hub_pulled_unwritten.inc_by(batch.len() as i64);
        // A writer that is gone has its reader report the disconnect.
        let _ = c.out.try_send(ToConn::Frames(batch));
    }

    /// Hands the writer everything still queued, then the close; the hub
    /// forgets the connection (its session stays resumable).
    fn close(&mut self, conn: ConnId, code: u16, reason: &'static str, last: Option<Bytes>) {
        let now = self.clock.now();
        if let Some(c) = self.conns.remove(&conn) {
            let mut rest = Vec::new();
            while self.hub.pull(conn, &mut rest, usize::MAX) > 0 {}
            if !rest.is_empty() {
                self.metrics.hub_pulled_unwritten.inc_by(rest.len() as i64);
                let _ = c.out.try_send(ToConn::Frames(rest));
            }
            let _ = c.out.try_send(ToConn::Close { code, reason, last });
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
