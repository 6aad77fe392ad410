//! The socket under one WebSocket connection, shared by its reader and its
//! writer.
//!
//! The writer writes the hub's frames straight to the socket (see
//! [`crate::writer`]): a frame goes out as its header and the shared frame
//! itself, gathered into one `writev`, so a fanned-out frame is never copied
//! into a per-connection buffer. The WebSocket layer only reads. What it
//! writes on its own — the pong to a ping, the reply to the peer's close —
//! reaches the writer as a control message through [`ReadSide`], and the
//! writer sends it between batches, so it can never land inside a frame.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use smol::Async;
use smol::io::{AsyncRead, AsyncWrite};

use crate::mailbox::Control;

/// A connection's socket.
pub(crate) type Socket = Arc<Async<std::net::TcpStream>>;

/// What the WebSocket layer reads from and "writes" to: reads come from the
/// socket; writes become control messages for the connection's writer.
pub(crate) struct ReadSide {
    socket: Socket,
    control: Control,
}

impl ReadSide {
    /// The reading side of `socket`, whose writes go to the writer through
    /// `control`.
    pub(crate) fn new(socket: Socket, control: Control) -> Self {
        ReadSide { socket, control }
    }
}

impl AsyncRead for ReadSide {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut socket: &Async<std::net::TcpStream> = &self.socket;
        Pin::new(&mut socket).poll_read(cx, buf)
    }
}

impl AsyncWrite for ReadSide {
    /// Takes all of `buf` at once: the WebSocket layer writes whole frames
    /// from its buffer, so every call starts at a frame boundary and the
    /// writer may send (or, past its bound, drop) each call's bytes whole.
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.control.post(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
