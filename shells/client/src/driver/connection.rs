//! One connection's task: it opens the WebSocket and reads it, reporting
//! to the driver, which writes through the [`Writer`] it is handed.

use std::time::Duration;

use async_tungstenite::tungstenite::{Bytes, Message};
use futures_util::{SinkExt, StreamExt};
use smol::channel::Sender;
use smol::{Task, Timer};

use crate::Options;
use crate::transport::{self, CloseInfo, Socket};

/// How long the server has to end the TCP connection after its close
/// frame. Nothing may follow a close frame (RFC 6455 §5.5.1), so leaving
/// after this loses nothing; a server that never ends the connection would
/// otherwise hold the client in it for ever, unable to write (§7.1.1 lets
/// the client close it).
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// The write half of a connection.
pub(super) type Writer = async_tungstenite::WebSocketSender<smol::net::TcpStream>;

/// What a connection task reports; `conn` tells stale reports apart.
pub(super) enum Io {
    Up { conn: u64, writer: Writer },
    Frame { conn: u64, data: Bytes },
    Down { conn: u64, close: Option<CloseInfo> },
}

/// Starts connection number `conn` as `options` say; dropping the task
/// cancels it.
pub(super) fn open(conn: u64, options: &Options, io: Sender<Io>) -> Task<()> {
    let url = options.url.clone();
    let codec = options.codec;
    let token = options.token.clone();
    let placement = options.token_placement;
    let recv_buffer = options.recv_buffer;
    smol::spawn(async move {
        let token = token.as_deref().map(|t| (t, placement));
        let Ok(socket) = transport::connect(&url, codec, token, recv_buffer).await else {
            let _ = io.send(Io::Down { conn, close: None }).await;
            return;
        };
        read(conn, socket, io).await;
    })
}

/// Reads one connection until it ends, reporting to the driver. Each frame
/// waits until the driver takes it, so that an app that falls behind
/// leaves the rest in the socket.
async fn read(conn: u64, socket: Socket, io: Sender<Io>) {
    let (writer, mut reader) = socket.split();
    if io.send(Io::Up { conn, writer }).await.is_err() {
        return;
    }
    let mut close = None;
    while let Some(message) = reader.next().await {
        let data = match message {
            Ok(Message::Text(text)) => Bytes::from(text),
            Ok(Message::Binary(data)) => data,
            Ok(Message::Close(frame)) => {
                close = frame.as_ref().map(CloseInfo::of);
                let rest = async { while reader.next().await.is_some() {} };
                smol::future::or(rest, async {
                    Timer::after(CLOSE_LINGER).await;
                })
                .await;
                break;
            }
            Ok(_) => continue,
            Err(_) => break,
        };
        if io.send(Io::Frame { conn, data }).await.is_err() {
            return;
        }
    }
    let _ = io.send(Io::Down { conn, close }).await;
}

/// Writes `messages` in one flush and empties it; false if a write failed.
pub(super) async fn write(writer: &mut Writer, messages: &mut Vec<Message>) -> bool {
    // Returning early drops the drain, and with it the messages left.
    for message in messages.drain(..) {
        if writer.feed(message).await.is_err() {
            return false;
        }
    }
    writer.flush().await.is_ok()
}
