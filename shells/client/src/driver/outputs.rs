//! Doing what the session and the clock ask: connect, close, send (one
//! flush per pass), settle the app's requests and tell the app what
//! happened.

use async_tungstenite::tungstenite::Message;
use onbeat_core::Instant;
use onbeat_core::dispatch::{ClientEvent, ClientOutput, InputStatus, PublishStatus};
use onbeat_core::proto::{ClientMsg, ClockPong, RequestId};
use onbeat_core::timeline::{ClockEvent, ClockSync};

use super::command::Reply;
use super::{Driver, connection};
use crate::event::Event;

/// One session output, owned so that the session can be used again.
enum Action {
    Connect,
    Close,
    Send(Message),
    Pong(ClockPong),
    Publish(RequestId, PublishStatus),
    Input(RequestId, InputStatus),
    Disconnected,
    Tell(Event),
    /// An output this client has no use for.
    Nothing,
}

impl Driver {
    /// Does everything the session and the clock ask, then writes and tells.
    pub(super) async fn drain(&mut self) {
        let now = self.now();
        self.drain_outputs(now);
        self.flush().await;
        self.app.hand_over();
    }

    fn drain_outputs(&mut self, now: Instant) {
        loop {
            while let Some(action) = self.next_action() {
                self.act(action, now);
            }
            let ping = {
                let mut clock = self.clock.lock();
                std::iter::from_fn(|| clock.poll_output()).find_map(|e| match e {
                    ClockEvent::Ping(ping) => Some(ping),
                    _ => None,
                })
            };
            match ping {
                Some(ping) if self.session.is_open() => {
                    self.send(&ClientMsg::Ping(ping));
                }
                Some(_) => {}
                None => break,
            }
        }
    }

    fn next_action(&mut self) -> Option<Action> {
        let output = self.session.poll_output()?;
        Some(match output {
            ClientOutput::Connect => Action::Connect,
            ClientOutput::Close => Action::Close,
            ClientOutput::Send(msg) => {
                match self.options.codec.encode(&msg, &mut self.scratch) {
                    Ok(message) => Action::Send(message),
                    // Payloads are bounded well below the encoder's limit.
                    Err(_) => Action::Close,
                }
            }
            ClientOutput::Event(event) => match event {
                ClientEvent::Pong(pong) => Action::Pong(pong),
                ClientEvent::Published { request, outcome } => Action::Publish(request, outcome),
                ClientEvent::Input { request, outcome } => Action::Input(request, outcome),
                ClientEvent::Disconnected { .. } => Action::Disconnected,
                other => Event::of(&other).map_or(Action::Nothing, Action::Tell),
            },
            _ => Action::Nothing,
        })
    }

    fn act(&mut self, action: Action, now: Instant) {
        match action {
            Action::Connect => self.connect(),
            Action::Close => self.drop_connection(),
            Action::Send(message) => {
                if self.writer.is_some() {
                    self.outbox.push(message);
                }
            }
            Action::Pong(pong) => {
                let _ = self.clock.lock().handle_pong(&pong, now);
            }
            Action::Publish(request, outcome) => {
                if let Some(Reply::Publish(reply)) = self.replies.remove(&request) {
                    let _ = reply.try_send(Ok(outcome));
                }
                self.submit(now);
            }
            Action::Input(request, outcome) => {
                if let Some(Reply::Input(reply)) = self.replies.remove(&request) {
                    let _ = reply.try_send(Ok(outcome));
                }
                self.submit(now);
            }
            Action::Disconnected => {
                self.outbox.clear();
                let close = self.close.take();
                self.app.tell(Event::Disconnected { close });
            }
            Action::Nothing => {}
            Action::Tell(event) => {
                if matches!(event, Event::Opened { .. }) {
                    let mut clock = self.clock.lock();
                    if clock.samples() == 0 {
                        // Pings sent while no session was open went nowhere:
                        // start sampling afresh now that one is.
                        *clock = ClockSync::new(*clock.config(), now);
                    }
                }
                self.app.tell(event);
            }
        }
    }

    fn send(&mut self, msg: &ClientMsg<'_>) {
        if let (Some(_), Ok(message)) = (
            &self.writer,
            self.options.codec.encode(msg, &mut self.scratch),
        ) {
            self.outbox.push(message);
        }
    }

    /// Writes the outbox in one flush. After a failed write nothing more is
    /// written on this connection, but it lasts until its reader ends: a
    /// write fails as soon as the reader has seen the server's close, which
    /// may sit behind frames not yet handed to the session, and ending the
    /// connection here would drop them and the close's code and reason. The
    /// reader ends at most a second after the close (see
    /// [`connection`]'s `CLOSE_LINGER`). What was sent in vain the session sends again once it resumes, or
    /// reports lost if it cannot.
    async fn flush(&mut self) {
        let Some(writer) = self.writer.as_mut() else {
            self.outbox.clear();
            return;
        };
        if !self.outbox.is_empty() && !connection::write(writer, &mut self.outbox).await {
            self.writer = None;
        }
    }
}
