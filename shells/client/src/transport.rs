//! Opening a WebSocket to the server: TCP, the HTTP upgrade with the
//! subprotocol and credentials, and the close reasons that come back.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use async_tungstenite::WebSocketStream;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::http::HeaderValue;
use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use async_tungstenite::tungstenite::protocol::frame::CloseFrame;
use rustix::io::Errno;
use rustix::net::{self, AddressFamily, SocketFlags, SocketType, sockopt};
use smol::Async;
use smol::net::TcpStream;

use crate::codec::Codec;

/// A WebSocket over plain TCP.
pub type Socket = WebSocketStream<TcpStream>;

/// How the auth token is presented at the upgrade.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenPlacement {
    /// `?token=<jwt>` on the URL, as a browser must.
    #[default]
    Query,
    /// `Authorization: Bearer <jwt>`.
    Header,
}

/// Why a connection could not be opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not `ws://host:port/path`.
    BadUrl(String),
    /// TCP failed.
    Io(std::io::Error),
    /// The upgrade failed (HTTP status, protocol).
    Handshake(async_tungstenite::tungstenite::Error),
    /// The server did not pick the subprotocol offered.
    Subprotocol(Option<String>),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::BadUrl(url) => write!(f, "not a ws:// URL: {url}"),
            ConnectError::Io(e) => write!(f, "connect: {e}"),
            ConnectError::Handshake(e) => write!(f, "upgrade: {e}"),
            ConnectError::Subprotocol(p) => write!(f, "server chose subprotocol {p:?}"),
        }
    }
}

impl std::error::Error for ConnectError {}

/// How a connection ended, as the server's close frame said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseInfo {
    /// The WebSocket close code (1000 normal, 1008 policy, 1012 restart…).
    pub code: u16,
    /// The reason text.
    pub reason: String,
}

impl CloseInfo {
    pub(crate) fn of(frame: &CloseFrame) -> CloseInfo {
        CloseInfo {
            code: frame.code.into(),
            reason: frame.reason.to_string(),
        }
    }
}

/// Host and port of a `ws://` URL, for the TCP connection.
fn authority(url: &str) -> Result<&str, ConnectError> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| ConnectError::BadUrl(url.to_owned()))?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    match &rest[..end] {
        "" => Err(ConnectError::BadUrl(url.to_owned())),
        host if host.contains(':') => Ok(host),
        _ => Err(ConnectError::BadUrl(format!("{url} (no port)"))),
    }
}

/// The URL with `token` added as a query parameter. Tokens are JWTs
/// (base64url and dots), which need no escaping.
fn with_token(url: &str, token: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}token={token}")
}

/// Opens a WebSocket to `url` speaking `codec`, presenting `token` if given,
/// with `recv_buffer` as the socket's `SO_RCVBUF` if given.
pub async fn connect(
    url: &str,
    codec: Codec,
    token: Option<(&str, TokenPlacement)>,
    recv_buffer: Option<usize>,
) -> Result<Socket, ConnectError> {
    let host = authority(url)?;
    let target = match token {
        Some((token, TokenPlacement::Query)) => with_token(url, token),
        _ => url.to_owned(),
    };
    let mut request = target
        .into_client_request()
        .map_err(ConnectError::Handshake)?;
    let headers = request.headers_mut();
    headers.insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(codec.subprotocol()),
    );
    if let Some((token, TokenPlacement::Header)) = token {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| ConnectError::BadUrl("token is not a header value".to_owned()))?;
        headers.insert("Authorization", value);
    }
    let tcp = match recv_buffer {
        None => TcpStream::connect(host).await,
        Some(bytes) => connect_with_recv_buffer(host, bytes).await,
    }
    .map_err(ConnectError::Io)?;
    tcp.set_nodelay(true).map_err(ConnectError::Io)?;
    let config = WebSocketConfig::default().max_message_size(Some(1 << 20));
    let (socket, response) =
        async_tungstenite::client_async_with_config(request, tcp, Some(config))
            .await
            .map_err(ConnectError::Handshake)?;
    let chosen = response
        .headers()
        .get("Sec-WebSocket-Protocol")
        .and_then(|v| v.to_str().ok());
    if chosen != Some(codec.subprotocol()) {
        return Err(ConnectError::Subprotocol(chosen.map(str::to_owned)));
    }
    Ok(socket)
}

/// A TCP connection to `host` whose receive buffer is `bytes`. The buffer
/// is set before connecting: the window scale offered in the SYN follows
/// from it, and a set size also stops the kernel from growing it.
async fn connect_with_recv_buffer(host: &str, bytes: usize) -> io::Result<TcpStream> {
    let mut last = None;
    for addr in smol::net::resolve(host).await? {
        match connect_one(addr, bytes).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address")))
}

async fn connect_one(addr: SocketAddr, bytes: usize) -> io::Result<TcpStream> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let flags = SocketFlags::CLOEXEC | SocketFlags::NONBLOCK;
    let fd = net::socket_with(family, SocketType::STREAM, flags, None)?;
    sockopt::set_socket_recv_buffer_size(&fd, bytes)?;
    match net::connect(&fd, &addr) {
        Ok(()) | Err(Errno::INPROGRESS) => {}
        Err(e) => return Err(e.into()),
    }
    let stream = Async::new(std::net::TcpStream::from(fd))?;
    // A non-blocking connect is done when the socket turns writable; its
    // outcome is then the socket's pending error.
    stream.writable().await?;
    sockopt::socket_error(&stream)??;
    Ok(TcpStream::from(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_host_and_port_and_take_a_token() {
        assert_eq!(
            authority("ws://127.0.0.1:7700/ws").unwrap(),
            "127.0.0.1:7700"
        );
        assert_eq!(authority("ws://localhost:1?x=1").unwrap(), "localhost:1");
        assert!(authority("http://127.0.0.1:7700/ws").is_err());
        assert!(authority("ws://127.0.0.1/ws").is_err());
        assert_eq!(
            with_token("ws://h:1/ws", "a.b.c"),
            "ws://h:1/ws?token=a.b.c"
        );
        assert_eq!(
            with_token("ws://h:1/ws?x=1", "t"),
            "ws://h:1/ws?x=1&token=t"
        );
    }
}
