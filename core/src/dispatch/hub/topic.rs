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

#[derive(Debug)]
pub(crate) struct TopicState {
    pub(crate) name: Topic,
    pub(crate) config: TopicConfig,
    pub(crate) epoch: u64,
    /// The offset the next message gets.
    pub(crate) head: u64,
    history: VecDeque<Message>,
    /// Sessions subscribed, in subscription order.
    pub(crate) subscribers: Vec<Key>,
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

    /// Messages retained (for tests and memory accounting).
    pub(crate) fn retained(&self) -> usize {
        self.history.len()
    }
}
