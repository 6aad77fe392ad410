//! A small WebSocket server around the core `Hub`, on its own thread, for
//! testing the client over real sockets without the full server.

#![allow(dead_code, reason = "each test binary uses part of it")]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration as StdDuration;

use async_tungstenite::tungstenite::handshake::server::{Request, Response};
use async_tungstenite::tungstenite::http::HeaderValue;
use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsClose;
use async_tungstenite::tungstenite::{Bytes, Message};
use futures_util::{SinkExt, StreamExt};
use onbeat_core::Instant;
use onbeat_core::dispatch::{
    Capabilities, Codec, ConnId, Frame, Hub, HubConfig, HubOutput, RoomCtx, RoomInput, RoomLogic,
    TopicConfig,
};
use onbeat_core::proto::{MemberId, RejectCode, SUBPROTOCOL_POSTCARD};
use smol::channel::{Receiver, Sender};
use smol::net::TcpListener;
use smol::{LocalExecutor, Task, Timer};

/// What a test asks of the server thread.
pub enum Control {
    /// Cut every connection without a close frame, as a network loss would.
    DropAll,
    /// Publish from the application side.
    Publish(String, Vec<u8>),
    /// Close every connection with 1008 and this reason, after what the hub
    /// has queued for it; each then waits for its peer's close reply.
    CloseAll(&'static str),
    /// Stop the server.
    Stop,
}

/// A running test server.
pub struct HubServer {
    pub addr: SocketAddr,
    control: Sender<Control>,
    written: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HubServer {
    /// Opens `topics` (reliable, 1,000 messages of history) and a room
    /// `room` whose logic accepts inputs whose payload is `"ok"`.
    pub fn start(topics: &[&str], config: HubConfig) -> HubServer {
        HubServer::start_with(topics, config, None)
    }

    /// As [`start`](HubServer::start), with every accepted socket's
    /// `SO_SNDBUF` set to `send_buffer` bytes if given: a small one bounds
    /// what the kernel takes for a client that stops reading.
    pub fn start_with(topics: &[&str], config: HubConfig, send_buffer: Option<usize>) -> HubServer {
        let topics: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        let (control, control_rx) = smol::channel::unbounded();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let written = Arc::new(AtomicU64::new(0));
        let setup = Setup {
            topics,
            config,
            send_buffer,
            written: written.clone(),
        };
        let thread = std::thread::spawn(move || {
            // Tasks borrow the executor for as long as they run; one small
            // leak per test server is the simplest way to say so.
            let ex: &'static LocalExecutor<'static> = Box::leak(Box::new(LocalExecutor::new()));
            smol::block_on(ex.run(serve(ex, setup, control_rx, addr_tx)));
        });
        let addr = addr_rx.recv().expect("the server thread binds");
        HubServer {
            addr,
            control,
            written,
            thread: Some(thread),
        }
    }

    /// Data frames the sockets have taken so far, over every connection.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn send(&self, control: Control) {
        self.control.send_blocking(control).expect("server running");
    }
}

impl Drop for HubServer {
    fn drop(&mut self) {
        let _ = self.control.send_blocking(Control::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the server thread is started with.
struct Setup {
    topics: Vec<String>,
    config: HubConfig,
    send_buffer: Option<usize>,
    written: Arc<AtomicU64>,
}

/// Bytes pulled from the hub per write. Small, so that the frames counted
/// as written are those the socket took, give or take one batch.
const BATCH_BYTES: usize = 8 * 1024;

struct Accepting;

impl RoomLogic for Accepting {
    fn on_input(&mut self, _: &mut RoomCtx<'_>, input: &RoomInput<'_>) -> Result<(), RejectCode> {
        if input.data == b"\"ok\"" {
            Ok(())
        } else {
            Err(RejectCode::Invalid)
        }
    }
}

/// Server side of one connection: wake it to write, or close it.
enum ToConn {
    Wake,
    Close(&'static str),
}

struct State {
    hub: Hub,
    start: std::time::Instant,
    conns: BTreeMap<u64, (Sender<ToConn>, Vec<Task<()>>)>,
    timer: Sender<()>,
    send_buffer: Option<usize>,
    written: Arc<AtomicU64>,
}

type Shared = Rc<RefCell<State>>;

fn now(state: &State) -> Instant {
    Instant::from_micros(state.start.elapsed().as_micros() as u64)
}

/// Drains the hub's outputs to the connections and nudges the timer.
fn pump(state: &mut State) {
    while let Some(out) = state.hub.poll_output() {
        let (conn, msg) = match out {
            HubOutput::Wake(ConnId(c)) => (c, ToConn::Wake),
            HubOutput::Close { conn, code } => (conn.0, ToConn::Close(code.as_str())),
            _ => continue,
        };
        if let Some((tx, _)) = state.conns.get(&conn) {
            let _ = tx.try_send(msg);
        }
    }
    let _ = state.timer.try_send(());
}

async fn serve(
    ex: &'static LocalExecutor<'static>,
    setup: Setup,
    control: Receiver<Control>,
    addr: std::sync::mpsc::Sender<SocketAddr>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    addr.send(listener.local_addr().unwrap()).unwrap();
    let (timer_tx, timer_rx) = smol::channel::bounded(1);
    let mut hub = Hub::new(setup.config, [7; 32], 1, Instant::ZERO);
    for topic in &setup.topics {
        hub.open_topic(
            topic,
            TopicConfig::reliable(1_000, onbeat_core::Duration::from_secs(600)),
        )
        .unwrap();
    }
    hub.open_room("room", None, Box::new(Accepting), Instant::ZERO)
        .unwrap();
    let state: Shared = Rc::new(RefCell::new(State {
        hub,
        start: std::time::Instant::now(),
        conns: BTreeMap::new(),
        timer: timer_tx,
        send_buffer: setup.send_buffer,
        written: setup.written,
    }));
    let timers = ex.spawn(run_timer(state.clone(), timer_rx));
    let mut next_conn = 0u64;
    loop {
        let accept = async { Ok(listener.accept().await) };
        let ctl = async { Err(control.recv().await.unwrap_or(Control::Stop)) };
        match smol::future::or(accept, ctl).await {
            Ok(Ok((tcp, _))) => {
                next_conn += 1;
                let conn = next_conn;
                ex.spawn(connection(ex, state.clone(), conn, tcp)).detach();
            }
            Ok(Err(_)) => {}
            Err(Control::Stop) => {
                handle_control(&state, Control::Stop);
                break;
            }
            Err(c) => handle_control(&state, c),
        }
    }
    drop(timers);
}

fn handle_control(state: &Shared, control: Control) {
    let mut s = state.borrow_mut();
    let at = now(&s);
    match control {
        Control::DropAll | Control::Stop => {
            let conns = std::mem::take(&mut s.conns);
            for (conn, _) in conns {
                s.hub.handle_disconnect(ConnId(conn), at);
            }
            if matches!(control, Control::Stop) {
                s.timer.close();
            }
        }
        Control::Publish(topic, data) => {
            s.hub.publish(&topic, &data, None, at).unwrap();
        }
        Control::CloseAll(reason) => {
            for (tx, _) in s.conns.values() {
                let _ = tx.try_send(ToConn::Close(reason));
            }
        }
    }
    pump(&mut s);
}

async fn run_timer(state: Shared, nudge: Receiver<()>) {
    loop {
        let deadline = state.borrow().hub.poll_timeout();
        let start = state.borrow().start;
        let sleep = async {
            match deadline {
                Some(at) => {
                    Timer::at(start + StdDuration::from_micros(at.as_micros())).await;
                }
                None => std::future::pending().await,
            }
            true
        };
        // A nudge only says the deadline may have moved: look again.
        let woken = async {
            let _ = nudge.recv().await;
            false
        };
        let fired = smol::future::or(sleep, woken).await;
        if nudge.is_closed() {
            return;
        }
        if fired {
            let mut s = state.borrow_mut();
            let at = now(&s);
            s.hub.handle_timeout(at);
            pump(&mut s);
        }
    }
}

#[expect(
    clippy::result_large_err,
    reason = "the handshake callback's error type is tungstenite's"
)]
async fn connection(
    ex: &'static LocalExecutor<'static>,
    state: Shared,
    conn: u64,
    tcp: smol::net::TcpStream,
) {
    let (send_buffer, written) = {
        let s = state.borrow();
        (s.send_buffer, s.written.clone())
    };
    if let Some(bytes) = send_buffer {
        rustix::net::sockopt::set_socket_send_buffer_size(&tcp, bytes).unwrap();
    }
    let mut codec = Codec::Json;
    let callback = |request: &Request, mut response: Response| {
        let offered = request
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let chosen = if offered.contains(SUBPROTOCOL_POSTCARD) {
            codec = Codec::Postcard;
            SUBPROTOCOL_POSTCARD
        } else {
            onbeat_core::proto::SUBPROTOCOL_JSON
        };
        response
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(chosen));
        Ok(response)
    };
    let Ok(socket) = async_tungstenite::accept_hdr_async(tcp, callback).await else {
        return;
    };
    let (mut writer, mut reader) = socket.split();
    let (tx, rx) = smol::channel::unbounded();
    {
        let mut s = state.borrow_mut();
        let at = now(&s);
        let caps = Capabilities::new(MemberId::try_from("player").unwrap())
            .subscribe("*")
            .subscribe("*/*")
            .publish("*")
            .publish("*/*")
            .input("*");
        s.hub.handle_connect(ConnId(conn), caps, codec, at).unwrap();
        pump(&mut s);
    }
    let reads = {
        let state = state.clone();
        ex.spawn(async move {
            while let Some(Ok(message)) = reader.next().await {
                let data = match message {
                    Message::Text(t) => Bytes::from(t),
                    Message::Binary(b) => b,
                    Message::Close(_) => break,
                    _ => continue,
                };
                let mut s = state.borrow_mut();
                let at = now(&s);
                let _ = s.hub.handle_frame(ConnId(conn), &data, at);
                pump(&mut s);
            }
            let mut s = state.borrow_mut();
            if s.conns.remove(&conn).is_some() {
                let at = now(&s);
                s.hub.handle_disconnect(ConnId(conn), at);
                pump(&mut s);
            }
        })
    };
    let writes = {
        let state = state.clone();
        ex.spawn(async move {
            let mut batch: Vec<Frame> = Vec::new();
            while let Ok(msg) = rx.recv().await {
                loop {
                    batch.clear();
                    state
                        .borrow_mut()
                        .hub
                        .pull(ConnId(conn), &mut batch, BATCH_BYTES);
                    if batch.is_empty() {
                        break;
                    }
                    for frame in &batch {
                        let bytes = frame.as_bytes().to_vec();
                        let message = match codec {
                            Codec::Json => Message::text(String::from_utf8(bytes).unwrap()),
                            _ => Message::binary(bytes),
                        };
                        if writer.feed(message).await.is_err() {
                            return;
                        }
                    }
                    if writer.flush().await.is_err() {
                        return;
                    }
                    written.fetch_add(batch.len() as u64, Ordering::Relaxed);
                }
                if let ToConn::Close(reason) = msg {
                    let frame = CloseFrame {
                        code: WsClose::Policy,
                        reason: reason.into(),
                    };
                    // The reader reads on until the peer's close reply:
                    // dropping a socket with unread data in it resets the
                    // connection, and the peer then loses what it has not
                    // read yet, the close included.
                    let _ = writer.close(Some(frame)).await;
                    return;
                }
            }
        })
    };
    state
        .borrow_mut()
        .conns
        .insert(conn, (tx.clone(), vec![reads, writes]));
    let _ = tx.try_send(ToConn::Wake);
}
