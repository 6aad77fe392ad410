//! The NATS target: the same workload against nats-server's WebSocket
//! listener, in NATS's text protocol (`CONNECT`, `SUB`, `PUB`, `MSG`,
//! `PING`/`PONG`). Protocol messages may share a WebSocket frame or span
//! several, so each connection parses a byte stream.

use async_tungstenite::tungstenite::Message;
use futures_util::{SinkExt, StreamExt};
use smol::net::TcpStream;

use crate::run::Shared;
use crate::stamp;

type Writer = async_tungstenite::WebSocketSender<TcpStream>;
type Reader = async_tungstenite::WebSocketReceiver<TcpStream>;

pub const CONNECT: &[u8] = b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\n";

/// One parsed protocol message.
#[derive(Debug, PartialEq, Eq)]
pub enum Op<'a> {
    Msg(&'a [u8]),
    Ping,
    Pong,
    Err(&'a [u8]),
    Other,
}

/// A byte stream cut into protocol messages.
#[derive(Default)]
pub struct Parser {
    buf: Vec<u8>,
    pos: usize,
}

impl Parser {
    pub fn push(&mut self, data: &[u8]) {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 64 * 1024 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next complete message, if the bytes so far hold one.
    pub fn next(&mut self) -> Option<Op<'_>> {
        let rest = &self.buf[self.pos..];
        let eol = rest.windows(2).position(|w| w == b"\r\n")?;
        let line = &rest[..eol];
        if let Some(args) = line.strip_prefix(b"MSG ") {
            // MSG <subject> <sid> [reply-to] <#bytes>
            let len = args.rsplit(|&b| b == b' ').next()?;
            let len: usize = std::str::from_utf8(len).ok()?.parse().ok()?;
            let end = eol + 2 + len + 2;
            if rest.len() < end {
                return None;
            }
            let start = self.pos + eol + 2;
            self.pos += end;
            return Some(Op::Msg(&self.buf[start..start + len]));
        }
        let start = self.pos;
        self.pos += eol + 2;
        let line = &self.buf[start..start + eol];
        Some(match line {
            b"PING" => Op::Ping,
            b"PONG" => Op::Pong,
            _ if line.starts_with(b"-ERR") => Op::Err(line),
            _ => Op::Other,
        })
    }
}

async fn open(shared: &Shared) -> Result<(Writer, Reader), String> {
    let _permit = shared.connecting.acquire().await;
    let host = shared
        .url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .ok_or("the NATS URL must be ws://host:port")?;
    let tcp = TcpStream::connect(host).await.map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let (socket, _) = async_tungstenite::client_async(shared.url.as_str(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    Ok(socket.split())
}

/// Sends `commands` then `PING`, and reads until the `PONG`: by then the
/// server has taken the commands.
async fn handshake(
    writer: &mut Writer,
    reader: &mut Reader,
    parser: &mut Parser,
    commands: &[u8],
) -> Result<(), String> {
    let mut first = CONNECT.to_vec();
    first.extend_from_slice(commands);
    first.extend_from_slice(b"PING\r\n");
    writer
        .send(Message::binary(first))
        .await
        .map_err(|e| e.to_string())?;
    loop {
        while let Some(op) = parser.next() {
            match op {
                Op::Pong => return Ok(()),
                Op::Err(e) => return Err(String::from_utf8_lossy(e).into_owned()),
                _ => {}
            }
        }
        match reader.next().await {
            Some(Ok(m)) => parser.push(&m.into_data()),
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("connection closed".to_owned()),
        }
    }
}

/// Reads until the run stops: answers pings, counts errors.
async fn read(shared: &Shared, mut writer: Writer, reader: Reader, mut parser: Parser) {
    let mut frames = std::pin::pin!(reader.take_until(shared.stop.recv()));
    loop {
        let mut pings = 0;
        while let Some(op) = parser.next() {
            match op {
                Op::Msg(_) => {}
                Op::Ping => pings += 1,
                Op::Err(e) => shared.fail("server error", String::from_utf8_lossy(e)),
                Op::Pong | Op::Other => {}
            }
        }
        for _ in 0..pings {
            if writer
                .send(Message::binary(&b"PONG\r\n"[..]))
                .await
                .is_err()
            {
                return shared.fail("write", "PONG");
            }
        }
        match frames.next().await {
            Some(Ok(Message::Close(c))) => {
                return shared.fail("closed by the server", format!("{c:?}"));
            }
            Some(Ok(m)) => parser.push(&m.into_data()),
            Some(Err(e)) => return shared.fail("read", e),
            None => return,
        }
    }
}

fn subject(shared: &Shared, topic: usize) -> &str {
    &shared.topics[topic]
}

pub async fn publisher(shared: &Shared, index: usize) {
    use std::sync::atomic::Ordering::Relaxed;
    let mut parser = Parser::default();
    let (mut writer, reader) = match async {
        let (mut writer, mut reader) = open(shared).await?;
        handshake(&mut writer, &mut reader, &mut parser, b"").await?;
        Ok::<_, String>((writer, reader))
    }
    .await
    {
        Ok(pair) => pair,
        Err(e) => return shared.fail("publisher", e),
    };
    shared.arrived();
    let until = shared.start().await;
    let interval = shared.interval();
    let mut next = std::time::Instant::now();
    let mut payload = Vec::new();
    let mut k = index;
    let result: Result<(), String> = async {
        while std::time::Instant::now() < until {
            if let Some(interval) = interval {
                smol::Timer::at(next).await;
                next += interval;
            }
            shared.window().await;
            let batch = if interval.is_some() { 1 } else { 32 };
            for _ in 0..batch {
                let t = k % shared.topics.len();
                k += 1;
                stamp::write(&mut payload, shared.payload);
                let mut frame =
                    format!("PUB {} {}\r\n", subject(shared, t), payload.len()).into_bytes();
                frame.extend_from_slice(&payload);
                frame.extend_from_slice(b"\r\n");
                writer
                    .feed(Message::binary(frame))
                    .await
                    .map_err(|e| e.to_string())?;
                shared.counters.sent.fetch_add(1, Relaxed);
                shared.counters.sent_to[t].fetch_add(1, Relaxed);
            }
            writer.flush().await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        shared.fail("publish", e);
    }
    shared.finished.fetch_add(1, Relaxed);
    read(shared, writer, reader, parser).await;
}

pub async fn idle(shared: &Shared) {
    let mut parser = Parser::default();
    let opened = async {
        let (mut writer, mut reader) = open(shared).await?;
        handshake(&mut writer, &mut reader, &mut parser, b"").await?;
        Ok::<_, String>((writer, reader))
    };
    match opened.await {
        Ok((writer, reader)) => {
            shared.arrived();
            read(shared, writer, reader, parser).await;
        }
        Err(e) => shared.fail("idle connection", e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_and_joined_across_frames_parse_the_same() {
        let stream = b"INFO {\"x\":1}\r\nMSG a.b 1 5\r\nhe\r\no\r\nPING\r\nMSG a.b 1 r.x 0\r\n\r\n-ERR 'Slow Consumer'\r\nPONG\r\n";
        let expected = vec![
            "Other".to_owned(),
            "Msg(he\r\no)".to_owned(),
            "Ping".to_owned(),
            "Msg()".to_owned(),
            "Err(-ERR 'Slow Consumer')".to_owned(),
            "Pong".to_owned(),
        ];
        let show = |op: Op<'_>| match op {
            Op::Msg(p) => format!("Msg({})", String::from_utf8_lossy(p)),
            Op::Err(e) => format!("Err({})", String::from_utf8_lossy(e)),
            other => format!("{other:?}"),
        };
        for cut in 1..stream.len() {
            let mut parser = Parser::default();
            let mut seen = Vec::new();
            for part in [&stream[..cut], &stream[cut..]] {
                parser.push(part);
                while let Some(op) = parser.next() {
                    seen.push(show(op));
                }
            }
            assert_eq!(seen, expected, "cut at {cut}");
        }
    }
}
