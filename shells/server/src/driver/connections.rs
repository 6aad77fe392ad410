//! What connections tell the hub (they open, send frames, finish a batch,
//! go) and what the hub tells them in turn: refusals, closes, and the
//! goodbye of a server shutting down.

use bytes::Bytes;
use onbeat_core::dispatch::hub::{Codec, ConnId, HubOutput};
use onbeat_core::proto::ErrorCode;

use super::{Conn, Connect, Driver, ToConn, ToHub};
use crate::close;

impl Driver {
    pub(super) fn on_message(&mut self, msg: ToHub) {
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

    pub(super) fn drain_outputs(&mut self) {
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
