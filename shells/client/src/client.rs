//! The app's handle on a session.

use std::fmt;

use onbeat_core::Instant;
use onbeat_core::dispatch::{ClientConfig, InputStatus, PublishStatus, RequestError};
use onbeat_core::proto::Position;
use onbeat_core::timeline::{ClockConfig, Estimate};
use smol::Task;
use smol::channel::{Receiver, Sender};

use crate::clock::{LocalClock, SharedClock};
use crate::codec::Codec;
use crate::driver::{Command, Driver, Request};
use crate::event::Event;
use crate::transport::TokenPlacement;

/// The default for [`Options::event_capacity`].
pub const DEFAULT_EVENT_CAPACITY: usize = 4096;

/// Where and how to connect.
#[derive(Clone, Debug)]
pub struct Options {
    /// `ws://host:port/ws`.
    pub url: String,
    /// The encoding.
    pub codec: Codec,
    /// An HS256 JWT, if any.
    pub token: Option<String>,
    /// Where the token goes at the upgrade.
    pub token_placement: TokenPlacement,
    /// Seeds the reconnect jitter; give every client its own.
    pub seed: u64,
    /// Backoff and handshake timing.
    pub session: ClientConfig,
    /// Clock sampling.
    pub clock: ClockConfig,
    /// How far the app may fall behind, in events, before the client stops
    /// reading its socket; [`DEFAULT_EVENT_CAPACITY`] unless set, and at
    /// least 1. This is the client's only buffer on the way in: past it
    /// the client holds just the frame being handed over, and what it has
    /// not read stays in the socket, so that the server's own bounds apply
    /// (a reliable topic's subscriber is then disconnected as a slow
    /// consumer, and recovers from history once it reads again). The
    /// client keeps taking the app's requests meanwhile, but their outcomes
    /// arrive behind the unread events.
    pub event_capacity: usize,
    /// The socket's receive buffer (`SO_RCVBUF`) in bytes, set before
    /// connecting; `None` leaves it to the system, which grows it with the
    /// traffic (to megabytes on loopback). A small one bounds how much the
    /// server can have in flight to a client that stops reading.
    pub recv_buffer: Option<usize>,
}

impl Options {
    /// JSON, no token, default timing, a seed from the clock.
    pub fn new(url: &str) -> Options {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Options {
            url: url.to_owned(),
            codec: Codec::Json,
            token: None,
            token_placement: TokenPlacement::Query,
            seed,
            session: ClientConfig::default(),
            clock: ClockConfig::default(),
            event_capacity: DEFAULT_EVENT_CAPACITY,
            recv_buffer: None,
        }
    }

    /// Speaks `codec`.
    pub fn codec(mut self, codec: Codec) -> Options {
        self.codec = codec;
        self
    }

    /// Presents `token` as a `?token=` query parameter.
    pub fn token(mut self, token: &str) -> Options {
        self.token = Some(token.to_owned());
        self
    }

    /// Presents the token as `Authorization: Bearer`.
    pub fn token_in_header(mut self) -> Options {
        self.token_placement = TokenPlacement::Header;
        self
    }

    /// Seeds the reconnect jitter.
    pub fn seed(mut self, seed: u64) -> Options {
        self.seed = seed;
        self
    }

    /// Lets the app fall `events` behind before the client stops reading
    /// its socket (see [`event_capacity`](Options::event_capacity)).
    pub fn event_capacity(mut self, events: usize) -> Options {
        self.event_capacity = events;
        self
    }
}

/// Why a request got no outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The session refused it at once (name too long, payload too large, …).
    Request(RequestError),
    /// The client was closed.
    Closed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Request(e) => write!(f, "refused: {e}"),
            Error::Closed => f.write_str("client closed"),
        }
    }
}

impl std::error::Error for Error {}

impl From<RequestError> for Error {
    fn from(e: RequestError) -> Self {
        Error::Request(e)
    }
}

/// A session with an onbeat server, kept across reconnects.
///
/// Dropping it (or [`close`](Client::close)) ends the session's task and
/// closes the connection.
pub struct Client {
    commands: Sender<Command>,
    events: Receiver<Event>,
    clock: SharedClock,
    driver: Option<Task<()>>,
}

impl Client {
    /// Starts the session's task on smol's global executor; it connects at
    /// once and keeps reconnecting until closed. Progress arrives as events.
    pub fn connect(options: Options) -> Client {
        let clock = SharedClock::new(LocalClock::new(), options.clock);
        let (commands, command_rx) = smol::channel::unbounded();
        let (event_tx, events) = smol::channel::bounded(options.event_capacity.max(1));
        let driver = Driver::new(options, clock.clone(), command_rx, event_tx);
        Client {
            commands,
            events,
            clock,
            driver: Some(smol::spawn(driver.run())),
        }
    }

    async fn ask<T>(&self, make: impl FnOnce(Sender<T>) -> Command) -> Result<T, Error> {
        let (reply, answer) = smol::channel::bounded(1);
        self.commands
            .send(make(reply))
            .await
            .map_err(|_| Error::Closed)?;
        answer.recv().await.map_err(|_| Error::Closed)
    }

    /// Follows a reliable topic, from `since` (a position kept from an
    /// earlier run) if given. The server's answer arrives as
    /// [`Event::Subscribed`].
    pub async fn subscribe(&self, topic: &str, since: Option<Position>) -> Result<(), Error> {
        let topic = topic.to_owned();
        self.ask(|reply| Command::Subscribe {
            topic,
            since,
            lossy: false,
            reply,
        })
        .await??;
        Ok(())
    }

    /// Follows a lossy topic: what the server drops arrives as [`Event::Gap`].
    pub async fn subscribe_lossy(&self, topic: &str) -> Result<(), Error> {
        let topic = topic.to_owned();
        self.ask(|reply| Command::Subscribe {
            topic,
            since: None,
            lossy: true,
            reply,
        })
        .await??;
        Ok(())
    }

    /// Stops following a topic.
    pub async fn unsubscribe(&self, topic: &str) -> Result<(), Error> {
        let topic = topic.to_owned();
        self.ask(|reply| Command::Unsubscribe { topic, reply })
            .await??;
        Ok(())
    }

    /// Publishes `data` to `topic`, to be applied at server time `at` if
    /// given (the server holds it until then). Resolves to its one outcome,
    /// across reconnects.
    pub async fn publish(
        &self,
        topic: &str,
        data: &[u8],
        at: Option<Instant>,
    ) -> Result<PublishStatus, Error> {
        let (topic, data) = (topic.to_owned(), data.to_vec());
        let status = self
            .ask(|reply| {
                Command::Request(Request::Publish {
                    topic,
                    data,
                    at,
                    reply,
                })
            })
            .await??;
        Ok(status)
    }

    /// Sends an input to `room` for `round` (or the current one). Resolves to
    /// its one outcome: accepted, or rejected with a code.
    pub async fn input(
        &self,
        room: &str,
        round: Option<u32>,
        data: &[u8],
    ) -> Result<InputStatus, Error> {
        let (room, data) = (room.to_owned(), data.to_vec());
        let status = self
            .ask(|reply| {
                Command::Request(Request::Input {
                    room,
                    round,
                    data,
                    reply,
                })
            })
            .await??;
        Ok(status)
    }

    /// The next event; `None` once the client is closed.
    pub async fn next_event(&self) -> Option<Event> {
        self.events.recv().await.ok()
    }

    /// The events, as a channel (to select over, or to hand to another task).
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// The server's clock now, with an error bound; `None` before the first
    /// clock sample.
    pub fn server_time(&self) -> Option<Estimate> {
        self.clock.estimate()
    }

    /// When, on this machine's monotonic clock, the server's clock reads
    /// `server_time` (e.g. a delivery's `at`); `None` before the first sample.
    pub fn local_time_of(&self, server_time: Instant) -> Option<std::time::Instant> {
        self.clock.local_time_of(server_time)
    }

    /// Closes the connection and ends the session's task.
    pub async fn close(mut self) {
        let _ = self.commands.send(Command::Close).await;
        if let Some(driver) = self.driver.take() {
            driver.await;
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(driver) = self.driver.take() {
            // The task ends by itself once the command channel closes.
            driver.detach();
        }
    }
}
