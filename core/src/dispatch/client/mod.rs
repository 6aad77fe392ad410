//! The client side of dispatch: one session with the server, kept alive
//! across reconnects.
//!
//! [`ClientSession`] is a sans-IO machine for apps and devices. It opens the
//! session (`hello`, `welcome`), follows topics and knows where it is in each,
//! resumes after a dropped connection, recovers what was missed while away,
//! and gives every `input` and `publish` exactly one outcome. It needs no
//! heap: capacities are const parameters and every buffer is inline.
//!
//! # Driving it
//!
//! The shell owns the transport and the clock and feeds the session:
//!
//! - [`handle_connected`](ClientSession::handle_connected) when the transport
//!   it was asked to open ([`ClientOutput::Connect`]) is up;
//! - [`handle_message`](ClientSession::handle_message) with each decoded frame;
//! - [`handle_disconnected`](ClientSession::handle_disconnected) when the
//!   transport closes or fails to open;
//! - [`handle_timeout`](ClientSession::handle_timeout) at
//!   [`poll_timeout`](ClientSession::poll_timeout).
//!
//! The app calls [`subscribe`](ClientSession::subscribe),
//! [`unsubscribe`](ClientSession::unsubscribe),
//! [`publish`](ClientSession::publish) and [`input`](ClientSession::input)
//! at any time, connected or not.
//!
//! **Drain after every input.** After each of the calls above, call
//! [`poll_output`](ClientSession::poll_output) until it returns `None`:
//! send what it says to send, connect or close when it says so, and pass
//! events to the app. Then read `poll_timeout`. Events lend the session's
//! buffers (a delivered payload is copied once into a slot of `PAYLOAD`
//! bytes), so each is handled before the next poll; a message fed before the
//! previous outputs were drained is refused with [`ClientError::Undrained`].
//!
//! ```
//! use onbeat_core::dispatch::{ClientConfig, ClientEvent, ClientOutput, ClientSession};
//! use onbeat_core::Instant;
//!
//! let now = Instant::ZERO;
//! let mut session: ClientSession = ClientSession::new(ClientConfig::default(), 7, now);
//! session.subscribe("table-1/chat", now).unwrap();
//! while let Some(output) = session.poll_output() {
//!     match output {
//!         ClientOutput::Connect => { /* open a WebSocket, then `handle_connected` */ }
//!         ClientOutput::Send(msg) => { /* encode `msg` and send it */ }
//!         ClientOutput::Event(ClientEvent::Delivered { topic, data, .. }) => { /* app */ }
//!         _ => {}
//!     }
//! }
//! ```
//!
//! # Guarantees
//!
//! - Per topic the app sees each message once, in offset order. Duplicates
//!   (a replay overlapping what arrived) are dropped and counted. A loss is
//!   never silent: a lossy topic reports [`ClientEvent::Gap`]; on a reliable
//!   topic a skip is a protocol violation, answered by resubscribing from the
//!   last position, after which the server says whether it could recover.
//! - Every request made gets exactly one outcome event, even across
//!   reconnects: sent again with the same id after a resume (the server
//!   answers with the result it already gave), or reported
//!   [`InputStatus::Lost`] / [`PublishStatus::Lost`] once if the session did
//!   not survive.
//! - Reconnects back off exponentially with full jitter from the seed given
//!   to [`ClientSession::new`], so clients that lost the server together do
//!   not return together.
//! - Nothing a server sends can make it panic or grow: bad input is refused
//!   with a [`ClientError`] and changes nothing (a broken stream also starts
//!   its resync).
//!
//! # Memory
//!
//! Everything is inline, sized by the const parameters. Payloads are copied
//! twice at most, each copy bounded by `PAYLOAD`:
//!
//! - A request's payload is copied when it is made, because it must outlive
//!   the app's buffer: it is sent again after a resume. One larger than
//!   `PAYLOAD` is refused up front ([`RequestError::PayloadTooLarge`]), never
//!   dropped later.
//! - A delivered payload is copied into one slot. Events come out of
//!   `poll_output`, after `handle_message` has returned and the frame's
//!   borrow has ended, so they cannot lend the frame; one slot suffices
//!   because a message yields at most one delivery and messages are refused
//!   until the events are drained. A delivery larger than the slot is
//!   reported as [`ClientEvent::TooLarge`] and passed over, so the stream
//!   goes on and the app knows what it missed.

mod app;
mod backoff;
mod error;
mod event;
mod inbox;
mod message;
mod note;
mod pending;
mod session;
mod stream;
mod subscriptions;

pub use error::{ClientError, RequestError, StreamError};
pub use event::{ClientEvent, ClientOutput, InputStatus, PublishStatus};
pub use session::ClientConfig;
pub use stream::TopicKind;

use heapless::{Deque, Vec};

use crate::proto::{Position, Presence, SessionId, Token};
use crate::time::Instant;
use note::{Note, Slots};
use pending::Pending;
use session::{Control, Link};
use subscriptions::Subscriptions;

/// Default for `SUBS`: topics followed at once.
pub const DEFAULT_SUBSCRIPTIONS: usize = 16;
/// Default for `PENDING`: requests awaiting their answer at once.
pub const DEFAULT_PENDING: usize = 8;
/// Default for `PAYLOAD`: the largest payload, in bytes, kept for a pending
/// request or handed over in one delivery.
pub const DEFAULT_PAYLOAD: usize = 512;

/// Events that one input can queue, with room for a few the shell left behind.
const NOTES: usize = 4;

/// One client's session with the server, across connections.
///
/// `SUBS` topics, `PENDING` unanswered requests, payloads of up to `PAYLOAD`
/// bytes; all inline. With the defaults it takes about 14 KB, with
/// `ClientSession<4, 4, 64>` about 7 KB.
#[derive(Clone, Debug)]
pub struct ClientSession<
    const SUBS: usize = DEFAULT_SUBSCRIPTIONS,
    const PENDING: usize = DEFAULT_PENDING,
    const PAYLOAD: usize = DEFAULT_PAYLOAD,
> {
    config: ClientConfig,
    link: Link,
    backoff: backoff::Backoff,
    control: Option<Control>,
    hello_due: bool,
    auth: Option<Token>,
    /// The last session welcomed, and the token to resume it.
    session: Option<(SessionId, Token)>,
    subs: Subscriptions<SUBS>,
    inbox: inbox::Inbox,
    pending: Pending<PENDING, PAYLOAD>,
    notes: Deque<Note, NOTES>,
    /// The note last handed out; the event lends from it.
    current: Option<Note>,
    delivery: Vec<u8, PAYLOAD>,
    presence: Option<Presence>,
    stats: ClientStats,
    last_now: Instant,
}

/// Counters for what the session dropped or repaired, for monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStats {
    /// Deliveries dropped because they had been seen already.
    pub duplicates: u64,
    /// Deliveries and `subscribed` answers passed over: while a
    /// resubscription was outstanding (its replay brings them in order), or
    /// for a topic being left.
    pub ignored: u64,
    /// Broken streams resynced.
    pub resyncs: u64,
    /// Sessions opened, resumed ones included.
    pub sessions: u64,
    /// Sessions that resumed the previous one.
    pub resumes: u64,
}

impl<const SUBS: usize, const PENDING: usize, const PAYLOAD: usize>
    ClientSession<SUBS, PENDING, PAYLOAD>
{
    /// A session that wants to connect at once. `seed` drives its reconnect
    /// jitter: give every client its own (from the OS, or its id).
    pub fn new(config: ClientConfig, seed: u64, now: Instant) -> Self {
        ClientSession {
            config,
            link: Link::Connecting { since: now },
            backoff: backoff::Backoff::new(seed),
            control: Some(Control::Connect),
            hello_due: false,
            auth: None,
            session: None,
            subs: Subscriptions::new(),
            inbox: inbox::Inbox::new(),
            pending: Pending::new(),
            notes: Deque::new(),
            current: None,
            delivery: Vec::new(),
            presence: None,
            stats: ClientStats::default(),
            last_now: now,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Sets the credentials sent in every following `hello`.
    pub fn set_auth(&mut self, auth: Option<Token>) {
        self.auth = auth;
    }

    /// Whether a session is open (welcomed, not since disconnected).
    pub fn is_open(&self) -> bool {
        matches!(self.link, Link::Open { .. })
    }

    /// The server's name for the current or last session.
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_ref().map(|(id, _)| id.as_str())
    }

    /// The position of the next message expected in `topic`: what a
    /// resubscription asks to recover from.
    pub fn position(&self, topic: &str) -> Option<Position> {
        self.subs.cursor(topic)
    }

    /// Topics subscribed.
    pub fn subscriptions(&self) -> usize {
        self.subs.len()
    }

    /// Requests whose outcome the app has not yet been given.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Counters since the session was created.
    pub fn stats(&self) -> ClientStats {
        self.stats
    }

    /// The next thing to do: connect, close, send, or tell the app. Call
    /// until `None` after every input.
    pub fn poll_output(&mut self) -> Option<ClientOutput<'_>> {
        if let Some(control) = self.control.take() {
            return Some(control.output());
        }
        while let Some(front) = self.notes.front() {
            // Presence notes are queued only with the slot filled; were one
            // not, it is skipped rather than ending the drain early.
            if matches!(front, Note::Presence) && self.presence.is_none() {
                self.notes.pop_front();
                continue;
            }
            // Moved straight into the slot it is lent from: a note is a few
            // hundred bytes, and every delivery passes through here.
            self.current = self.notes.pop_front();
            // The queue's front was just seen.
            let note = self.current.as_ref()?;
            let slots = Slots {
                session: self.session.as_ref().map_or("", |(id, _)| id.as_str()),
                delivery: &self.delivery,
                presence: self.presence.as_ref(),
            };
            return note.event(slots).map(ClientOutput::Event);
        }
        if let Some((request, input)) = self.pending.take_lost() {
            return Some(ClientOutput::Event(note::lost(request, input)));
        }
        self.poll_send().map(ClientOutput::Send)
    }

    /// When `handle_timeout` is next needed: the end of a backoff or the
    /// deadline of a handshake. `None` while a session is open.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.link.deadline(&self.config)
    }

    /// `now`, never earlier than an instant already seen.
    fn advance(&mut self, now: Instant) -> Instant {
        self.last_now = self.last_now.max(now);
        self.last_now
    }

    /// Queues an event. Messages are refused unless the queue was drained
    /// and queue at most two; the transport's inputs queue one `Disconnected`
    /// each. Only if the shell never drains can the queue be full, and then
    /// the newest `Disconnected` is the one to give way: outcomes never do.
    fn note(&mut self, note: Note) {
        let _ = self.notes.push_back(note);
    }
}

#[cfg(test)]
mod tests;
