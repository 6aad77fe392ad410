//! Putting frames into queues: live fan-out, catch-up from history, lossy
//! gaps, targeted and control frames.

use super::config::Reliability;
use super::conns::Conns;
use super::fifo::Fifo;
use super::frame::{Encoded, Frame};
use super::queue::{Entry, GAP_COST, Tag};
use super::session::{Session, Sub};
use super::slab::Key;
use super::{CloseCode, ConnId, Hub, HubOutput};
use crate::proto::{Deliver, Payload, ServerMsg, Topic};
use crate::time::Instant;

/// Appends `entry` to the session's queue, waking its connection when the
/// queue was empty.
pub(super) fn enqueue(
    s: &mut Session,
    entry: Entry,
    outputs: &mut Fifo<HubOutput>,
) -> Result<(), Entry> {
    let was_empty = s.queue.is_empty();
    s.queue.push(entry)?;
    if let (true, Some(conn)) = (was_empty, s.conn) {
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

impl Hub {
    /// Queues a frame that is not a topic delivery. A session whose queue is
    /// full has fallen behind: its connection is closed (`slow_consumer`) and
    /// the frame is dropped; what it carried is recovered on resume (answers
    /// by resending the request, presence and phase by the resume snapshot).
    pub(super) fn push_other(&mut self, key: Key, frame: Frame) -> bool {
        let Some(s) = self.sessions.get_mut(key) else {
            return false;
        };
        let entry = Entry::Frame {
            frame,
            tag: Tag::Other,
        };
        if enqueue(s, entry, &mut self.outputs).is_ok() {
            return true;
        }
        if let Some(conn) = s.conn {
            close_conn(
                &mut self.conns,
                &mut self.outputs,
                conn,
                CloseCode::SlowConsumer,
            );
        }
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
    /// that is live on it, encoding it at most once per format.
    pub(super) fn fan_out(&mut self, tkey: Key, offset: u64, now: Instant) {
        let Hub {
            topics,
            sessions,
            conns,
            outputs,
            ..
        } = self;
        let Some(topic) = topics.get_mut(tkey) else {
            return;
        };
        // Moved out and back so that the message can be borrowed meanwhile;
        // moving a vector does not allocate.
        let subscribers = core::mem::take(&mut topic.subscribers);
        let (name, epoch, reliability) =
            (topic.name.clone(), topic.epoch, topic.config.reliability);
        if let Some(msg) = topic.message(offset, now) {
            for &skey in &subscribers {
                let Some(s) = sessions.get_mut(skey) else {
                    continue;
                };
                let Some(i) = s.subs.iter().position(|sub| sub.topic == tkey) else {
                    continue;
                };
                let Sub { next, gap, .. } = s.subs[i];
                if next != offset {
                    // Catching up from history: the pump will reach `offset`.
                    continue;
                }
                let frame = msg.frame(&name, epoch, s.codec);
                if gap.is_none() && s.queue.fits(1, frame.len()) {
                    let was_empty = s.queue.is_empty();
                    s.queue.push_fitting(Entry::Frame {
                        frame: frame.clone(),
                        tag: Tag::Deliver {
                            topic: tkey,
                            offset,
                        },
                    });
                    if let (true, Some(conn)) = (was_empty, s.conn) {
                        outputs.push_back(HubOutput::Wake(conn));
                    }
                    s.subs[i].next = offset + 1;
                    continue;
                }
                match reliability {
                    // `next` stays at `offset`: the subscription catches up
                    // from history once the session drains (after resuming).
                    Reliability::Reliable => {
                        s.catching_up = true;
                        if let Some(conn) = s.conn {
                            close_conn(conns, outputs, conn, CloseCode::SlowConsumer);
                        }
                    }
                    Reliability::Lossy => lossy_place(s, i, offset, frame.clone(), outputs),
                }
            }
        }
        topic.subscribers = subscribers;
        topic.after_fanout();
    }
}

/// Places a lossy delivery that does not fit, or that must follow a pending
/// gap: the topic's older queued messages are dropped in favour of the newest,
/// and the dropped offsets are announced by one `gap` frame before it.
/// `i` indexes the topic's subscription in `s.subs`.
fn lossy_place(
    s: &mut Session,
    i: usize,
    offset: u64,
    frame: Frame,
    outputs: &mut Fifo<HubOutput>,
) {
    let tkey = s.subs[i].topic;
    let full = !s.queue.fits(1, frame.len());
    let dropped = if full {
        s.queue.remove_topic(tkey)
    } else {
        None
    };
    let pending = s.subs[i].gap.map(|(from, _)| from);
    let from = [dropped, pending, Some(offset)]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(offset);
    let sub_gap = if from < offset && s.queue.fits(2, GAP_COST + frame.len()) {
        let _ = enqueue(
            s,
            Entry::Gap {
                topic: tkey,
                from,
                to: offset,
            },
            outputs,
        );
        let tag = Tag::Deliver {
            topic: tkey,
            offset,
        };
        let _ = enqueue(s, Entry::Frame { frame, tag }, outputs);
        None
    } else if from == offset && s.queue.fits(1, frame.len()) {
        let tag = Tag::Deliver {
            topic: tkey,
            offset,
        };
        let _ = enqueue(s, Entry::Frame { frame, tag }, outputs);
        None
    } else if enqueue(
        s,
        Entry::Gap {
            topic: tkey,
            from,
            to: offset + 1,
        },
        outputs,
    )
    .is_ok()
    {
        None
    } else {
        Some((from, offset + 1))
    };
    s.catching_up |= sub_gap.is_some();
    s.subs[i].gap = sub_gap;
    s.subs[i].next = offset + 1;
}
