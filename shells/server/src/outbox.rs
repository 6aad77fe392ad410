//! What the hub hands to connections' writer tasks (a close and the frames
//! still queued before it; batches are written by the hub's side, see
//! [`crate::direct`]), delivered in one go per pass.
//!
//! Waking a connection's writer may wake a sleeping executor thread. Done
//! per connection, a fan-out to a thousand subscribers could become a
//! ping-pong: the woken thread wrote one batch, slept, and was woken again
//! for the next connection. Instead the hub queues every message of a pass
//! here and signals once; a dispatcher task on the executor hands them to
//! the writers.

use std::sync::{Arc, Mutex};

use smol::channel::{Receiver, Sender};

use crate::driver::ToConn;
use crate::mailbox::Mailbox;
use crate::metrics::Metrics;

/// Messages for connections, queued by the hub.
#[derive(Default)]
pub(crate) struct Outbox {
    queue: Mutex<Vec<(Mailbox, ToConn)>>,
}

/// The hub's side: collects a pass's messages, then posts them.
pub(crate) struct Posting {
    outbox: Arc<Outbox>,
    pending: Vec<(Mailbox, ToConn)>,
    signal: Sender<()>,
}

impl Clone for Posting {
    /// Another hub's side of the same outbox, with nothing queued.
    fn clone(&self) -> Self {
        Posting {
            outbox: self.outbox.clone(),
            pending: Vec::new(),
            signal: self.signal.clone(),
        }
    }
}

impl Posting {
    /// Queues `msg` for the connection behind `mailbox`; it leaves at the
    /// next [`Posting::post`].
    pub(crate) fn push(&mut self, mailbox: &Mailbox, msg: ToConn) {
        self.pending.push((mailbox.clone(), msg));
    }

    /// Hands everything queued to the dispatcher, with one wake.
    pub(crate) fn post(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let was_empty = {
            let mut queue = self.outbox.queue.lock().unwrap_or_else(|e| e.into_inner());
            let was_empty = queue.is_empty();
            queue.append(&mut self.pending);
            was_empty
        };
        // A full signal channel means a wake is already on its way.
        if was_empty {
            let _ = self.signal.try_send(());
        }
    }
}

/// The two ends: the hub's [`Posting`] (cloned for each further hub), and
/// the dispatcher to run on the executor (it ends when every `Posting` is
/// dropped).
pub(crate) fn outbox(
    metrics: Arc<Metrics>,
) -> (Posting, impl Future<Output = ()> + Send + 'static) {
    let outbox = Arc::new(Outbox::default());
    let (signal, wake) = smol::channel::bounded(1);
    let posting = Posting {
        outbox: outbox.clone(),
        pending: Vec::new(),
        signal,
    };
    (posting, dispatch(outbox, wake, metrics))
}

async fn dispatch(outbox: Arc<Outbox>, wake: Receiver<()>, metrics: Arc<Metrics>) {
    let mut taken = Vec::new();
    while wake.recv().await.is_ok() {
        std::mem::swap(
            &mut taken,
            &mut *outbox.queue.lock().unwrap_or_else(|e| e.into_inner()),
        );
        for (mailbox, msg) in taken.drain(..) {
            // A writer that gave up (its peer reset) takes nothing more.
            let refused = mailbox.post(msg);
            metrics.hub_pulled_unwritten.dec_by(refused as i64);
        }
    }
}
