//! A connection's writer: writes what the hub hands over, one flush per
//! batch, until a close (see [`crate::ws`]).

// Plain functions returning `async` blocks: an `async fn` stores its
// arguments twice in its future (as arguments and as the locals they are
// moved into), which every idle connection pays for.
#![allow(clippy::manual_async_fn)]

use std::future::{Future, poll_fn};
use std::sync::Arc;
use std::task::ready;

use async_tungstenite::WebSocketSender;
use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::protocol::frame::Frame as WsFrame;
use async_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use async_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use bytes::Bytes;
use futures_util::SinkExt;
use onbeat_core::dispatch::hub::{Codec, ConnId};
use smol::io::{AsyncRead, AsyncWrite};

use crate::driver::{ToConn, ToHub};
use crate::mailbox::Inbox;
use crate::server::Shared;
use crate::ws::to_hub;

/// The writer's task: writes until a close, then gives the sink back.
pub(crate) fn write_task<S>(
    mut sink: WebSocketSender<S>,
    conn: ConnId,
    codec: Codec,
    shared: Arc<Shared>,
    inbox: Inbox,
) -> impl Future<Output = WebSocketSender<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    async move {
        write(&mut sink, conn, codec, &shared, inbox).await;
        sink
    }
}

/// Writes what the hub hands over, one flush per batch, until a close.
fn write<'a, S>(
    sink: &'a mut WebSocketSender<S>,
    conn: ConnId,
    codec: Codec,
    shared: &'a Shared,
    inbox: Inbox,
) -> impl Future<Output = ()> + 'a
where
    S: AsyncRead + AsyncWrite + Unpin + 'a,
{
    async move {
        loop {
            // Taken apart at once, so that the message is not kept across
            // the awaits below.
            let frames = match inbox.recv().await {
                Some(ToConn::Frames(frames)) => frames,
                Some(ToConn::Close { code, reason, last }) => {
                    Box::pin(write_close(sink, codec, code, reason, last)).await;
                    return;
                }
                None => return,
            };
            let count = frames.len();
            let bytes: usize = frames.iter().map(Bytes::len).sum();
            let result = write_batch(sink, frames, codec).await;
            shared.metrics.hub_pulled_unwritten.dec_by(count as i64);
            if let Err(e) = result {
                tracing::debug!(conn = conn.0, error = %e, "write failed");
                return;
            }
            shared.metrics.frames_out.inc_by(count as u64);
            shared.metrics.bytes_out.inc_by(bytes as u64);
            shared.metrics.writes.inc();
            if inbox.writer().done() && !to_hub(shared, ToHub::Written { conn }).await {
                return;
            }
        }
    }
}

/// Writes one batch and flushes it.
///
/// Polls the sink by hand: `feed` futures would each hold a message in the
/// writer's future for as long as the connection lives.
fn write_batch<S>(
    sink: &mut WebSocketSender<S>,
    frames: Vec<Bytes>,
    codec: Codec,
) -> impl Future<Output = Result<(), WsError>> + '_
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut frames = frames.into_iter();
    poll_fn(move |cx| {
        while frames.len() > 0 {
            ready!(sink.poll_ready_unpin(cx))?;
            if let Some(frame) = frames.next() {
                sink.start_send_unpin(message(frame, codec))?;
            }
        }
        sink.poll_flush_unpin(cx)
    })
}

/// Writes a connection's last frame, if any, and its close frame.
async fn write_close<S>(
    sink: &mut WebSocketSender<S>,
    codec: Codec,
    code: u16,
    reason: &'static str,
    last: Option<Bytes>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if let Some(last) = last {
        let msg = match codec {
            Codec::Postcard => Message::Binary(last),
            // Error frames are encoded from Rust strings.
            _ => Message::Text(Utf8Bytes::try_from(last).unwrap_or_default()),
        };
        let _ = sink.feed(msg).await;
    }
    let frame = CloseFrame {
        code: code.into(),
        reason: reason.into(),
    };
    let _ = sink.send(Message::Close(Some(frame))).await;
}

/// The WebSocket message carrying `frame`, sharing its bytes.
///
/// A ready-made data frame rather than `Message::Text`: the hub encodes JSON
/// frames from Rust strings, so they are UTF-8 already, and one frame goes
/// to every subscriber, so checking it again per connection was a scan of
/// every delivered byte.
fn message(frame: Bytes, codec: Codec) -> Message {
    let data = match codec {
        Codec::Postcard => Data::Binary,
        _ => Data::Text,
    };
    Message::Frame(WsFrame::message(frame, OpCode::Data(data), true))
}
