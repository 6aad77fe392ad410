//! A server on loopback and a raw WebSocket client for the end-to-end tests.

#![allow(dead_code)]

use std::io;
use std::time::{Duration, Instant};

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::http::HeaderValue;
use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::{Error as WsError, Message};
use futures_util::StreamExt;
use onbeat_server::auth;
use onbeat_server::{Config, Server};
use serde_json::Value;
use smol::net::TcpStream;

/// The secret every test server signs with.
pub const SECRET: &str = "test-secret";

/// The loopback test config with two I/O threads, so that connections
/// and the hub also meet across threads.
pub fn config() -> Config {
    Config {
        threads: 2,
        ..Config::loopback(SECRET)
    }
}

/// Current Unix seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token for `sub` with `grants` (the `--allow` grammar), valid for an hour.
pub fn token(sub: &str, grants: &[&str]) -> String {
    auth::mint_grants(SECRET.as_bytes(), sub, grants, unix_now(), 3600).unwrap()
}

/// How to open a connection.
#[derive(Clone, Default)]
pub struct Open<'a> {
    pub token: Option<&'a str>,
    pub postcard: bool,
    pub origin: Option<&'a str>,
    /// The client socket's receive buffer (`SO_RCVBUF`), set before it
    /// connects so that the window it offers stays small.
    pub recv_buffer: Option<usize>,
}

pub type Ws = WebSocketStream<TcpStream>;

/// Opens a WebSocket to `server`'s `/ws`.
pub async fn open(server: &Server, how: Open<'_>) -> Result<Ws, WsError> {
    let addr = server.local_addr();
    let url = match how.token {
        Some(t) => format!("ws://{addr}/ws?token={t}"),
        None => format!("ws://{addr}/ws"),
    };
    let mut req = url.into_client_request()?;
    let proto = if how.postcard {
        "onbeat.postcard.v1"
    } else {
        "onbeat.json.v1"
    };
    req.headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static(proto));
    if let Some(origin) = how.origin {
        req.headers_mut()
            .insert("origin", HeaderValue::from_str(origin).unwrap());
    }
    let tcp = match how.recv_buffer {
        None => TcpStream::connect(addr).await?,
        Some(size) => {
            use rustix::net::{AddressFamily, SocketType, connect, socket, sockopt};
            let fd =
                socket(AddressFamily::INET, SocketType::STREAM, None).map_err(io::Error::from)?;
            sockopt::set_socket_recv_buffer_size(&fd, size).map_err(io::Error::from)?;
            connect(&fd, &addr).map_err(io::Error::from)?;
            TcpStream::try_from(std::net::TcpStream::from(fd))?
        }
    };
    let (ws, _) = async_tungstenite::client_async(req, tcp).await?;
    Ok(ws)
}

/// Sends one JSON text frame.
pub async fn send(ws: &mut Ws, json: &str) {
    ws.send(Message::text(json)).await.unwrap();
}

/// What a connection received next.
#[derive(Debug)]
pub enum Got {
    Json(Value),
    Binary(Vec<u8>),
    Closed(Option<CloseFrame>),
}

/// The next WebSocket message of any kind, control frames included, if
/// one arrives before `deadline`.
pub async fn message_before(ws: &mut Ws, deadline: Instant) -> Option<Result<Message, WsError>> {
    let left = deadline.checked_duration_since(Instant::now())?;
    smol::future::or(async { ws.next().await }, async {
        smol::Timer::after(left).await;
        None
    })
    .await
}

/// The next data or close frame, within `within`.
pub async fn next(ws: &mut Ws, within: Duration) -> Option<Got> {
    let deadline = Instant::now() + within;
    loop {
        match message_before(ws, deadline).await {
            Some(Ok(Message::Text(t))) => {
                return Some(Got::Json(serde_json::from_str(&t).unwrap()));
            }
            Some(Ok(Message::Binary(b))) => return Some(Got::Binary(b.to_vec())),
            Some(Ok(Message::Close(c))) => return Some(Got::Closed(c)),
            Some(Ok(_)) => continue,
            Some(Err(_)) => return Some(Got::Closed(None)),
            None => return None,
        }
    }
}

/// The next JSON message whose single key is `kind`, skipping others.
pub async fn expect(ws: &mut Ws, kind: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .unwrap_or_else(|| panic!("no {kind} within {within:?}"));
        match next(ws, left).await {
            Some(Got::Json(v)) if v.get(kind).is_some() => return v[kind].clone(),
            Some(Got::Json(_)) => continue,
            other => panic!("waiting for {kind}, got {other:?}"),
        }
    }
}

/// Reads until the close frame, returning its code and the last `error`
/// received before it.
pub async fn closed(ws: &mut Ws, within: Duration) -> (u16, Option<Value>) {
    let mut error = None;
    let deadline = Instant::now() + within;
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .expect("no close in time");
        match next(ws, left).await {
            Some(Got::Json(v)) if v.get("error").is_some() => error = Some(v["error"].clone()),
            Some(Got::Closed(Some(frame))) => return (frame.code.into(), error),
            Some(Got::Closed(None)) => panic!("connection dropped without a close frame"),
            Some(_) => continue,
            None => panic!("no close in time"),
        }
    }
}

/// `hello` and the `welcome` back.
pub async fn hello(ws: &mut Ws) -> Value {
    send(ws, r#"{"hello":{"version":1}}"#).await;
    expect(ws, "welcome", Duration::from_secs(5)).await
}

/// One HTTP/1.1 request over a fresh connection: (status, headers, body).
pub async fn http(server: &Server, request: &str) -> (u16, String, String) {
    use smol::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

/// A GET with `Connection: close`.
pub async fn get(server: &Server, path: &str) -> (u16, String, String) {
    http(
        server,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
    .await
}

/// Sum of a counter family's samples in `/metrics` whose line starts with `prefix`.
pub async fn metric(server: &Server, prefix: &str) -> f64 {
    let (_, _, body) = get(server, "/metrics").await;
    body.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A POST of `body` with `Connection: close`.
pub async fn post(server: &Server, path: &str, body: &str) -> (u16, String, String) {
    http(
        server,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
    .await
}

/// A JSON connection presenting `token`.
pub async fn open_with(server: &Server, token: &str) -> Ws {
    let how = Open {
        token: Some(token),
        ..Open::default()
    };
    open(server, how).await.unwrap()
}

/// A postcard connection without a token.
pub async fn open_postcard(server: &Server) -> Ws {
    let how = Open {
        postcard: true,
        ..Open::default()
    };
    open(server, how).await.unwrap()
}

/// postcard `hello{version 1}` and the binary `welcome` back.
pub async fn postcard_hello(ws: &mut Ws) -> Vec<u8> {
    // variant 0, version 1, no resume, no auth
    ws.send(Message::binary(vec![0, 1, 0, 0])).await.unwrap();
    match next(ws, Duration::from_secs(5)).await {
        Some(Got::Binary(welcome)) => welcome,
        other => panic!("no binary welcome: {other:?}"),
    }
}
