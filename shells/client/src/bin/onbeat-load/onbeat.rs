//! The onbeat target: the wire protocol spoken directly (hello, subscribe,
//! publish), one WebSocket per connection.

use async_tungstenite::tungstenite::{Bytes, Message};
use futures_util::{SinkExt, StreamExt};
use onbeat_client::transport::{self, Socket, TokenPlacement};
use onbeat_core::proto::{ClientMsg, Hello, PROTOCOL_VERSION, Payload, Publish, ServerMsg};

use crate::run::Shared;
use crate::stamp;

type Writer = async_tungstenite::WebSocketSender<smol::net::TcpStream>;
type Reader = async_tungstenite::WebSocketReceiver<smol::net::TcpStream>;

/// Messages written between flushes at the maximum rate.
const BATCH: usize = 32;

async fn open(shared: &Shared) -> Result<(Writer, Reader), String> {
    let _permit = shared.connecting.acquire().await;
    let token = shared.token.as_deref().map(|t| (t, TokenPlacement::Query));
    let socket: Socket = transport::connect(&shared.url, shared.codec, token, None)
        .await
        .map_err(|e| e.to_string())?;
    let (mut writer, mut reader) = socket.split();
    send(shared, &mut writer, &ClientMsg::Hello(hello())).await?;
    match next_msg(shared, &mut reader).await? {
        Frame::Other(true) => Ok((writer, reader)),
        _ => Err("no welcome".to_owned()),
    }
}

pub fn hello() -> Hello {
    Hello {
        version: PROTOCOL_VERSION,
        resume: None,
        auth: None,
    }
}

async fn send(shared: &Shared, writer: &mut Writer, msg: &ClientMsg<'_>) -> Result<(), String> {
    let message = shared
        .codec
        .encode(msg, &mut Vec::new())
        .map_err(|e| e.to_string())?;
    writer.send(message).await.map_err(|e| e.to_string())
}

/// A frame, as far as a publisher or an idle connection cares.
enum Frame {
    /// An `error` frame.
    Error(String),
    /// Anything else; `true` for a `welcome` or `subscribed`.
    Other(bool),
}

fn classify(shared: &Shared, data: &[u8]) -> Frame {
    match shared.codec.decode(data) {
        Ok(ServerMsg::Welcome(_) | ServerMsg::Subscribed(_)) => Frame::Other(true),
        Ok(ServerMsg::Error(e)) => Frame::Error(format!("{}: {}", e.code, e.message)),
        Ok(_) => Frame::Other(false),
        Err(e) => Frame::Error(format!("undecodable frame: {e}")),
    }
}

async fn next_msg(shared: &Shared, reader: &mut Reader) -> Result<Frame, String> {
    loop {
        let message = reader
            .next()
            .await
            .ok_or("connection closed")?
            .map_err(|e| e.to_string())?;
        let data: Bytes = match message {
            Message::Text(t) => t.into(),
            Message::Binary(b) => b,
            Message::Close(c) => return Err(format!("closed by the server: {c:?}")),
            _ => continue,
        };
        return Ok(classify(shared, &data));
    }
}

/// Reads until the run stops, counting error frames.
async fn read(shared: &Shared, reader: Reader) {
    let mut frames = std::pin::pin!(reader.take_until(shared.stop.recv()));
    while let Some(message) = frames.next().await {
        let data: Bytes = match message {
            Ok(Message::Text(t)) => t.into(),
            Ok(Message::Binary(b)) => b,
            Ok(Message::Close(c)) => {
                shared.fail("closed by the server", format!("{c:?}"));
                return;
            }
            Ok(_) => continue,
            Err(e) => {
                shared.fail("read", e);
                return;
            }
        };
        match classify(shared, &data) {
            Frame::Error(e) => shared.fail("server error", e),
            Frame::Other(_) => {}
        }
    }
}

pub async fn publisher(shared: &Shared, index: usize) {
    let (mut writer, reader) = match open(shared).await {
        Ok(pair) => pair,
        Err(e) => return shared.fail("publisher", e),
    };
    shared.arrived();
    let errors = read(shared, reader);
    let sending = async {
        let result = publish(shared, index, &mut writer).await;
        if let Err(e) = result {
            shared.fail("publish", e);
        }
        shared
            .finished
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Keep the connection open (and its errors read) until the end.
        let _ = shared.stop.recv().await;
    };
    futures_util::future::join(errors, sending).await;
}

async fn publish(shared: &Shared, index: usize, writer: &mut Writer) -> Result<(), String> {
    use std::sync::atomic::Ordering::Relaxed;
    let until = shared.start().await;
    let interval = shared.interval();
    let mut next = std::time::Instant::now();
    let (mut payload, mut scratch) = (Vec::new(), Vec::new());
    let topics: Vec<onbeat_core::proto::Topic> = shared
        .topics
        .iter()
        .map(|t| t.as_str().try_into().map_err(|_| "topic name too long"))
        .collect::<Result<_, _>>()?;
    let mut k = index;
    while std::time::Instant::now() < until {
        if let Some(interval) = interval {
            smol::Timer::at(next).await;
            next += interval;
        }
        shared.window().await;
        let batch = if interval.is_some() { 1 } else { BATCH };
        for _ in 0..batch {
            let t = k % topics.len();
            k += 1;
            stamp::write(&mut payload, shared.payload);
            let msg = ClientMsg::Publish(Publish {
                topic: topics[t].clone(),
                data: Payload::new(&payload),
                at: None,
                request: None,
            });
            let message = shared
                .codec
                .encode(&msg, &mut scratch)
                .map_err(|e| e.to_string())?;
            writer.feed(message).await.map_err(|e| e.to_string())?;
            shared.counters.sent.fetch_add(1, Relaxed);
            shared.counters.sent_to[t].fetch_add(1, Relaxed);
        }
        writer.flush().await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

pub async fn idle(shared: &Shared) {
    match open(shared).await {
        Ok((_writer, reader)) => {
            shared.arrived();
            read(shared, reader).await;
        }
        Err(e) => shared.fail("idle connection", e),
    }
}
