//! Events on their way to the app, through a channel of `event_capacity`.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;

use smol::channel::{Sender, TrySendError};

use crate::event::Event;

/// An event waiting for room in the app's channel. The send holds the
/// event and is kept across wakes, so that a command or a timer coming
/// first does not lose it.
type Handover = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The app's side of the driver: events in order, handed over while the
/// app's channel has room.
pub(super) struct ToApp {
    events: Sender<Event>,
    /// Events not yet in the channel, in order.
    tell: VecDeque<Event>,
    /// The first of them, once the channel was found full.
    handover: Option<Handover>,
}

impl ToApp {
    pub(super) fn new(events: Sender<Event>) -> ToApp {
        ToApp {
            events,
            tell: VecDeque::new(),
            handover: None,
        }
    }

    /// Queues `event` behind the others.
    pub(super) fn tell(&mut self, event: Event) {
        self.tell.push_back(event);
    }

    /// Whether an event waits for the app to make room.
    pub(super) fn behind(&self) -> bool {
        self.handover.is_some()
    }

    /// Passes events to the app while its channel has room; the first that
    /// finds it full waits until [`handed_over`](ToApp::handed_over).
    pub(super) fn hand_over(&mut self) {
        while self.handover.is_none() {
            let Some(event) = self.tell.pop_front() else {
                return;
            };
            match self.events.try_send(event) {
                Ok(()) => {}
                Err(TrySendError::Full(event)) => {
                    let events = self.events.clone();
                    self.handover = Some(Box::pin(async move {
                        // Fails only once the app dropped its receiver.
                        let _ = events.send(event).await;
                    }));
                }
                // The app dropped its receiver: nobody to tell.
                Err(TrySendError::Closed(_)) => self.tell.clear(),
            }
        }
    }

    /// Resolves once the app took the waiting event; never if none waits.
    /// Cancelling it keeps the event waiting.
    pub(super) async fn handed_over(&mut self) {
        match self.handover.as_mut() {
            Some(send) => {
                send.await;
                self.handover = None;
            }
            None => std::future::pending().await,
        }
    }
}
