//! A topic: its position, its bounded history and its subscribers.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::config::TopicConfig;
use super::frame::{Codec, Encoded, Frame};
use super::slab::Key;
use crate::proto::{Deliver, NotRecovered, Payload, Position, ServerMsg, Topic};
use crate::time::Instant;

/// One published message, as kept for recovery.
#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) offset: u64,
    pub(crate) published: Instant,
    pub(crate) at: Option<Instant>,
    pub(crate) data: Arc<[u8]>,
    /// The `deliver` frame, encoded at most once per format over its life.
    pub(crate) frames: Encoded,
}

impl Message {
    /// The `deliver` frame of this message on `topic` in `codec`.
    #[inline]
    pub(crate) fn frame(&mut self, topic: &Topic, epoch: u64, codec: Codec) -> &Frame {
        let (offset, at, data) = (self.offset, self.at, &self.data);
        self.frames.get(codec, || {
            ServerMsg::Deliver(Deliver {
                topic: topic.clone(),
                epoch,
                offset,
                at,
                data: Payload::new(data),
            })
        })
    }
}

/// One subscriber as the fan-out sees it: 16 bytes in a dense list, so that
/// a publish to thousands walks contiguous memory and reads no session that
/// is not live on the topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Subscriber {
    pub(crate) session: Key,
    /// The next offset to queue to it. Below the topic's head the
    /// subscription is catching up from history and live messages are not
    /// queued directly.
    pub(crate) next: u64,
}

#[derive(Debug)]
pub(crate) struct TopicState {
    pub(crate) name: Topic,
    pub(crate) config: TopicConfig,
    pub(crate) epoch: u64,
    /// The offset the next message gets.
    pub(crate) head: u64,
    history: VecDeque<Message>,
    /// Sessions subscribed, in subscription order.
    pub(crate) subscribers: Vec<Subscriber>,
    /// The open room this topic belongs to, if any.
    pub(crate) room: Option<Key>,
}

impl TopicState {
    pub(crate) fn new(name: Topic, config: TopicConfig, epoch: u64, room: Option<Key>) -> Self {
        TopicState {
            name,
            config,
            epoch,
            head: 0,
            history: VecDeque::with_capacity(config.history.min(1024)),
            subscribers: Vec::new(),
            room,
        }
    }

    pub(crate) fn position(&self) -> Position {
        Position {
            epoch: self.epoch,
            offset: self.head,
        }
    }

    /// Appends a message and returns it (kept in history if the topic keeps
    /// any; the caller's copy otherwise).
    pub(crate) fn append(
        &mut self,
        data: Arc<[u8]>,
        at: Option<Instant>,
        now: Instant,
    ) -> Option<&mut Message> {
        let msg = Message {
            offset: self.head,
            published: now,
            at,
            data,
            frames: Encoded::default(),
        };
        self.head += 1;
        self.forget_old(now);
        if self.config.history == 0 {
            self.history.clear();
            self.scratch(msg);
            return self.history.back_mut();
        }
        if self.history.len() == self.config.history {
            self.history.pop_front();
        }
        self.history.push_back(msg);
        self.history.back_mut()
    }

    /// A live-only topic still needs its newest message while it fans out;
    /// it sits alone in the history until the next append clears it.
    fn scratch(&mut self, msg: Message) {
        self.history.push_back(msg);
    }

    /// Drops the live-only topic's scratch message once it has fanned out.
    pub(crate) fn after_fanout(&mut self) {
        if self.config.history == 0 {
            self.history.clear();
        }
    }

    /// Moves the head to `offset` past messages this topic never got (a
    /// replica's resync); the history goes, as it must stay contiguous.
    pub(crate) fn jump(&mut self, offset: u64) {
        self.history.clear();
        self.head = offset;
    }

    /// Forgets messages older than the configured age.
    pub(crate) fn forget_old(&mut self, now: Instant) {
        let age = self.config.history_age;
        while self
            .history
            .front()
            .is_some_and(|m| now.saturating_duration_since(m.published) > age)
        {
            self.history.pop_front();
        }
    }

    /// The retained message at `offset`.
    pub(crate) fn message(&mut self, offset: u64, now: Instant) -> Option<&mut Message> {
        self.forget_old(now);
        let first = self.history.front()?.offset;
        let index = usize::try_from(offset.checked_sub(first)?).ok()?;
        self.history.get_mut(index)
    }

    /// Where a subscriber who has everything before `since` resumes, or why
    /// it cannot: every message from the returned offset to the head is still
    /// retained, so the replay will be exact.
    pub(crate) fn recover(&mut self, since: Position, now: Instant) -> Result<u64, NotRecovered> {
        if since.epoch != self.epoch {
            return Err(NotRecovered::EpochChanged);
        }
        if since.offset > self.head {
            return Err(NotRecovered::Ahead);
        }
        if since.offset == self.head {
            return Ok(since.offset);
        }
        if self.config.history == 0 {
            return Err(NotRecovered::NoHistory);
        }
        self.forget_old(now);
        match self.history.front() {
            Some(first) if first.offset <= since.offset => Ok(since.offset),
            _ => Err(NotRecovered::TooOld),
        }
    }

    /// Adds a subscriber, last; returns where it is.
    pub(crate) fn add(&mut self, session: Key, next: u64) -> u32 {
        self.subscribers.push(Subscriber { session, next });
        // Subscribers are bounded by sessions times subscriptions, far
        // below u32::MAX.
        (self.subscribers.len() - 1) as u32
    }

    /// Where `session` is in the list, looked for from `hint` (updated):
    /// removals only move subscribers towards the front, so the search goes
    /// down from the hint, and on (for safety) up from it.
    #[inline]
    pub(crate) fn find(&self, session: Key, hint: &mut u32) -> Option<usize> {
        let list = &self.subscribers;
        let h = (*hint as usize).min(list.len().checked_sub(1)?);
        let found = (0..=h)
            .rev()
            .chain(h + 1..list.len())
            .find(|&i| list[i].session == session)?;
        // Below the list's length, which fits in u32 (see `add`).
        *hint = found as u32;
        Some(found)
    }

    /// The subscriber entry of `session`, found from `hint` (updated).
    #[inline]
    pub(crate) fn entry(&mut self, session: Key, hint: &mut u32) -> Option<&mut Subscriber> {
        let i = self.find(session, hint)?;
        self.subscribers.get_mut(i)
    }

    /// Removes `session` from the subscribers, keeping their order.
    pub(crate) fn remove(&mut self, session: Key, mut hint: u32) {
        if let Some(i) = self.find(session, &mut hint) {
            self.subscribers.remove(i);
        }
    }

    /// Messages retained (for tests and memory accounting).
    pub(crate) fn retained(&self) -> usize {
        self.history.len()
    }
}
