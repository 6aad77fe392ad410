//! Catching subscriptions up from history as their queue drains.
//!
//! A subscription whose next offset is below its topic's head (after a
//! `since`, a resume, or a slow-consumer close) is not fed live messages: the
//! pump feeds it from history, in order, as far as the queue has room, every
//! time the shell pulls. A replay longer than the queue therefore never
//! overflows it, and reaches the live edge without a hole or a repeat.

use super::fanout::enqueue;
use super::fifo::Fifo;
use super::frame::Frame;
use super::queue::{Entry, Tag};
use super::session::Session;
use super::slab::{Key, Slab};
use super::store::Store;
use super::topic::TopicState;
use super::{Hub, HubOutput};
use crate::proto::{NotRecovered, ServerMsg, Subscribed};
use crate::time::Instant;

impl Hub {
    /// Refills the session's queue from history for subscriptions that are
    /// behind, and queues pending gaps, until the queue is full.
    pub(super) fn pump(&mut self, key: Key, now: Instant) {
        let Hub {
            topics,
            sessions,
            outputs,
            store,
            ..
        } = self;
        let Some(s) = sessions.get_mut(key).filter(|s| s.catching_up) else {
            return;
        };
        let mut out = Out { store, outputs };
        for i in 0..s.cold.subs.len() {
            if !pump_one(key, s, i, topics, &mut out, now) {
                return;
            }
        }
        s.catching_up = false;
    }
}

/// Where queued entries go.
struct Out<'a> {
    store: &'a mut Store,
    outputs: &'a mut Fifo<HubOutput>,
}

/// Catches subscription `i` of session `key` up as far as the queue allows;
/// `false` once the queue is full.
fn pump_one(
    key: Key,
    s: &mut Session,
    i: usize,
    topics: &mut Slab<TopicState>,
    out: &mut Out<'_>,
    now: Instant,
) -> bool {
    let tkey = s.cold.subs[i].topic;
    if let Some((from, to)) = s.cold.subs[i].gap {
        let gap = Entry::Gap {
            topic: tkey,
            from,
            to,
        };
        if enqueue(s, gap, out.store, out.outputs).is_err() {
            return false;
        }
        s.cold.subs[i].gap = None;
    }
    let Some(topic) = topics.get_mut(tkey) else {
        return true;
    };
    let Some(at) = topic.find(key, &mut s.cold.subs[i].slot) else {
        return true;
    };
    // Read once: the topic does not change while it is replayed from.
    let (head, position, name, epoch) = (
        topic.head,
        topic.position(),
        topic.name.clone(),
        topic.epoch,
    );
    while topic.subscribers[at].next < head {
        let next = topic.subscribers[at].next;
        let entry = match topic.message(next, now) {
            Some(msg) => Entry::Frame {
                frame: msg.frame(&name, epoch, s.codec).clone(),
                tag: Tag::Deliver {
                    topic: tkey,
                    offset: next,
                },
            },
            None => {
                // The history moved on while this subscription caught up:
                // say so instead of skipping silently.
                let reason = if topic.config.history == 0 {
                    NotRecovered::NoHistory
                } else {
                    NotRecovered::TooOld
                };
                let msg = ServerMsg::Subscribed(Subscribed {
                    topic: name,
                    position,
                    recovered: false,
                    reason: Some(reason),
                });
                let frame = Frame::encode(&msg, s.codec);
                let tag = Tag::Subscribed { topic: tkey };
                if enqueue(s, Entry::Frame { frame, tag }, out.store, out.outputs).is_err() {
                    return false;
                }
                topic.subscribers[at].next = head;
                break;
            }
        };
        if enqueue(s, entry, out.store, out.outputs).is_err() {
            return false;
        }
        topic.subscribers[at].next = next + 1;
    }
    true
}
