//! Putting frames into queues: live fan-out, catch-up from history, lossy
//! gaps, targeted and control frames.

use super::config::Reliability;
use super::conns::Conns;
use super::fifo::Fifo;
use super::frame::{Codec, Encoded, Frame};
use super::queue::{Entry, GAP_COST, Tag};
use super::session::Session;
use super::slab::Key;
use super::store::Store;
use super::{CloseCode, ConnId, Hub, HubOutput};
use crate::proto::{Deliver, Payload, ServerMsg, Topic};
use crate::time::Instant;

/// Appends `entry` to the session's queue, waking its connection when the
/// queue was empty.
pub(super) fn enqueue(
    s: &mut Session,
    entry: Entry,
    store: &mut Store,
    outputs: &mut Fifo<HubOutput>,
) -> Result<(), Entry> {
    let was_empty = s.queue.is_empty();
    s.queue.push(store, entry)?;
    if let (true, Some(conn)) = (was_empty, s.conn()) {
        outputs.push_back(HubOutput::Wake(conn));
    }
    Ok(())
}

/// Asks for `conn` to be closed, once.
pub(super) fn close_conn(
    conns: &mut Conns,
    outputs: &mut Fifo<HubOutput>,
    conn: ConnId,
    code: CloseCode,
) {
    if let Some(c) = conns.get_mut(&conn).filter(|c| !c.closing) {
        c.closing = true;
        outputs.push_back(HubOutput::Close { conn, code });
    }
}

/// Closes the connection of session `s`, if any, as a slow consumer: it has
/// not read even its control reserve.
pub(super) fn close_slow(s: &Session, conns: &mut Conns, outputs: &mut Fifo<HubOutput>) {
    if let Some(conn) = s.conn() {
        close_conn(conns, outputs, conn, CloseCode::SlowConsumer);
    }
}

impl Hub {
    /// Queues a frame that is not a topic delivery. A session whose queue is
    /// full has fallen behind: its connection is closed (`slow_consumer`) and
    /// the frame is dropped; what it carried is recovered on resume (answers
    /// by resending the request, presence and phase by the resume snapshot).
    pub(super) fn push_other(&mut self, key: Key, frame: Frame) -> bool {
        self.push_control(key, frame, Tag::Other)
    }

    /// [`push_other`](Hub::push_other) for a frame tagged `tag`.
    pub(super) fn push_control(&mut self, key: Key, frame: Frame, tag: Tag) -> bool {
        let Some(s) = self.sessions.get_mut(key) else {
            return false;
        };
        let entry = Entry::Frame { frame, tag };
        if enqueue(s, entry, &mut self.store, &mut self.outputs).is_ok() {
            return true;
        }
        close_slow(s, &mut self.conns, &mut self.outputs);
        false
    }

    /// Queues one message to every session in `keys`, encoded once per format.
    pub(super) fn push_shared(&mut self, keys: &[Key], msg: &ServerMsg<'_>) {
        let mut encoded = Encoded::default();
        for &key in keys {
            let Some(codec) = self.sessions.get(key).map(|s| s.codec) else {
                continue;
            };
            let frame = encoded.get(codec, || msg.clone()).clone();
            self.push_other(key, frame);
        }
    }

    /// Queues a targeted delivery on the session's inbox, numbered in its own
    /// sequence (a dropped one leaves a visible hole in the offsets).
    pub(super) fn push_inbox(&mut self, key: Key, data: &[u8]) {
        let inbox = Topic::try_from(self.config.inbox).unwrap_or_default();
        let epoch = self.epoch;
        let Some(s) = self.sessions.get_mut(key) else {
            return;
        };
        let offset = s.cold.inbox_next;
        s.cold.inbox_next += 1;
        let msg = ServerMsg::Deliver(Deliver {
            topic: inbox,
            epoch,
            offset,
            at: None,
            data: Payload::new(data),
        });
        let frame = Frame::encode(&msg, s.codec);
        self.push_other(key, frame);
    }

    /// Delivers the topic's newest message (at `offset`) to every subscriber
    /// that is live on it, encoding it at most once per format. The message
    /// is kept once per format in the store and each recipient's queue
    /// takes its index: per recipient, the fan-out reads and writes its
    /// 16-byte entry of the topic's list and one line of its session.
    pub(super) fn fan_out(&mut self, tkey: Key, offset: u64, now: Instant) {
        let Hub {
            topics,
            sessions,
            conns,
            outputs,
            store,
            ..
        } = self;
        let Some(topic) = topics.get_mut(tkey) else {
            return;
        };
        // Moved out and back so that the message can be borrowed meanwhile;
        // moving a vector does not allocate.
        let mut subscribers = core::mem::take(&mut topic.subscribers);
        let (name, epoch, reliability) =
            (topic.name.clone(), topic.epoch, topic.config.reliability);
        if let Some(msg) = topic.message(offset, now) {
            // The store's entry and its cost, per format, once encoded.
            let mut kept: [Option<(u32, u32)>; 2] = [None, None];
            for sub in subscribers.iter_mut() {
                if sub.next != offset {
                    // Catching up from history: the pump will reach `offset`.
                    continue;
                }
                let Some(s) = sessions.get_mut(sub.session) else {
                    continue;
                };
                let format = usize::from(s.codec == Codec::Postcard);
                let (index, cost) = *kept[format].get_or_insert_with(|| {
                    let frame = msg.frame(&name, epoch, s.codec).clone();
                    let tag = Tag::Deliver {
                        topic: tkey,
                        offset,
                    };
                    let index = store.keep(Entry::Frame { frame, tag });
                    (index, store.cost(index))
                });
                // A pending gap must go first; only a session catching up
                // can have one.
                let gap = if s.catching_up {
                    let Some(sub) = s.sub(tkey) else {
                        continue;
                    };
                    sub.gap
                } else {
                    None
                };
                if gap.is_none() && s.queue.fits(store, 1, cost as usize) {
                    store.hold(index);
                    let was_empty = s.queue.is_empty();
                    s.queue.push_held(index, cost);
                    if let (true, Some(conn)) = (was_empty, s.conn()) {
                        outputs.push_back(HubOutput::Wake(conn));
                    }
                    sub.next = offset + 1;
                    continue;
                }
                match reliability {
                    // `next` stays at `offset`: the subscription catches up
                    // from history once the session drains (after resuming).
                    Reliability::Reliable => {
                        s.catching_up = true;
                        if let Some(conn) = s.conn() {
                            close_conn(conns, outputs, conn, CloseCode::SlowConsumer);
                        }
                    }
                    Reliability::Lossy => {
                        let frame = msg.frame(&name, epoch, s.codec).clone();
                        lossy_place(s, tkey, offset, frame, store, outputs);
                        sub.next = offset + 1;
                    }
                }
            }
            for (index, _) in kept.into_iter().flatten() {
                store.forget_unheld(index);
            }
        }
        topic.subscribers = subscribers;
        topic.after_fanout();
    }
}

/// Places a lossy delivery of `tkey` that does not fit, or that must follow
/// a pending gap: the topic's older queued messages are dropped in favour of
/// the newest, and the dropped offsets are announced by one `gap` frame
/// before it. The caller moves the subscription past `offset`.
fn lossy_place(
    s: &mut Session,
    tkey: Key,
    offset: u64,
    frame: Frame,
    store: &mut Store,
    outputs: &mut Fifo<HubOutput>,
) {
    let full = !s.queue.fits(store, 1, frame.len());
    let dropped = if full {
        s.queue.remove_topic(store, tkey)
    } else {
        None
    };
    let pending = s.sub(tkey).and_then(|sub| sub.gap).map(|(from, _)| from);
    let from = [dropped, pending, Some(offset)]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(offset);
    let sub_gap = if from < offset && s.queue.fits(store, 2, GAP_COST + frame.len()) {
        let _ = enqueue(
            s,
            Entry::Gap {
                topic: tkey,
                from,
                to: offset,
            },
            store,
            outputs,
        );
        let tag = Tag::Deliver {
            topic: tkey,
            offset,
        };
        let _ = enqueue(s, Entry::Frame { frame, tag }, store, outputs);
        None
    } else if from == offset && s.queue.fits(store, 1, frame.len()) {
        let tag = Tag::Deliver {
            topic: tkey,
            offset,
        };
        let _ = enqueue(s, Entry::Frame { frame, tag }, store, outputs);
        None
    } else if enqueue(
        s,
        Entry::Gap {
            topic: tkey,
            from,
            to: offset + 1,
        },
        store,
        outputs,
    )
    .is_ok()
    {
        None
    } else {
        Some((from, offset + 1))
    };
    s.catching_up |= sub_gap.is_some();
    if let Some(sub) = s.sub_mut(tkey) {
        sub.gap = sub_gap;
    }
}
