//! The app's requests: subscriptions are answered at once, publishes and
//! inputs wait in order for the session to have room for them, and their
//! outcomes go back to whoever asked.

use onbeat_core::Instant;
use onbeat_core::dispatch::RequestError;

use super::Driver;
use super::command::{Command, Reply, Request};

impl Driver {
    pub(super) fn command(&mut self, command: Command, now: Instant) {
        match command {
            Command::Subscribe {
                topic,
                since,
                lossy,
                reply,
            } => {
                let result = match (since, lossy) {
                    (Some(since), _) => self.session.subscribe_since(&topic, since, now),
                    (None, true) => self.session.subscribe_lossy(&topic, now),
                    (None, false) => self.session.subscribe(&topic, now),
                };
                let _ = reply.try_send(result);
            }
            Command::Unsubscribe { topic, reply } => {
                let _ = reply.try_send(self.session.unsubscribe(&topic, now));
            }
            Command::Request(request) => {
                self.waiting.push_back(request);
                self.submit(now);
            }
            Command::Close => {}
        }
    }

    /// Hands waiting requests to the session while it has room, in order.
    pub(super) fn submit(&mut self, now: Instant) {
        while let Some(request) = self.waiting.pop_front() {
            let result = match &request {
                Request::Publish {
                    topic, data, at, ..
                } => self.session.publish(topic, data, *at, now),
                Request::Input {
                    room, round, data, ..
                } => self.session.input(room, *round, data, now),
            };
            match (result, request) {
                (Err(RequestError::TooManyPending), request) => {
                    self.waiting.push_front(request);
                    return;
                }
                (Ok(id), Request::Publish { reply, .. }) => {
                    self.replies.insert(id, Reply::Publish(reply));
                }
                (Ok(id), Request::Input { reply, .. }) => {
                    self.replies.insert(id, Reply::Input(reply));
                }
                (Err(e), Request::Publish { reply, .. }) => {
                    let _ = reply.try_send(Err(e));
                }
                (Err(e), Request::Input { reply, .. }) => {
                    let _ = reply.try_send(Err(e));
                }
            }
        }
    }
}
