//! What the app asks of the session.

use super::ClientSession;
use super::error::RequestError;
use super::pending::Ask;
use super::stream::TopicKind;
use crate::proto::{Position, RequestId, Room, Topic};
use crate::time::Instant;

impl<const SUBS: usize, const PENDING: usize, const PAYLOAD: usize>
    ClientSession<SUBS, PENDING, PAYLOAD>
{
    /// Follows a reliable topic: every message, in order, or a
    /// [`NotRecovered`](super::ClientEvent::NotRecovered) saying the app
    /// must resync. Sent now if a session is open, else once one is.
    pub fn subscribe(&mut self, topic: &str, now: Instant) -> Result<(), RequestError> {
        self.advance(now);
        self.follow(topic, TopicKind::Reliable, None)
    }

    /// Follows a reliable topic from `since`, a position the app kept from
    /// an earlier run (the offset after the last message it has). The answer
    /// is [`Recovered`](super::ClientEvent::Recovered) when the server replays
    /// everything after it, else
    /// [`NotRecovered`](super::ClientEvent::NotRecovered) with the reason.
    pub fn subscribe_since(
        &mut self,
        topic: &str,
        since: Position,
        now: Instant,
    ) -> Result<(), RequestError> {
        self.advance(now);
        self.follow(topic, TopicKind::Reliable, Some(since))
    }

    /// Follows a lossy topic: messages in order, with a
    /// [`Gap`](super::ClientEvent::Gap) for those dropped on the way.
    pub fn subscribe_lossy(&mut self, topic: &str, now: Instant) -> Result<(), RequestError> {
        self.advance(now);
        self.follow(topic, TopicKind::Lossy, None)
    }

    /// The inbox is followed from the start and cannot be asked for.
    fn follow(
        &mut self,
        topic: &str,
        kind: TopicKind,
        since: Option<Position>,
    ) -> Result<(), RequestError> {
        if topic == self.config.inbox {
            return Err(RequestError::AlreadySubscribed);
        }
        self.subs.add(topic, kind, since)
    }

    /// Stops following a topic. Deliveries already in flight are dropped.
    pub fn unsubscribe(&mut self, topic: &str, now: Instant) -> Result<(), RequestError> {
        self.advance(now);
        self.subs.remove(topic)
    }

    /// Publishes `data` to `topic`, to be applied at server time `at` if
    /// given. The payload is copied (at most `PAYLOAD` bytes) so that it can
    /// be sent again after a reconnect. Its outcome arrives as exactly one
    /// [`Published`](super::ClientEvent::Published) event with the returned id.
    pub fn publish(
        &mut self,
        topic: &str,
        data: &[u8],
        at: Option<Instant>,
        now: Instant,
    ) -> Result<RequestId, RequestError> {
        self.advance(now);
        let topic = Topic::try_from(topic).map_err(|_| RequestError::NameTooLong)?;
        self.pending.push(Ask::Publish { topic, at }, data)
    }

    /// Submits `data` to `room` for `round` (or whatever round is current).
    /// The payload is copied (at most `PAYLOAD` bytes) so that it can be sent
    /// again after a reconnect. Its outcome arrives as exactly one
    /// [`Input`](super::ClientEvent::Input) event with the returned id.
    pub fn input(
        &mut self,
        room: &str,
        round: Option<u32>,
        data: &[u8],
        now: Instant,
    ) -> Result<RequestId, RequestError> {
        self.advance(now);
        let room = Room::try_from(room).map_err(|_| RequestError::NameTooLong)?;
        self.pending.push(Ask::Input { room, round }, data)
    }
}
