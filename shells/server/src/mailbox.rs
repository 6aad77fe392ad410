//! How the hub reaches one connection's writer task: a small queue of
//! [`ToConn`] messages with one waker, and the [`Turn`] to write. The
//! connection's WebSocket layer posts to the same queue through a
//! [`Control`] handle (see [`crate::socket`]).
//!
//! An `async-channel` did this before, at 1 KiB per connection whatever its
//! capacity (its queue is as large as its cache-padded variant); this is
//! the few fields a single reader with a handful of messages needs.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use futures_util::task::AtomicWaker;

use onbeat_core::dispatch::hub::Frame;

use crate::driver::ToConn;
use crate::turn::{Asked, Turn};

/// The most control bytes (pongs, a close reply) waiting for the writer.
/// Past it, a peer that pings without reading has its pongs dropped (RFC
/// 6455 §5.5.3 allows answering only the latest ping), rather than growing
/// the server's memory.
pub(crate) const CONTROL_LIMIT: usize = 1024;

struct Inner {
    queue: Mutex<VecDeque<ToConn>>,
    waker: AtomicWaker,
    /// Live [`Mailbox`] handles: the writer ends when none is left.
    senders: AtomicUsize,
    /// Control bytes posted and not yet taken by the writer.
    control: AtomicUsize,
    /// Whether a [`ToConn::Close`] was posted, and who waits to hear it.
    closing: AtomicBool,
    close_waker: AtomicWaker,
    /// Set once the writer task has given up: what is handed over after
    /// that is nobody's to write.
    gone: AtomicBool,
    turn: Turn,
    /// The hub that has the connection (its index among the server's
    /// hubs): where its reader and writer send. Set by the reader only.
    hub: AtomicU16,
}

/// A handle that posts to one connection's writer; the writer ends once
/// every handle is dropped and the queue is empty.
pub(crate) struct Mailbox(Arc<Inner>);

/// The writer's end.
pub(crate) struct Inbox(Arc<Inner>);

/// The connection's own handle: its WebSocket layer posts control bytes
/// with it, and its task learns of a close; it does not keep the writer
/// alive (it lives as long as the connection).
pub(crate) struct Control(Arc<Inner>);

/// A mailbox and its writer's end, for a connection first given to hub
/// number `hub`.
pub(crate) fn mailbox(hub: u16) -> (Mailbox, Inbox) {
    let inner = Arc::new(Inner {
        queue: Mutex::new(VecDeque::new()),
        waker: AtomicWaker::new(),
        senders: AtomicUsize::new(1),
        control: AtomicUsize::new(0),
        closing: AtomicBool::new(false),
        close_waker: AtomicWaker::new(),
        gone: AtomicBool::new(false),
        turn: Turn::default(),
        hub: AtomicU16::new(hub),
    });
    (Mailbox(inner.clone()), Inbox(inner))
}

impl Inner {
    /// Queues `msg`; if the writer task has given up, drops it instead and
    /// says how many frames it held.
    fn push(&self, msg: ToConn) -> usize {
        let close = matches!(msg, ToConn::Close { .. });
        let refused = {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            if self.gone.load(Ordering::Acquire) {
                frames_in(&msg)
            } else {
                queue.push_back(msg);
                0
            }
        };
        self.waker.wake();
        if close {
            self.closing.store(true, Ordering::Release);
            self.close_waker.wake();
        }
        refused
    }
}

/// How many of the hub's frames `msg` carries.
pub(crate) fn frames_in(msg: &ToConn) -> usize {
    match msg {
        ToConn::Frames(frames) | ToConn::Handed { frames, .. } => frames.len(),
        _ => 0,
    }
}

impl Mailbox {
    /// Queues `msg` for the writer. If the writer task has given up, `msg`
    /// is dropped: how many frames it held.
    pub(crate) fn post(&self, msg: ToConn) -> usize {
        self.0.push(msg)
    }

    /// A handle for the connection's WebSocket layer.
    pub(crate) fn control(&self) -> Control {
        Control(self.0.clone())
    }

    /// Whose turn it is to write to the socket.
    pub(crate) fn turn(&self) -> &Turn {
        &self.0.turn
    }

    /// The hub that has the connection.
    pub(crate) fn hub(&self) -> usize {
        usize::from(self.0.hub.load(Ordering::Acquire))
    }

    /// Gives the connection to hub number `hub` (below the hub count, which
    /// fits a `u16`).
    pub(crate) fn set_hub(&self, hub: usize) {
        self.0.hub.store(hub as u16, Ordering::Release);
    }

    /// A direct writer that could not write all of `frames` (the first
    /// `skip` bytes of the batch went out) hands the rest and the turn to
    /// the writer task. If that task has given up, the frames are dropped:
    /// `Err` with how many.
    pub(crate) fn hand_over(&self, frames: Vec<Frame>, skip: usize) -> Result<(), usize> {
        {
            let mut queue = self.0.queue.lock().unwrap_or_else(|e| e.into_inner());
            if self.0.gone.load(Ordering::Acquire) {
                return Err(frames.len());
            }
            // First: the rest of a frame partly written goes before
            // anything else on the stream.
            queue.push_front(ToConn::Handed { frames, skip });
            // Under the lock: the writer task must never see the rest
            // without the turn, nor the turn without the rest first.
            self.0.turn.hand_over();
        }
        self.0.waker.wake();
        Ok(())
    }

    /// Wakes the writer task (waiting for the turn).
    pub(crate) fn wake(&self) {
        self.0.waker.wake();
    }
}

impl Clone for Mailbox {
    fn clone(&self) -> Self {
        self.0.senders.fetch_add(1, Ordering::Relaxed);
        Mailbox(self.0.clone())
    }
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        if self.0.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.waker.wake();
        }
    }
}

impl Control {
    /// The hub that has the connection.
    pub(crate) fn hub(&self) -> usize {
        usize::from(self.0.hub.load(Ordering::Acquire))
    }

    /// Resolves once a [`ToConn::Close`] has been posted: from then on the
    /// connection has a bounded time to end, whether or not its peer reads.
    pub(crate) async fn closing(&self) {
        poll_fn(|cx| {
            if self.0.closing.load(Ordering::Acquire) {
                return Poll::Ready(());
            }
            self.0.close_waker.register(cx.waker());
            if self.0.closing.load(Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// Queues `bytes` (whole control frames) for the writer, unless
    /// [`CONTROL_LIMIT`] bytes are waiting already.
    pub(crate) fn post(&self, bytes: &[u8]) {
        let waiting = self.0.control.fetch_add(bytes.len(), Ordering::AcqRel);
        if waiting + bytes.len() > CONTROL_LIMIT {
            self.0.control.fetch_sub(bytes.len(), Ordering::AcqRel);
            return;
        }
        // Refused only once the writer has given up: nothing to count.
        let _ = self.0.push(ToConn::Control(bytes.to_vec()));
    }
}

impl Inbox {
    /// The next message; `None` once every [`Mailbox`] is gone and nothing
    /// is left.
    pub(crate) async fn recv(&self) -> Option<ToConn> {
        poll_fn(|cx| {
            for attempt in 0..2 {
                let next = {
                    let mut queue = self.0.queue.lock().unwrap_or_else(|e| e.into_inner());
                    let next = queue.pop_front();
                    // An idle connection keeps no queue: its capacity would
                    // outweigh everything else an idle connection holds.
                    if queue.is_empty() && queue.capacity() > 0 {
                        *queue = VecDeque::new();
                    }
                    next
                };
                if let Some(msg) = next {
                    if let ToConn::Control(bytes) = &msg {
                        self.0.control.fetch_sub(bytes.len(), Ordering::AcqRel);
                    }
                    return Poll::Ready(Some(msg));
                }
                if self.0.senders.load(Ordering::Acquire) == 0 {
                    return Poll::Ready(None);
                }
                // Registered, then checked again: a post in between wakes
                // the new waker or is seen by the second look.
                if attempt == 0 {
                    self.0.waker.register(cx.waker());
                }
            }
            Poll::Pending
        })
        .await
    }

    /// Whose turn it is to write to the socket.
    pub(crate) fn turn(&self) -> &Turn {
        &self.0.turn
    }

    /// The hub that has the connection.
    pub(crate) fn hub(&self) -> usize {
        usize::from(self.0.hub.load(Ordering::Acquire))
    }

    /// Waits for the turn to write: [`Asked::Taken`] or
    /// [`Asked::HandedOver`].
    pub(crate) async fn my_turn(&self) -> Asked {
        poll_fn(|cx| {
            // Registered first: a release in between finds the new waker.
            self.0.waker.register(cx.waker());
            match self.0.turn.ask() {
                Asked::Wait => Poll::Pending,
                asked => Poll::Ready(asked),
            }
        })
        .await
    }

    /// Puts `msg` back second in the queue, behind the rest of a batch
    /// handed over meanwhile.
    pub(crate) fn put_back(&self, msg: ToConn) {
        if let ToConn::Control(bytes) = &msg {
            // Waiting again: still counts toward the limit.
            self.0.control.fetch_add(bytes.len(), Ordering::AcqRel);
        }
        let mut queue = self.0.queue.lock().unwrap_or_else(|e| e.into_inner());
        let at = queue.len().min(1);
        queue.insert(at, msg);
    }

    /// Empties the queue of a writer that gives up, and refuses what is
    /// handed over later; how many frames the queue held.
    pub(crate) fn discard(&self) -> usize {
        let queue = {
            let mut queue = self.0.queue.lock().unwrap_or_else(|e| e.into_inner());
            self.0.gone.store(true, Ordering::Release);
            std::mem::take(&mut *queue)
        };
        queue.iter().map(frames_in).sum()
    }
}

#[cfg(test)]
mod tests;
