//! Opening subscriber connections for the readiness loop ([`crate::sink`]):
//! blocking TCP, the HTTP upgrade, and each protocol's setup, framed by
//! tungstenite's `FrameSocket`. What arrived after the setup is handed over
//! with the socket, so the loop starts exactly where the setup stopped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::handshake::client::generate_request;
use async_tungstenite::tungstenite::handshake::derive_accept_key;
use async_tungstenite::tungstenite::http::HeaderValue;
use async_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use async_tungstenite::tungstenite::protocol::frame::{Frame, FrameSocket};
use onbeat_core::proto::{ClientMsg, ServerMsg, Subscribe};

use crate::nats::{self, Op};
use crate::run::Shared;

/// Longest wait for any answer during the setup.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest frame taken during the setup.
const MAX_FRAME: usize = 1 << 20;

/// A subscribed connection, ready for the readiness loop.
pub struct Opened {
    pub stream: TcpStream,
    /// Bytes read past the setup's last frame.
    pub carry: Vec<u8>,
    /// The NATS byte stream's parser (NATS only), with what it holds.
    pub nats: Option<nats::Parser>,
}

/// A WebSocket mask. Servers only unmask, so it need not be unpredictable
/// here; it varies so that it is not a constant either.
pub fn mask() -> [u8; 4] {
    use std::cell::Cell;
    thread_local!(static STATE: Cell<u32> = const { Cell::new(0x9e37_79b9) });
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s.set(x);
        x.to_le_bytes()
    })
}

/// A client data frame (masked, as RFC 6455 requires).
pub fn data_frame(data: impl Into<async_tungstenite::tungstenite::Bytes>, text: bool) -> Frame {
    let kind = if text { Data::Text } else { Data::Binary };
    let mut frame = Frame::message(data, OpCode::Data(kind), true);
    frame.header_mut().mask = Some(mask());
    frame
}

/// TCP and the HTTP upgrade to `url`, offering `subprotocol`.
fn upgrade(url: &str, subprotocol: Option<&str>) -> Result<FrameSocket<TcpStream>, String> {
    let host = url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split(['/', '?']).next())
        .ok_or("the URL must be ws://host:port[/path]")?;
    let mut request = url.into_client_request().map_err(|e| e.to_string())?;
    if let Some(p) = subprotocol {
        let value = HeaderValue::from_str(p).map_err(|e| e.to_string())?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", value);
    }
    let (bytes, key) = generate_request(request).map_err(|e| e.to_string())?;
    let mut tcp = TcpStream::connect(host).map_err(|e| format!("connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(SETUP_TIMEOUT))
        .map_err(|e| e.to_string())?;
    tcp.write_all(&bytes).map_err(|e| e.to_string())?;
    let mut head = Vec::with_capacity(1024);
    let end = loop {
        if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let mut chunk = [0u8; 1024];
        match tcp.read(&mut chunk) {
            Ok(0) => return Err("closed during the upgrade".to_owned()),
            Ok(n) => head.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("upgrade: {e}")),
        }
        if head.len() > 64 * 1024 {
            return Err("upgrade answer too long".to_owned());
        }
    };
    let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
    let status = text.lines().next().unwrap_or_default();
    if !status.starts_with("http/1.1 101") {
        return Err(format!("upgrade refused: {status}"));
    }
    let accept = format!(
        "sec-websocket-accept: {}",
        derive_accept_key(key.as_bytes()).to_ascii_lowercase()
    );
    if !text.lines().any(|l| l.trim_end() == accept) {
        return Err("upgrade: wrong Sec-WebSocket-Accept".to_owned());
    }
    let rest = head[end + 4..].to_vec();
    Ok(FrameSocket::from_partially_read(tcp, rest))
}

fn send(socket: &mut FrameSocket<TcpStream>, frame: Frame) -> Result<(), String> {
    socket.send(frame).map_err(|e| e.to_string())
}

/// The next data frame's payload; answers pings, fails on a close.
fn next_data(socket: &mut FrameSocket<TcpStream>) -> Result<Vec<u8>, String> {
    loop {
        let frame = socket
            .read(Some(MAX_FRAME))
            .map_err(|e| e.to_string())?
            .ok_or("connection closed")?;
        match frame.header().opcode {
            OpCode::Data(_) => return Ok(frame.into_payload().to_vec()),
            OpCode::Control(Control::Ping) => {
                let mut pong = Frame::pong(frame.into_payload());
                pong.header_mut().mask = Some(mask());
                send(socket, pong)?;
            }
            OpCode::Control(Control::Close) => return Err("closed by the server".to_owned()),
            OpCode::Control(_) => {}
        }
    }
}

fn finish(socket: FrameSocket<TcpStream>, nats: Option<nats::Parser>) -> Result<Opened, String> {
    let (stream, rest) = socket.into_inner();
    stream.set_read_timeout(None).map_err(|e| e.to_string())?;
    Ok(Opened {
        stream,
        carry: rest.to_vec(),
        nats,
    })
}

/// An onbeat connection: upgrade, `hello`, `welcome`, `subscribe`,
/// `subscribed`.
pub fn onbeat(shared: &Shared, topic: usize) -> Result<Opened, String> {
    let url = match &shared.token {
        Some(t) if shared.url.contains('?') => format!("{}&token={t}", shared.url),
        Some(t) => format!("{}?token={t}", shared.url),
        None => shared.url.clone(),
    };
    let codec = shared.codec;
    let mut socket = upgrade(&url, Some(codec.subprotocol()))?;
    let text = codec == onbeat_client::Codec::Json;
    let mut scratch = Vec::new();
    let mut say = |socket: &mut FrameSocket<TcpStream>, msg: &ClientMsg<'_>| {
        let message = codec.encode(msg, &mut scratch).map_err(|e| e.to_string())?;
        send(socket, data_frame(message.into_data(), text))
    };
    say(&mut socket, &ClientMsg::Hello(crate::onbeat::hello()))?;
    let Ok(name) = onbeat_core::proto::Topic::try_from(shared.topics[topic].as_str()) else {
        return Err("topic name too long".to_owned());
    };
    let mut subscribed = false;
    let mut welcomed = false;
    while !subscribed {
        let data = next_data(&mut socket)?;
        match codec.decode(&data) {
            Ok(ServerMsg::Welcome(_)) if !welcomed => {
                welcomed = true;
                let subscribe = ClientMsg::Subscribe(Subscribe {
                    topic: name.clone(),
                    since: None,
                });
                say(&mut socket, &subscribe)?;
            }
            Ok(ServerMsg::Subscribed(_)) => subscribed = true,
            Ok(ServerMsg::Error(e)) => return Err(format!("{}: {}", e.code, e.message)),
            Ok(_) => {}
            Err(e) => return Err(format!("undecodable frame: {e}")),
        }
    }
    finish(socket, None)
}

/// A NATS connection: upgrade, `CONNECT`, `SUB`, `PING`, and the `PONG`
/// that says the subscription is registered.
pub fn nats(shared: &Shared, topic: usize) -> Result<Opened, String> {
    let mut socket = upgrade(&shared.url, None)?;
    let mut first = nats::CONNECT.to_vec();
    first.extend_from_slice(format!("SUB {} 1\r\nPING\r\n", shared.topics[topic]).as_bytes());
    send(&mut socket, data_frame(first, false))?;
    let mut parser = nats::Parser::default();
    loop {
        while let Some(op) = parser.next() {
            match op {
                Op::Pong => return finish(socket, Some(parser)),
                Op::Err(e) => return Err(String::from_utf8_lossy(e).into_owned()),
                _ => {}
            }
        }
        let data = next_data(&mut socket)?;
        parser.push(&data);
    }
}
