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
            ..
        } = self;
        let Some(s) = sessions.get_mut(key).filter(|s| s.catching_up) else {
            return;
        };
        for i in 0..s.subs.len() {
            if !pump_one(s, i, topics, outputs, now) {
                return;
            }
        }
        s.catching_up = false;
    }
}

/// Catches subscription `i` up as far as the queue allows; `false` once the
/// queue is full.
fn pump_one(
    s: &mut Session,
    i: usize,
    topics: &mut Slab<TopicState>,
    outputs: &mut Fifo<HubOutput>,
    now: Instant,
) -> bool {
    let tkey = s.subs[i].topic;
    if let Some((from, to)) = s.subs[i].gap {
        if enqueue(
            s,
            Entry::Gap {
                topic: tkey,
                from,
                to,
            },
            outputs,
        )
        .is_err()
        {
            return false;
        }
        s.subs[i].gap = None;
    }
    let Some(topic) = topics.get_mut(tkey) else {
        return true;
    };
    while s.subs[i].next < topic.head {
        let (head, position, name, epoch) = (
            topic.head,
            topic.position(),
            topic.name.clone(),
            topic.epoch,
        );
        let next = s.subs[i].next;
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
                if enqueue(
                    s,
                    Entry::Frame {
                        frame,
                        tag: Tag::Other,
                    },
                    outputs,
                )
                .is_err()
                {
                    return false;
                }
                s.subs[i].next = head;
                break;
            }
        };
        if enqueue(s, entry, outputs).is_err() {
            return false;
        }
        s.subs[i].next = next + 1;
    }
    true
}
