//! The topics a client follows, each with its [`Stream`].

use heapless::Vec;

use super::error::RequestError;
use super::stream::{State, Stream, TopicKind};
use crate::proto::{Position, Subscribe, Topic};

#[derive(Clone, Debug)]
struct Subscription {
    topic: Topic,
    stream: Stream,
}

/// At most `N` subscriptions.
#[derive(Clone, Debug)]
pub(super) struct Subscriptions<const N: usize> {
    subs: Vec<Subscription, N>,
}

impl<const N: usize> Subscriptions<N> {
    pub(super) const fn new() -> Self {
        Subscriptions { subs: Vec::new() }
    }

    pub(super) fn find(&self, topic: &str) -> Option<usize> {
        self.subs.iter().position(|s| s.topic == topic)
    }

    pub(super) fn topic(&self, i: usize) -> &Topic {
        &self.subs[i].topic
    }

    pub(super) fn stream(&mut self, i: usize) -> &mut Stream {
        &mut self.subs[i].stream
    }

    /// The next expected position in `topic`, if any.
    pub(super) fn cursor(&self, topic: &str) -> Option<Position> {
        self.find(topic).and_then(|i| self.subs[i].stream.cursor)
    }

    /// Topics followed (not counting those being left).
    pub(super) fn len(&self) -> usize {
        let leaving = self
            .subs
            .iter()
            .filter(|s| s.stream.state == State::Leaving);
        self.subs.len() - leaving.count()
    }

    /// Follows `topic`, from `since` if given (a position the app kept),
    /// else from the old cursor of a topic being left, else from the head.
    pub(super) fn add(
        &mut self,
        topic: &str,
        kind: TopicKind,
        since: Option<Position>,
    ) -> Result<(), RequestError> {
        if let Some(i) = self.find(topic) {
            let stream = &mut self.subs[i].stream;
            if stream.state != State::Leaving {
                return Err(RequestError::AlreadySubscribed);
            }
            // Not yet left: subscribing again from the cursor continues where
            // the old subscription stopped.
            stream.kind = kind;
            stream.state = State::Unsent;
            stream.cursor = since.or(stream.cursor);
            return Ok(());
        }
        let topic = Topic::try_from(topic).map_err(|_| RequestError::NameTooLong)?;
        let mut stream = Stream::new(kind);
        stream.cursor = since;
        let sub = Subscription { topic, stream };
        self.subs
            .push(sub)
            .map_err(|_| RequestError::TooManySubscriptions)
    }

    pub(super) fn remove(&mut self, topic: &str) -> Result<(), RequestError> {
        let stream = self.find(topic).map(|i| &mut self.subs[i].stream);
        match stream {
            Some(stream) if stream.state != State::Leaving => {
                stream.state = State::Leaving;
                Ok(())
            }
            _ => Err(RequestError::NotSubscribed),
        }
    }

    /// The server refused `topic`'s `subscribe` or ended its subscription:
    /// it is forgotten, and `true` returned, if the app still follows it and
    /// it was sent on this connection. One being left, or not sent yet (a
    /// later `subscribe` is on its way), stays as it is.
    pub(super) fn ended(&mut self, topic: &str) -> bool {
        let Some(i) = self.find(topic) else {
            return false;
        };
        if !matches!(
            self.subs[i].stream.state,
            State::Awaiting { .. } | State::Active
        ) {
            return false;
        }
        self.subs.remove(i);
        true
    }

    /// The connection dropped: every subscription is sent again on the next.
    pub(super) fn disconnected(&mut self) {
        for sub in &mut self.subs {
            if matches!(sub.stream.state, State::Awaiting { .. } | State::Active) {
                sub.stream.state = State::Unsent;
            }
        }
    }

    /// A session opened. A new one holds no subscriptions, so there is
    /// nothing to leave.
    pub(super) fn opened(&mut self, resumed: bool) {
        if !resumed {
            self.subs.retain(|s| s.stream.state != State::Leaving);
        }
    }

    /// The next `subscribe` to send, from its topic's cursor.
    pub(super) fn next_subscribe(&mut self) -> Option<Subscribe> {
        let sub = self
            .subs
            .iter_mut()
            .find(|s| s.stream.state == State::Unsent)?;
        let since = sub.stream.cursor;
        sub.stream.state = State::Awaiting { since };
        Some(Subscribe {
            topic: sub.topic.clone(),
            since,
        })
    }

    /// The next topic to send `unsubscribe` for; it is forgotten.
    pub(super) fn next_unsubscribe(&mut self) -> Option<Topic> {
        let i = self
            .subs
            .iter()
            .position(|s| s.stream.state == State::Leaving)?;
        Some(self.subs.remove(i).topic)
    }
}
