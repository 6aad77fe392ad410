//! Subscribers on one readiness loop per thread.
//!
//! Receiving is nearly all of the tool's work (one publish fans out to every
//! subscriber), so subscribers do not run as tasks: each thread owns its
//! sockets, waits on one level-triggered epoll set, and on each readable
//! socket does one large read into a buffer shared by all its sockets. The
//! frames in it are cut by tungstenite's frame header parser and read in
//! place: a delivery costs a header parse, a stamp read at a known offset
//! and a histogram record, with no allocation and no system call of its own.
//! Only a partial frame at the end of a read is copied, into the
//! connection's carry, to be completed by the next read.

use std::io::{Cursor, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use async_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use async_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};
use hdrhistogram::Histogram;
use onbeat_core::proto::ServerMsg;
use rustix::event::epoll;

use crate::nats::{self, Op};
use crate::open::{self, Opened};
use crate::run::Shared;
use crate::stamp;

/// Bytes asked for by each read (more when a frame is larger).
const READ: usize = 256 * 1024;

/// Connections opened at once by each thread's setup.
const OPENERS: usize = 16;

/// Longest sleep between checks of the stop signal, ms.
const TICK_MS: i64 = 50;

struct Conn {
    stream: TcpStream,
    carry: Vec<u8>,
    /// A fragmented message's payload so far.
    frag: Option<Vec<u8>>,
    nats: Option<nats::Parser>,
    open: bool,
}

/// What received frames yielded: latencies, and deliveries not yet added
/// to the shared counter.
struct Tally {
    hist: Histogram<u64>,
    received: u64,
    /// When the bytes being read arrived, µs on the stamp clock.
    now: u64,
}

/// Opens the subscribers of `topics` (one per entry) and receives on them
/// until the run stops; returns the latencies seen.
pub fn run(shared: &Shared, topics: &[usize], nats_target: bool) -> Histogram<u64> {
    let conns = open_all(shared, topics, nats_target);
    let mut tally = Tally {
        hist: crate::stats::histogram(),
        received: 0,
        now: 0,
    };
    if let Err(e) = receive(shared, conns, &mut tally) {
        shared.fail("readiness loop", e);
    }
    tally.hist
}

fn open_all(shared: &Shared, topics: &[usize], nats_target: bool) -> Vec<Conn> {
    let next = AtomicUsize::new(0);
    let opened = Mutex::new(Vec::with_capacity(topics.len()));
    std::thread::scope(|s| {
        for _ in 0..OPENERS.min(topics.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Relaxed);
                    let Some(&topic) = topics.get(i) else { break };
                    let result = if nats_target {
                        open::nats(shared, topic)
                    } else {
                        open::onbeat(shared, topic)
                    };
                    match result {
                        Ok(o) => {
                            opened.lock().expect("no panics").push(o);
                            shared.arrived();
                        }
                        Err(e) => shared.fail("subscriber", e),
                    }
                }
            });
        }
    });
    let opened = opened.into_inner().expect("no panics");
    opened
        .into_iter()
        .map(|o: Opened| Conn {
            stream: o.stream,
            carry: o.carry,
            frag: None,
            nats: o.nats,
            open: true,
        })
        .collect()
}

fn receive(shared: &Shared, mut conns: Vec<Conn>, tally: &mut Tally) -> std::io::Result<()> {
    let poll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
    for (i, c) in conns.iter().enumerate() {
        c.stream.set_nonblocking(true)?;
        epoll::add(
            &poll,
            &c.stream,
            epoll::EventData::new_u64(i as u64),
            epoll::EventFlags::IN | epoll::EventFlags::RDHUP,
        )?;
    }
    let mut buf = vec![0u8; READ];
    // What arrived with the setup's last frames.
    for c in &mut conns {
        let carry = std::mem::take(&mut c.carry);
        tally.now = stamp::now_us();
        let used = frames(shared, c, &carry, tally);
        c.carry = carry[used..].to_vec();
    }
    let mut events = Vec::with_capacity(1024);
    let tick = rustix::time::Timespec {
        tv_sec: 0,
        tv_nsec: TICK_MS * 1_000_000,
    };
    while !shared.stop.is_closed() {
        events.clear();
        match epoll::wait(
            &poll,
            rustix::buffer::spare_capacity(&mut events),
            Some(&tick),
        ) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        for event in &events {
            let c = &mut conns[event.data.u64() as usize];
            if !service(shared, c, &mut buf, tally) {
                c.open = false;
                let _ = epoll::delete(&poll, &c.stream);
            }
        }
        if tally.received > 0 {
            shared.counters.received.fetch_add(tally.received, Relaxed);
            tally.received = 0;
        }
    }
    Ok(())
}

/// One read on a readable connection and the frames it completes; false
/// once the connection is gone.
fn service(shared: &Shared, c: &mut Conn, buf: &mut Vec<u8>, tally: &mut Tally) -> bool {
    let held = c.carry.len();
    if buf.len() < held + READ {
        buf.resize(held + READ, 0);
    }
    buf[..held].copy_from_slice(&c.carry);
    let n = match c.stream.read(&mut buf[held..]) {
        Ok(0) => {
            shared.fail("read", "connection closed by the server");
            return false;
        }
        Ok(n) => n,
        Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
            return true;
        }
        Err(e) => {
            shared.fail("read", e);
            return false;
        }
    };
    let data = &buf[..held + n];
    tally.now = stamp::now_us();
    let used = frames(shared, c, data, tally);
    c.carry.clear();
    c.carry.extend_from_slice(&data[used..]);
    c.open
}

/// Handles every complete frame at the start of `data`; returns the bytes
/// they took.
fn frames(shared: &Shared, c: &mut Conn, data: &[u8], tally: &mut Tally) -> usize {
    let mut pos = 0;
    while c.open {
        let mut cursor = Cursor::new(&data[pos..]);
        let (header, len) = match FrameHeader::parse(&mut cursor) {
            Ok(Some(h)) => h,
            Ok(None) => break,
            Err(e) => {
                shared.fail("read", e);
                c.open = false;
                break;
            }
        };
        let start = pos + cursor.position() as usize;
        let Some(end) = usize::try_from(len)
            .ok()
            .and_then(|len| start.checked_add(len))
            .filter(|&end| end <= data.len())
        else {
            break;
        };
        pos = end;
        if header.mask.is_some() {
            shared.fail("read", "masked frame from the server");
            c.open = false;
            break;
        }
        let payload = &data[start..end];
        match header.opcode {
            OpCode::Data(Data::Continue) => {
                let Some(frag) = c.frag.as_mut() else {
                    shared.fail("read", "continuation without a first frame");
                    c.open = false;
                    break;
                };
                frag.extend_from_slice(payload);
                if header.is_final {
                    let whole = c.frag.take().unwrap_or_default();
                    message(shared, c, &whole, tally);
                }
            }
            OpCode::Data(_) if !header.is_final => c.frag = Some(payload.to_vec()),
            OpCode::Data(_) => message(shared, c, payload, tally),
            OpCode::Control(Control::Ping) => {
                let mut pong = Frame::pong(payload.to_vec());
                pong.header_mut().mask = Some(open::mask());
                reply(shared, c, pong);
            }
            OpCode::Control(Control::Close) => {
                shared.fail("closed by the server", String::from_utf8_lossy(payload));
                c.open = false;
            }
            OpCode::Control(_) => {}
        }
    }
    pos
}

/// Writes a small reply; a full socket buffer here means the server does
/// not read, which the run reports as an error.
fn reply(shared: &Shared, c: &mut Conn, frame: Frame) {
    let mut out = Vec::with_capacity(frame.len());
    if frame.format(&mut out).is_err() || c.stream.write_all(&out).is_err() {
        shared.fail("write", "reply");
    }
}

/// One whole WebSocket message.
fn message(shared: &Shared, c: &mut Conn, data: &[u8], tally: &mut Tally) {
    if let Some(parser) = c.nats.as_mut() {
        parser.push(data);
        let mut pings = 0;
        while let Some(op) = parser.next() {
            match op {
                Op::Msg(p) => {
                    if let Some(sent) = stamp::read_at(p, shared.payload) {
                        tally.record(sent);
                    }
                }
                Op::Ping => pings += 1,
                Op::Err(e) => shared.fail("server error", String::from_utf8_lossy(e)),
                Op::Pong | Op::Other => {}
            }
        }
        for _ in 0..pings {
            reply(shared, c, open::data_frame(&b"PONG\r\n"[..], false));
        }
        return;
    }
    if let Some(sent) = stamp::in_frame(data, shared.payload) {
        return tally.record(sent);
    }
    match shared.codec.decode(data) {
        Ok(ServerMsg::Deliver(d)) => {
            if let Some(sent) = stamp::read(d.data.as_bytes()) {
                tally.record(sent);
            }
        }
        Ok(ServerMsg::Error(e)) => {
            shared.fail("server error", format!("{}: {}", e.code, e.message))
        }
        Ok(_) => {}
        Err(e) => shared.fail("read", format!("undecodable frame: {e}")),
    }
}

impl Tally {
    fn record(&mut self, sent: u64) {
        self.hist
            .saturating_record(self.now.saturating_sub(sent).max(1));
        self.received += 1;
    }
}
