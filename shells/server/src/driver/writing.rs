//! Writing a connection's queue to its socket, one batch in flight at a
//! time: the hub takes the turn, pulls a batch and writes it at the end of
//! the pass (see [`crate::direct`]), then pulls the next for connections
//! that took the last one whole.

use async_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use onbeat_core::dispatch::hub::{Codec, ConnId, Frame};

use super::Driver;
use crate::direct::Job;

/// The WebSocket frame type of a codec's frames.
fn opcode(codec: Codec) -> OpCode {
    OpCode::Data(match codec {
        Codec::Postcard => Data::Binary,
        _ => Data::Text,
    })
}

impl Driver {
    /// Takes the turn to write to `conn` and its next batch, if the hub
    /// has one; it is written at the end of the pass (see
    /// [`Pool`](crate::direct::Pool)).
    pub(super) fn send_batch(&mut self, conn: ConnId) {
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
    pub(super) fn write(&mut self, here_only: bool) {
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
    pub(super) fn finish(&mut self) {
        self.write(true);
        self.posting.post();
    }

    /// The frames pulled so far, in a vector of their own.
    pub(super) fn take_pulled(&mut self) -> Vec<Frame> {
        self.pulled.drain(..).collect()
    }
}
