//! One WebSocket connection: a reader feeding the hub and a writer fed by it.
//!
//! The reader checks what the hub cannot see (frame type against the
//! subprotocol, UTF-8, size, rate) and forwards data frames unparsed. The
//! writer takes one batch at a time from the hub (see [`crate::driver`]) and
//! writes it to the socket itself (see [`crate::socket`]).

mod linger;
mod read;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use onbeat_core::dispatch::hub::{Capabilities, Codec, ConnId};
use onbeat_core::proto::ErrorCode;
use smol::channel::TrySendError;

use crate::close;
use crate::driver::{Connect, ToConn, ToHub};
use crate::mailbox::mailbox;
use crate::server::Shared;
use crate::socket::{ReadSide, Socket};
use crate::writer;
use linger::both_or_linger;
use read::{drain, read};

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

#[cfg(test)]
mod tests;
