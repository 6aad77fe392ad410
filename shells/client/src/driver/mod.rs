//! The task that owns the session: it feeds the [`ClientSession`] frames,
//! timeouts and the app's requests, and does what the session asks (connect,
//! send, close, tell the app).

use std::collections::{HashMap, VecDeque};

use async_tungstenite::tungstenite::Message;
use onbeat_core::Instant;
use onbeat_core::dispatch::ClientSession;
use onbeat_core::proto::RequestId;
use smol::channel::{Receiver, Sender};
use smol::{Task, Timer};

use crate::Options;
use crate::clock::SharedClock;
use crate::event::Event;
use crate::transport::CloseInfo;

mod command;
mod connection;
mod outputs;
mod requests;
mod to_app;

use command::Reply;
pub(crate) use command::{Command, Request};
use connection::{Io, Writer};
use to_app::ToApp;

/// Topics followed, requests in flight, and the largest payload handled.
/// Pending requests keep a copy of their payload inline, so `PENDING ×
/// PAYLOAD` bytes are held per client (256 KiB).
pub(crate) type Session = ClientSession<32, 32, 8192>;

enum Wake {
    Command(Option<Command>),
    Io(Io),
    Timer,
    /// The app took the event that waited for room.
    HandedOver,
}

pub(crate) struct Driver {
    options: Options,
    session: Box<Session>,
    clock: SharedClock,
    commands: Receiver<Command>,
    app: ToApp,
    io_tx: Sender<Io>,
    io_rx: Receiver<Io>,
    /// The current connection's number; reports from older ones are ignored.
    conn: u64,
    writer: Option<Writer>,
    /// The current connection's task (dropping it cancels it).
    task: Option<Task<()>>,
    /// The close frame of the connection that just ended.
    close: Option<CloseInfo>,
    replies: HashMap<RequestId, Reply>,
    /// Requests the session had no room for yet, in order.
    waiting: VecDeque<Request>,
    outbox: Vec<Message>,
    scratch: Vec<u8>,
}

impl Driver {
    pub(crate) fn new(
        options: Options,
        clock: SharedClock,
        commands: Receiver<Command>,
        events: Sender<Event>,
    ) -> Driver {
        let now = clock.local().now();
        let mut session = Box::new(Session::new(options.session, options.seed, now));
        session.set_auth(None);
        // One frame: the app's channel (`event_capacity`) is the one buffer
        // on the way in. Frames are taken only while the app keeps up, so
        // a deeper channel here would only read more of the socket for an
        // app that has stopped, out of reach of the server's bounds.
        let (io_tx, io_rx) = smol::channel::bounded(1);
        Driver {
            options,
            session,
            clock,
            commands,
            app: ToApp::new(events),
            io_tx,
            io_rx,
            conn: 0,
            writer: None,
            task: None,
            close: None,
            replies: HashMap::new(),
            waiting: VecDeque::new(),
            outbox: Vec::new(),
            scratch: Vec::new(),
        }
    }

    fn now(&self) -> Instant {
        self.clock.local().now()
    }

    /// Runs until the app closes the client or drops every handle.
    pub(crate) async fn run(mut self) {
        loop {
            self.drain().await;
            let deadline = self.deadline();
            let local = self.clock.local();
            // While the app is behind, frames wait (and then the socket
            // does), but its commands and the timers go on: a client whose
            // events pile up can still publish, sample the clock and close.
            let behind = self.app.behind();
            let (commands, io_rx, app) = (&self.commands, &self.io_rx, &mut self.app);
            let command = async { Wake::Command(commands.recv().await.ok()) };
            // The driver holds a sender, so the channel never closes.
            let io = async {
                if !behind && let Ok(io) = io_rx.recv().await {
                    return Wake::Io(io);
                }
                std::future::pending().await
            };
            let handed = async {
                app.handed_over().await;
                Wake::HandedOver
            };
            let timer = async {
                match deadline {
                    Some(at) => {
                        Timer::at(local.to_std(at)).await;
                    }
                    None => std::future::pending().await,
                }
                Wake::Timer
            };
            // `race` picks among the ready ones at random, so a busy socket
            // cannot starve the app's requests or the timers.
            let wake = smol::future::race(
                smol::future::race(io, handed),
                smol::future::race(command, timer),
            )
            .await;
            let now = self.now();
            match wake {
                Wake::HandedOver => {}
                Wake::Command(None | Some(Command::Close)) => break,
                Wake::Command(Some(command)) => self.command(command, now),
                Wake::Io(io) => self.io(io, now),
                Wake::Timer => {
                    self.session.handle_timeout(now);
                    self.clock.lock().handle_timeout(now);
                }
            }
        }
        if let Some(mut writer) = self.writer.take() {
            let _ = writer.close(None).await;
        }
    }

    /// The session's deadline, and the clock's while a session is open.
    fn deadline(&self) -> Option<Instant> {
        let session = self.session.poll_timeout();
        let clock = if self.session.is_open() {
            self.clock.lock().poll_timeout()
        } else {
            None
        };
        match (session, clock) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn io(&mut self, io: Io, now: Instant) {
        match io {
            Io::Up { conn, writer }
                if conn == self.conn && self.session.handle_connected(now).is_ok() =>
            {
                self.writer = Some(writer);
            }
            Io::Frame { conn, data } if conn == self.conn => {
                match self.options.codec.decode(&data) {
                    // A refused message changes nothing in the session;
                    // the stream errors among them resync by themselves.
                    Ok(msg) => {
                        let _ = self.session.handle_message(&msg, now);
                    }
                    Err(_) => self.lost_connection(None, now),
                }
            }
            Io::Down { conn, close } if conn == self.conn => self.lost_connection(close, now),
            _ => {}
        }
    }

    fn lost_connection(&mut self, close: Option<CloseInfo>, now: Instant) {
        self.drop_connection();
        self.close = close;
        self.session.handle_disconnected(now);
    }

    /// Forgets the current connection: its task is cancelled and whatever
    /// it still reports is ignored.
    fn drop_connection(&mut self) {
        self.conn += 1;
        self.writer = None;
        self.task = None;
    }

    fn connect(&mut self) {
        self.drop_connection();
        let io = self.io_tx.clone();
        self.task = Some(connection::open(self.conn, &self.options, io));
    }
}
