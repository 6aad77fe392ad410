//! The task that owns the session: it feeds the [`ClientSession`] frames,
//! timeouts and the app's requests, and does what the session asks (connect,
//! send, close, tell the app).

use std::collections::{HashMap, VecDeque};

use async_tungstenite::tungstenite::Message;
use onbeat_core::Instant;
use onbeat_core::dispatch::{
    ClientEvent, ClientOutput, ClientSession, InputStatus, PublishStatus, RequestError,
};
use onbeat_core::proto::{ClientMsg, ClockPong, RequestId};
use onbeat_core::timeline::{ClockEvent, ClockSync};
use smol::channel::{Receiver, Sender};
use smol::{Task, Timer};

use crate::Options;
use crate::clock::SharedClock;
use crate::event::Event;
use crate::transport::CloseInfo;

mod command;
mod connection;
mod to_app;

use command::Reply;
pub(crate) use command::{Command, Request};
use connection::{Io, Writer};
use to_app::ToApp;

/// Topics followed, requests in flight, and the largest payload handled.
/// Pending requests keep a copy of their payload inline, so `PENDING ×
/// PAYLOAD` bytes are held per client (256 KiB).
pub(crate) type Session = ClientSession<32, 32, 8192>;

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

    fn command(&mut self, command: Command, now: Instant) {
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
    fn submit(&mut self, now: Instant) {
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

    /// Does everything the session and the clock ask, then writes and tells.
    async fn drain(&mut self) {
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
