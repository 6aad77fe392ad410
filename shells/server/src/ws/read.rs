//! A connection's reader: checks what the hub cannot see and forwards data
//! frames, moving the connection to its session's hub on a resuming `hello`.

use std::future::Future;
use std::time::Instant;

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::error::CapacityError;
use async_tungstenite::tungstenite::{Error as WsError, Message};
use bytes::Bytes;
use futures_util::StreamExt;
use onbeat_core::dispatch::hub::{Capabilities, Codec, ConnId, home_of_hello};
use onbeat_core::proto::ErrorCode;

use super::to_hub;
use crate::close;
use crate::driver::{Connect, ToConn, ToHub};
use crate::mailbox::Mailbox;
use crate::rate::FrameBudget;
use crate::server::Shared;
use crate::socket::{ReadSide, Socket};

/// Forwards data frames to the hub until the peer closes or breaks a rule.
/// Dropping `mailbox` when done lets the writer end once the hub lets go
/// too.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn stores its arguments twice"
)]
pub(super) fn read<'a>(
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
pub(super) async fn drain(stream: &mut WebSocketStream<ReadSide>) {
    while let Some(Ok(msg)) = stream.next().await {
        if let Message::Close(_) = msg {
            break;
        }
    }
}
