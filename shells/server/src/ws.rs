//! One WebSocket connection: a reader feeding the hub and a writer fed by it.
//!
//! The reader checks what the hub cannot see (frame type against the
//! subprotocol, UTF-8, size, rate) and forwards data frames unparsed. The
//! writer takes one batch at a time from the hub (see [`crate::driver`]) and
//! writes it to the socket itself (see [`crate::socket`]).

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::error::CapacityError;
use async_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use async_tungstenite::tungstenite::{Error as WsError, Message};
use bytes::Bytes;
use futures_util::StreamExt;
use onbeat_core::dispatch::hub::{Capabilities, Codec, ConnId, home_of_hello};
use onbeat_core::proto::ErrorCode;
use smol::Task;
use smol::channel::TrySendError;

use crate::close;
use crate::driver::{Connect, ToConn, ToHub};
use crate::mailbox::{Control, Mailbox, mailbox};
use crate::rate::FrameBudget;
use crate::server::Shared;
use crate::socket::{ReadSide, Socket};
use crate::writer;

/// How long a connection whose reader has ended gives its writer to write
/// what it has left.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// Serves one upgraded connection until it ends: `socket`, with `early`
/// the bytes that arrived after the upgrade request. `caps` is the verified
/// credential, or why it was refused.
///
/// A plain function returning the connection's future, so that the future
/// holds only what a connection needs while it lives: an `async fn` keeps
/// its arguments (the unsplit WebSocket, the capabilities) for its whole
/// life, which was a third of an idle connection's task.
pub(crate) fn serve(
    socket: Socket,
    early: Vec<u8>,
    config: WebSocketConfig,
    codec: Codec,
    caps: Result<Capabilities, String>,
    shared: Arc<Shared>,
) -> impl Future<Output = ()> + Send + 'static {
    let conn = ConnId(shared.next_conn.fetch_add(1, Ordering::Relaxed));
    shared.metrics.connections_opened.inc();
    shared.metrics.connections_open.inc();
    // A new connection may go to any hub until its hello says otherwise.
    let hubs = shared.hubs.len() as u64;
    let (mailbox, inbox) = mailbox((conn.0 % hubs) as u16);
    let read_side = ReadSide::new(socket.clone(), mailbox.control());
    let closing = mailbox.control();
    let close_timeout = Duration::from_millis(shared.config.limits.close_timeout_ms);
    let connect = caps.map(|caps| {
        // What it takes to hand the connection to another hub, kept until
        // its first frame: only a server of several hubs needs it.
        let moving = (hubs > 1).then(|| Box::new((caps.clone(), socket.clone())));
        let connect = Box::new(Connect {
            conn,
            caps,
            codec,
            mailbox: mailbox.clone(),
            socket: socket.clone(),
        });
        (connect, moving)
    });
    async move {
        let mut stream =
            WebSocketStream::from_partially_read(read_side, early, Role::Server, Some(config))
                .await;
        // The writer is a task of its own: polled with the reader in one
        // task, every batch the hub handed over also polled the reader,
        // which costs a failed read and a re-registration with the reactor
        // per write.
        let writer = match shared.executor.upgrade() {
            Some(ex) => ex.spawn(writer::write_task(
                socket,
                conn,
                codec,
                shared.clone(),
                inbox,
            )),
            None => {
                shared.metrics.connections_open.dec();
                return;
            }
        };
        match connect {
            Ok((connect, moving)) => {
                if to_hub(&shared, mailbox.hub(), ToHub::Connect(connect)).await {
                    let reader = pin!(read(&mut stream, conn, codec, &shared, mailbox, moving));
                    both_or_linger(reader, writer, &closing, close_timeout).await;
                } else {
                    drop(mailbox);
                    writer.cancel().await;
                }
                to_hub(&shared, closing.hub(), ToHub::Disconnect { conn }).await;
            }
            Err(why) => {
                tracing::debug!(conn = conn.0, %why, "refused credential");
                shared.metrics.error("unauthorized");
                shared.metrics.close("unauthorized");
                let last = close::error_frame(codec, ErrorCode::Unauthorized, &why);
                let _ = mailbox.post(ToConn::Close {
                    code: close::POLICY,
                    reason: "unauthorized",
                    last: Some(last),
                });
                drop(mailbox);
                both_or_linger(pin!(drain(&mut stream)), writer, &closing, close_timeout).await;
            }
        }
        shared.metrics.connections_open.dec();
    }
}

/// Sends `msg` to hub number `hub`, trying at once (before the future is
/// polled); resolves to `false` if the hub is gone. The channel's send
/// future is boxed, and only when the channel is full, so that a
/// connection's future does not carry room for it and the message while
/// idle.
pub(crate) fn to_hub<'a>(
    shared: &'a Shared,
    hub: usize,
    msg: ToHub,
) -> impl Future<Output = bool> + 'a {
    let hub = &shared.hubs[hub];
    let sent = match hub.try_send(msg) {
        Ok(()) => Ok(true),
        Err(TrySendError::Full(msg)) => Err(Box::pin(hub.send(msg))),
        Err(TrySendError::Closed(_)) => Ok(false),
    };
    async move {
        match sent {
            Ok(sent) => sent,
            Err(sending) => sending.await.is_ok(),
        }
    }
}

/// Which side of a connection [`both_or_linger`] saw end first.
enum Ended {
    Reader,
    Writer,
    /// Neither, but a close was posted to the writer.
    Closing,
}

/// Runs a connection's reader and its writer task until both end; once one
/// has, the other gets a bounded time to finish, and is then cancelled.
///
/// - The reader ended (the peer closed or broke a rule): the writer gets
///   [`CLOSE_LINGER`] for its last frames and the close.
/// - A close was posted: the writer gets `close_timeout` to write what is
///   left and the close. A peer that stopped reading would otherwise hold
///   its connection, and what is stuck in its socket buffer, for ever.
/// - The writer is done: the reader reads on, for up to `close_timeout`,
///   until the peer's close reply. Dropping a socket with unread data in it
///   sends a reset, and a reset makes the peer discard what it has not read
///   yet, the close frame included; a peer still reading megabytes of
///   backlog needs more than a moment.
///
/// The reader is pinned by the caller: taken by value, it would be stored
/// twice in this future.
async fn both_or_linger<R>(
    mut reader: Pin<&mut R>,
    mut writer: Task<()>,
    closing: &Control,
    close_timeout: Duration,
) where
    R: Future<Output = ()>,
{
    let first = smol::future::or(
        async {
            reader.as_mut().await;
            Ended::Reader
        },
        smol::future::or(
            async {
                (&mut writer).await;
                Ended::Writer
            },
            async {
                closing.closing().await;
                Ended::Closing
            },
        ),
    )
    .await;
    Box::pin(linger(reader, writer, first, close_timeout)).await
}

/// What [`both_or_linger`] does once one side has ended or a close was
/// posted; boxed, so that only closing connections pay for its timers.
async fn linger<R>(reader: Pin<&mut R>, mut writer: Task<()>, first: Ended, close_timeout: Duration)
where
    R: Future<Output = ()>,
{
    match first {
        Ended::Writer => {
            within(reader, close_timeout).await;
        }
        Ended::Reader => {
            within(writer, CLOSE_LINGER).await;
        }
        Ended::Closing => {
            // The reader reads on meanwhile: what the peer sends must not
            // pile up unread while the writer waits for it to read.
            let mut reader = reader;
            let first = smol::future::or(
                async {
                    (&mut writer).await;
                    Some(Ended::Writer)
                },
                smol::future::or(
                    async {
                        reader.as_mut().await;
                        Some(Ended::Reader)
                    },
                    async {
                        smol::Timer::after(close_timeout).await;
                        None
                    },
                ),
            )
            .await;
            match first {
                Some(Ended::Writer) => {
                    within(reader, close_timeout).await;
                }
                Some(_) => {
                    within(writer, CLOSE_LINGER).await;
                }
                None => {}
            }
        }
    }
}

/// Whether `side` ended within `time`.
async fn within(side: impl Future<Output = ()>, time: Duration) -> bool {
    smol::future::or(
        async {
            side.await;
            true
        },
        async {
            smol::Timer::after(time).await;
            false
        },
    )
    .await
}

/// Forwards data frames to the hub until the peer closes or breaks a rule.
/// Dropping `mailbox` when done lets the writer end once the hub lets go
/// too.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn stores its arguments twice"
)]
fn read<'a>(
    stream: &'a mut WebSocketStream<ReadSide>,
    conn: ConnId,
    codec: Codec,
    shared: &'a Shared,
    mailbox: Mailbox,
    mut moving: Option<Box<(Capabilities, Socket)>>,
) -> impl Future<Output = ()> + 'a {
    async move {
        let limits = &shared.config.limits;
        let mut budget =
            FrameBudget::new(limits.frames_per_sec, limits.frames_burst, Instant::now());
        let fatal = |code: ErrorCode, ws_code: u16, message: &str| {
            shared.metrics.error(code.as_str());
            shared.metrics.close(code.as_str());
            let last = close::error_frame(codec, code, message);
            let _ = mailbox.post(ToConn::Close {
                code: ws_code,
                reason: code.as_str(),
                last: Some(last),
            });
        };
        while let Some(msg) = stream.next().await {
            let data: Bytes = match msg {
                Ok(Message::Text(text)) if codec == Codec::Json => text.into(),
                Ok(Message::Binary(bytes)) if codec == Codec::Postcard => bytes,
                Ok(Message::Text(_) | Message::Binary(_)) => {
                    let what = if codec == Codec::Json {
                        "binary frames are not onbeat.json.v1; use text frames"
                    } else {
                        "text frames are not onbeat.postcard.v1; use binary frames"
                    };
                    fatal(ErrorCode::BadFrame, close::UNSUPPORTED_DATA, what);
                    break;
                }
                Ok(Message::Close(_)) => break,
                Ok(_) => Bytes::new(),
                Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size })) => {
                    let why = format!("frame of {size} bytes exceeds max_frame {max_size}");
                    fatal(ErrorCode::FrameTooLarge, close::TOO_BIG, &why);
                    break;
                }
                Err(WsError::Utf8(_)) => {
                    fatal(
                        ErrorCode::BadFrame,
                        close::INVALID_PAYLOAD,
                        "text frame is not UTF-8",
                    );
                    break;
                }
                Err(e) => {
                    tracing::debug!(conn = conn.0, error = %e, "read failed");
                    shared.metrics.close("read_error");
                    return;
                }
            };
            if !budget.take(Instant::now()) {
                fatal(
                    ErrorCode::RateLimited,
                    close::POLICY,
                    "too many frames; slow down",
                );
                break;
            }
            if data.is_empty() {
                // Pings and pongs: answered by the WebSocket layer.
                continue;
            }
            shared.metrics.frames_in.inc();
            shared.metrics.bytes_in.inc_by(data.len() as u64);
            // Boxed: its state would otherwise be part of every idle
            // connection's future.
            if let Some(moving) = moving.take()
                && !Box::pin(go_home(shared, conn, codec, &mailbox, *moving, &data)).await
            {
                return;
            }
            if !to_hub(shared, mailbox.hub(), ToHub::Frame { conn, data }).await {
                return;
            }
        }
        // The hub stops sending; what the writer still has (a close) goes out
        // while the peer's close reply is awaited.
        to_hub(shared, mailbox.hub(), ToHub::Disconnect { conn }).await;
        Box::pin(drain(stream)).await;
    }
}

/// Before a connection's first frame reaches a hub: if it is a `hello`
/// resuming a session that lives on another hub than the one the
/// connection was given (see the core's `home_of_hello`), the connection
/// leaves that hub, which has nothing of it yet, for the session's. False
/// if a hub is gone.
async fn go_home(
    shared: &Shared,
    conn: ConnId,
    codec: Codec,
    mailbox: &Mailbox,
    (caps, socket): (Capabilities, Socket),
    first: &[u8],
) -> bool {
    let max_frame = shared.config.limits.max_frame;
    let hubs = shared.hubs.len() as u16;
    let Some(home) = home_of_hello(first, codec, max_frame, hubs).map(|h| usize::from(h.0)) else {
        return true;
    };
    let given = mailbox.hub();
    if home == given {
        return true;
    }
    if !to_hub(shared, given, ToHub::Disconnect { conn }).await {
        return false;
    }
    mailbox.set_hub(home);
    let connect = Connect {
        conn,
        caps,
        codec,
        mailbox: mailbox.clone(),
        socket,
    };
    to_hub(shared, home, ToHub::Connect(Box::new(connect))).await
}

/// Reads and drops until the peer closes, so that its close reply is seen.
async fn drain(stream: &mut WebSocketStream<ReadSide>) {
    while let Some(Ok(msg)) = stream.next().await {
        if let Message::Close(_) = msg {
            break;
        }
    }
}

#[cfg(test)]
mod tests;
