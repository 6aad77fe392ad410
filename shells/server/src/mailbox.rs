//! How the hub reaches one connection's writer: a small queue of
//! [`ToConn`] messages with one waker, and the writer's busy flag.
//!
//! An `async-channel` did this before, at 1 KiB per connection whatever its
//! capacity (its queue is as large as its cache-padded variant); this is
//! the few fields a single reader with a handful of messages needs.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use futures_util::task::AtomicWaker;

use crate::driver::{ToConn, Writer};

struct Inner {
    queue: Mutex<VecDeque<ToConn>>,
    waker: AtomicWaker,
    /// Live [`Mailbox`] handles: the writer ends when none is left.
    senders: AtomicUsize,
    writer: Writer,
}

/// A handle that posts to one connection's writer; the writer ends once
/// every handle is dropped and the queue is empty.
pub(crate) struct Mailbox(Arc<Inner>);

/// The writer's end.
pub(crate) struct Inbox(Arc<Inner>);

/// A mailbox and its writer's end.
pub(crate) fn mailbox() -> (Mailbox, Inbox) {
    let inner = Arc::new(Inner {
        queue: Mutex::new(VecDeque::new()),
        waker: AtomicWaker::new(),
        senders: AtomicUsize::new(1),
        writer: Writer::default(),
    });
    (Mailbox(inner.clone()), Inbox(inner))
}

impl Mailbox {
    /// Queues `msg` for the writer.
    pub(crate) fn post(&self, msg: ToConn) {
        self.0
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(msg);
        self.0.waker.wake();
    }

    /// Whether the writer has a batch in flight.
    pub(crate) fn writer(&self) -> &Writer {
        &self.0.writer
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
                if next.is_some() {
                    return Poll::Ready(next);
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

    /// Whether the writer has a batch in flight.
    pub(crate) fn writer(&self) -> &Writer {
        &self.0.writer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_arrive_in_order_and_the_inbox_ends_with_the_last_handle() {
        let (mailbox, inbox) = mailbox();
        let other = mailbox.clone();
        mailbox.post(ToConn::Frames(vec![bytes::Bytes::from_static(b"a")]));
        other.post(ToConn::Frames(vec![bytes::Bytes::from_static(b"b")]));
        drop(mailbox);
        let frames = |m: Option<ToConn>| match m {
            Some(ToConn::Frames(f)) => f,
            _ => panic!("expected frames"),
        };
        smol::block_on(async {
            assert_eq!(frames(inbox.recv().await)[0], "a");
            assert_eq!(frames(inbox.recv().await)[0], "b");
            let waiting = smol::spawn(async move { inbox.recv().await.is_none() });
            smol::Timer::after(std::time::Duration::from_millis(10)).await;
            drop(other);
            assert!(waiting.await, "the inbox ends once every handle is gone");
        });
    }
}
