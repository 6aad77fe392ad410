//! Sockets for the tests of the write path.

use std::io::{Cursor, Read};
use std::net::TcpStream;
use std::sync::Arc;

use async_tungstenite::tungstenite::protocol::frame::FrameHeader;
use async_tungstenite::tungstenite::protocol::frame::coding::OpCode;

use crate::socket::Socket;

/// A socket pair: the writer's side, registered with the reactor, and a
/// plain blocking reader.
pub(crate) fn pair() -> (Socket, TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (Arc::new(smol::Async::new(server).unwrap()), client)
}

/// Parses frames with tungstenite until `count` have been read.
pub(crate) fn read_frames(client: &mut TcpStream, count: usize) -> Vec<(OpCode, Vec<u8>)> {
    let mut data = Vec::new();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    while out.len() < count {
        let n = client.read(&mut buf).unwrap();
        assert!(n > 0, "socket closed after {} frames", out.len());
        data.extend_from_slice(&buf[..n]);
        loop {
            let mut cursor = Cursor::new(&data);
            let Some((head, len)) = FrameHeader::parse(&mut cursor).unwrap() else {
                break;
            };
            let start = cursor.position() as usize;
            let end = start + len as usize;
            if data.len() < end {
                break;
            }
            assert!(head.is_final && head.mask.is_none());
            out.push((head.opcode, data[start..end].to_vec()));
            data.drain(..end);
        }
    }
    out
}
