//! The connection under the session: connecting, the handshake, the open
//! session, and waiting to reconnect.

use super::ClientSession;
use super::error::ClientError;
use super::event::ClientOutput;
use super::note::Note;
use crate::proto::{ClientMsg, Hello, PROTOCOL_VERSION, Welcome};
use crate::time::{Duration, Instant};

/// How a [`ClientSession`] connects and backs off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// The widest reconnect delay after the first failure; each further
    /// failure in a row doubles it, up to `backoff_cap`. The delay itself is
    /// drawn uniformly from zero to that width.
    pub backoff_base: Duration,
    /// The widest reconnect delay ever.
    pub backoff_cap: Duration,
    /// A session open at least this long counts as a success and the next
    /// reconnect starts again from `backoff_base`. Counting a session that
    /// dies at once as a failure keeps a server that accepts and then
    /// crashes from being hammered at the shortest delay.
    pub stable_after: Duration,
    /// How long from `Connect` to `welcome` before the attempt is abandoned.
    pub connect_timeout: Duration,
    /// The topic that targeted deliveries arrive on: the server's
    /// `HubConfig::inbox`. It is followed without subscribing.
    pub inbox: &'static str,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(30),
            stable_after: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
            inbox: "@inbox",
        }
    }
}

/// The state of the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Link {
    /// `Connect` was asked for at `since`; the transport is not up yet.
    Connecting { since: Instant },
    /// The transport is up; `hello` is sent or due, `welcome` awaited.
    Handshake { since: Instant },
    /// Welcomed at `since`.
    Open { since: Instant },
    /// Disconnected; the next `Connect` is due at `until`.
    Waiting { until: Instant },
}

impl Link {
    pub(super) fn deadline(&self, config: &ClientConfig) -> Option<Instant> {
        match *self {
            Link::Connecting { since } | Link::Handshake { since } => {
                Some(since + config.connect_timeout)
            }
            Link::Open { .. } => None,
            Link::Waiting { until } => Some(until),
        }
    }
}

/// A transport action for the shell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Control {
    Connect,
    Close,
}

impl Control {
    pub(super) fn output(self) -> ClientOutput<'static> {
        match self {
            Control::Connect => ClientOutput::Connect,
            Control::Close => ClientOutput::Close,
        }
    }
}

impl<const SUBS: usize, const PENDING: usize, const PAYLOAD: usize>
    ClientSession<SUBS, PENDING, PAYLOAD>
{
    /// The transport is up: `hello` follows. Also accepted while waiting to
    /// reconnect (the shell connected early); refused while one is up.
    pub fn handle_connected(&mut self, now: Instant) -> Result<(), ClientError> {
        let now = self.advance(now);
        let since = match self.link {
            Link::Connecting { since } => since,
            Link::Waiting { .. } => now,
            Link::Handshake { .. } | Link::Open { .. } => {
                return Err(ClientError::AlreadyConnected);
            }
        };
        self.link = Link::Handshake { since };
        if self.control == Some(Control::Connect) {
            self.control = None;
        }
        self.hello_due = true;
        Ok(())
    }

    /// The transport closed, or failed to open. The session waits out a
    /// backoff delay, then asks to connect again. Ignored while already waiting.
    pub fn handle_disconnected(&mut self, now: Instant) {
        let now = self.advance(now);
        if !matches!(self.link, Link::Waiting { .. }) {
            self.disconnect(now, None);
        }
    }

    /// Reconnects once the backoff is over, and gives up on a handshake
    /// that took longer than `connect_timeout`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        let Some(deadline) = self.link.deadline(&self.config) else {
            return;
        };
        if now < deadline {
            return;
        }
        match self.link {
            Link::Waiting { .. } => {
                self.link = Link::Connecting { since: now };
                self.control = Some(Control::Connect);
            }
            Link::Connecting { .. } | Link::Handshake { .. } => {
                self.disconnect(now, Some(Control::Close));
            }
            Link::Open { .. } => {}
        }
    }

    /// Leaves the current connection and schedules the next attempt.
    fn disconnect(&mut self, now: Instant, control: Option<Control>) {
        let stable = match self.link {
            Link::Open { since } => now - since >= self.config.stable_after,
            _ => false,
        };
        if stable {
            self.backoff.reset();
        }
        let delay = self
            .backoff
            .next_delay(self.config.backoff_base, self.config.backoff_cap);
        let until = now + delay;
        self.link = Link::Waiting { until };
        self.control = control;
        self.hello_due = false;
        self.subs.disconnected();
        self.pending.disconnected();
        self.note(Note::Disconnected {
            reconnect_at: until,
        });
    }

    /// `welcome`: the session is open, the old one or a new one.
    pub(super) fn welcome(&mut self, welcome: &Welcome, now: Instant) -> Result<(), ClientError> {
        if !matches!(self.link, Link::Handshake { .. }) {
            return Err(ClientError::UnexpectedMessage);
        }
        if welcome.version != PROTOCOL_VERSION {
            return Err(ClientError::UnsupportedVersion {
                version: welcome.version,
            });
        }
        // We asked to resume exactly when we had a session; the server keeps
        // its id exactly when it agreed.
        let resumed = self
            .session
            .as_ref()
            .is_some_and(|(id, _)| *id == welcome.session);
        self.session = Some((welcome.session.clone(), welcome.resume.clone()));
        self.link = Link::Open { since: now };
        self.subs.opened(resumed);
        self.pending.opened(resumed);
        if !resumed {
            self.inbox.reset();
        }
        self.stats.sessions += 1;
        self.stats.resumes += u64::from(resumed);
        self.note(Note::Opened { resumed });
        Ok(())
    }

    /// The next message to send: `hello` during the handshake; once open,
    /// subscriptions, then unsubscriptions, then requests.
    pub(super) fn poll_send(&mut self) -> Option<ClientMsg<'_>> {
        match self.link {
            Link::Handshake { .. } if self.hello_due => {
                self.hello_due = false;
                return Some(ClientMsg::Hello(Hello {
                    version: PROTOCOL_VERSION,
                    resume: self.session.as_ref().map(|(_, token)| token.clone()),
                    auth: self.auth.clone(),
                }));
            }
            Link::Open { .. } => {}
            _ => return None,
        }
        if let Some(subscribe) = self.subs.next_subscribe() {
            return Some(ClientMsg::Subscribe(subscribe));
        }
        if let Some(topic) = self.subs.next_unsubscribe() {
            return Some(ClientMsg::Unsubscribe(crate::proto::Unsubscribe { topic }));
        }
        self.pending.next_send()
    }
}
