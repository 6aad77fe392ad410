//! A connection's writer: writes what the hub hands over straight to the
//! socket, one batch at a time, until a close (see [`crate::ws`] and
//! [`crate::socket`]).
//!
//! A batch goes out as the WebSocket header of each frame (formatted by
//! tungstenite) and the hub's shared frame itself, gathered into one
//! `sendmsg`: the frame's bytes are copied once, by the kernel, and a
//! connection keeps no write buffer of its own between batches.

// Plain functions returning `async` blocks: an `async fn` stores its
// arguments twice in its future (as arguments and as the locals they are
// moved into), which every idle connection pays for.
#![allow(clippy::manual_async_fn)]

use std::future::Future;
use std::io::{self, IoSlice, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;

use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use async_tungstenite::tungstenite::protocol::frame::{Frame as WsFrame, FrameHeader};
use bytes::Bytes;
use onbeat_core::dispatch::hub::{Codec, ConnId, Frame};

use crate::driver::{ToConn, ToHub};
use crate::mailbox::{Inbox, frames_in};
use crate::metrics::Metrics;
use crate::server::Shared;
use crate::socket::Socket;
use crate::turn::Asked;
use crate::ws::to_hub;

/// Frames gathered into one `sendmsg`: two slices each, within Linux's
/// `IOV_MAX` of 1,024. A larger batch takes one call per this many frames.
const GATHER: usize = 512;

/// The longest header of an unmasked (server to client) frame.
const MAX_HEAD: usize = 10;

/// The writer's task: writes until a close or a failed write.
pub(crate) fn write_task(
    socket: Socket,
    conn: ConnId,
    codec: Codec,
    shared: Arc<Shared>,
    inbox: Inbox,
) -> impl Future<Output = ()> {
    async move {
        // However the writer ends (cancelled included), what it was handed
        // and never wrote comes off the gauge.
        let _left = Left(&inbox, &shared.metrics);
        let opcode = OpCode::Data(match codec {
            Codec::Postcard => Data::Binary,
            _ => Data::Text,
        });
        loop {
            let Some(msg) = inbox.recv().await else {
                return;
            };
            // Comes off the gauge however the task ends while holding it.
            let held = Unwritten(&shared.metrics, frames_in(&msg));
            // Anything but the rest of a direct write waits for the turn;
            // when that comes with such a rest, the rest goes first.
            if !matches!(msg, ToConn::Handed { .. }) && inbox.my_turn().await == Asked::HandedOver {
                // Back in the queue, where `Left` counts it.
                std::mem::forget(held);
                inbox.put_back(msg);
                continue;
            }
            let result = match msg {
                ToConn::Frames(frames) => write_batch(&socket, frames, 0, opcode, held).await,
                ToConn::Handed { frames, skip } => {
                    write_batch(&socket, frames, skip, opcode, held).await
                }
                ToConn::Control(bytes) => write_raw(&socket, &bytes).await,
                ToConn::Close { code, reason, last } => {
                    // Boxed: only a closing connection needs room for it.
                    let closing = Box::pin(write_close(&socket, opcode, code, reason, last));
                    if let Err(e) = closing.await {
                        tracing::debug!(conn = conn.0, error = %e, "close failed");
                    }
                    return;
                }
            };
            if let Err(e) = result {
                tracing::debug!(conn = conn.0, error = %e, "write failed");
                return;
            }
            if inbox.turn().done() && !to_hub(&shared, inbox.hub(), ToHub::Written { conn }).await {
                return;
            }
        }
    }
}

/// Writes a batch from byte `skip` on (headers included) and counts it;
/// `held` comes off the gauge either way.
fn write_batch<'a>(
    socket: &'a Socket,
    frames: Vec<Frame>,
    skip: usize,
    opcode: OpCode,
    held: Unwritten<'a>,
) -> impl Future<Output = io::Result<()>> + 'a {
    async move {
        write_frames(socket, &frames, opcode, skip).await?;
        let metrics = held.0;
        metrics.frames_out.inc_by(frames.len() as u64);
        metrics
            .bytes_out
            .inc_by(frames.iter().map(|f| f.len() as u64).sum());
        metrics.writes.inc();
        drop(held);
        Ok(())
    }
}

/// Frames pulled from the hub and not yet written, taken off the gauge when
/// written, failed, or dropped with a writer that gave up on its peer.
struct Unwritten<'a>(&'a Metrics, usize);

impl Drop for Unwritten<'_> {
    fn drop(&mut self) {
        self.0.hub_pulled_unwritten.dec_by(self.1 as i64);
    }
}

/// A writer's queue, emptied when the writer ends.
struct Left<'a>(&'a Inbox, &'a Metrics);

impl Drop for Left<'_> {
    fn drop(&mut self) {
        self.1.hub_pulled_unwritten.dec_by(self.0.discard() as i64);
    }
}

/// Writes `last` (an `error` frame) if any, then a close frame with `code`,
/// then ends the sending direction. A close reply that the WebSocket layer
/// produces later finds the writer gone and is dropped: the close was sent.
async fn write_close(
    socket: &Socket,
    opcode: OpCode,
    code: u16,
    reason: &'static str,
    last: Option<Bytes>,
) -> io::Result<()> {
    if let Some(last) = last {
        write_frames(socket, &[last], opcode, 0).await?;
    }
    let mut close = Vec::new();
    WsFrame::close(Some(CloseFrame {
        code: code.into(),
        reason: reason.into(),
    }))
    .format(&mut close)
    .map_err(io::Error::other)?;
    write_raw(socket, &close).await?;
    socket.get_ref().shutdown(Shutdown::Write)
}

/// Writes `bytes` as they are.
fn write_raw<'a>(socket: &'a Socket, bytes: &'a [u8]) -> impl Future<Output = io::Result<()>> + 'a {
    async move {
        let mut written = 0;
        while written < bytes.len() {
            let sent = nonzero(Write::write(&mut socket.get_ref(), &bytes[written..]));
            written += when_writable(socket, sent).await?;
        }
        Ok(())
    }
}

/// What a non-blocking write `sent`; if the socket would block, nothing,
/// once it is writable again.
async fn when_writable(socket: &Socket, sent: io::Result<usize>) -> io::Result<usize> {
    match sent {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => socket.writable().await.map(|()| 0),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
        other => other,
    }
}

/// The bytes `frames` take on the stream, headers included.
pub(crate) fn batch_len<P: AsRef<[u8]>>(frames: &[P]) -> usize {
    frames
        .iter()
        .map(|f| header_len(f.as_ref().len()) + f.as_ref().len())
        .sum()
}

/// Writes each of `frames` as one final data frame of type `opcode`, from
/// byte `skip` of the batch on.
fn write_frames<'a, P: AsRef<[u8]>>(
    socket: &'a Socket,
    frames: &'a [P],
    opcode: OpCode,
    skip: usize,
) -> impl Future<Output = io::Result<()>> + 'a {
    async move {
        let total = batch_len(frames);
        let mut written = skip;
        while written < total {
            let sent = write_some(socket.get_ref(), frames, opcode, written);
            written += when_writable(socket, sent).await?;
        }
        Ok(())
    }
}

/// One `sendmsg` of the frames from byte `skip` of the batch on (headers
/// included), up to [`GATHER`] frames; how many bytes the socket took.
pub(crate) fn write_some<P: AsRef<[u8]>>(
    socket: &TcpStream,
    frames: &[P],
    opcode: OpCode,
    mut skip: usize,
) -> io::Result<usize> {
    let mut first = 0;
    while let Some(f) = frames.get(first) {
        let size = header_len(f.as_ref().len()) + f.as_ref().len();
        if skip < size {
            break;
        }
        skip -= size;
        first += 1;
    }
    let window = &frames[first..frames.len().min(first + GATHER)];
    // Sized for the window: most batches are a frame or two, and clearing
    // room for 512 on every write cost more than the write's own work.
    if window.len() <= SMALL {
        gather::<P, SMALL, { 2 * SMALL }>(socket, window, opcode, skip)
    } else {
        gather::<P, GATHER, { 2 * GATHER }>(socket, window, opcode, skip)
    }
}

/// Frames a batch usually has at most.
const SMALL: usize = 4;

/// Sends `window` (at most `N` frames), its first `skip` bytes left out.
fn gather<P: AsRef<[u8]>, const N: usize, const SLICES: usize>(
    socket: &TcpStream,
    window: &[P],
    opcode: OpCode,
    skip: usize,
) -> io::Result<usize> {
    let mut heads = [[0u8; MAX_HEAD]; N];
    let mut head_lens = [0u8; N];
    for (i, f) in window.iter().enumerate() {
        head_lens[i] = header(opcode, f.as_ref().len(), &mut heads[i])?;
    }
    let mut slices = [IoSlice::new(&[]); SLICES];
    let mut n = 0;
    for (i, f) in window.iter().enumerate() {
        let head = &heads[i][..usize::from(head_lens[i])];
        let payload = f.as_ref();
        // Only the first frame can be partly written already.
        let (head, payload) = if i == 0 && skip >= head.len() {
            (&head[head.len()..], &payload[skip - head.len()..])
        } else if i == 0 {
            (&head[skip..], payload)
        } else {
            (head, payload)
        };
        for part in [head, payload] {
            if !part.is_empty() {
                slices[n] = IoSlice::new(part);
                n += 1;
            }
        }
    }
    // `sendmsg` rather than `writev`: a socket call skips the file layer.
    let sent = rustix::net::sendmsg(
        socket,
        &slices[..n],
        &mut rustix::net::SendAncillaryBuffer::default(),
        rustix::net::SendFlags::NOSIGNAL,
    );
    nonzero(sent.map_err(io::Error::from))
}

/// A write that took nothing although there was something to take means
/// the socket cannot take more.
fn nonzero(written: io::Result<usize>) -> io::Result<usize> {
    match written {
        Ok(0) => Err(io::ErrorKind::WriteZero.into()),
        other => other,
    }
}

/// The header of a final, unmasked data frame of `len` bytes, formatted by
/// tungstenite into `out`; its length.
fn header(opcode: OpCode, len: usize, out: &mut [u8; MAX_HEAD]) -> io::Result<u8> {
    let header = FrameHeader {
        opcode,
        ..FrameHeader::default()
    };
    let mut rest = &mut out[..];
    header
        .format(len as u64, &mut rest)
        .map_err(io::Error::other)?;
    let used = MAX_HEAD - rest.len();
    Ok(used as u8)
}

/// The length of [`header`]'s output.
fn header_len(len: usize) -> usize {
    FrameHeader::default().len(len as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_io::{pair, read_frames};
    use std::io::Read;

    #[test]
    fn a_batch_larger_than_one_gather_arrives_whole_and_in_order() {
        let (socket, mut client) = pair();
        // Sizes across the three header lengths, and more frames than one
        // sendmsg takes.
        let frames: Vec<Vec<u8>> = (0..1300)
            .map(|i| vec![(i % 251) as u8; [0, 5, 125, 126, 300, 70_000][i % 6]])
            .collect();
        let opcode = OpCode::Data(Data::Binary);
        let reading = std::thread::spawn(move || read_frames(&mut client, 1300));
        smol::block_on(write_frames(&socket, &frames, opcode, 0)).unwrap();
        let got = reading.join().unwrap();
        assert_eq!(got.len(), frames.len());
        for ((op, data), sent) in got.iter().zip(&frames) {
            assert_eq!(*op, opcode);
            assert_eq!(data, sent);
        }
    }

    #[test]
    fn a_close_follows_the_last_frame_and_ends_the_stream() {
        let (socket, mut client) = pair();
        let last = Bytes::from_static(b"{\"type\":\"error\"}");
        let text = OpCode::Data(Data::Text);
        smol::block_on(write_close(&socket, text, 1008, "policy", Some(last))).unwrap();
        let got = read_frames(&mut client, 2);
        assert_eq!(got[0], (text, b"{\"type\":\"error\"}".to_vec()));
        assert_eq!(got[1].0, OpCode::Control(Control::Close));
        assert_eq!(&got[1].1[..2], &1008u16.to_be_bytes());
        assert_eq!(&got[1].1[2..], b"policy");
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "nothing after the close");
    }

    use async_tungstenite::tungstenite::protocol::frame::coding::Control;
}
