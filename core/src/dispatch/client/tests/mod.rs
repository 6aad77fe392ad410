//! Tests of the client session as an app and its shell see it: a scripted
//! server feeds messages, the tests read what comes out. The session needs
//! no crate feature, and neither do its tests: they link `std` themselves.

extern crate std;

use std::boxed::Box;
use std::string::{String, ToString};
use std::vec::Vec;

use super::*;
use crate::proto::{
    ClientMsg, ClockId, Deliver, ErrorCode, Gap, Input, InputOutcome, InputResult, NotRecovered,
    Payload, Publish, PublishAck, ServerMsg, Subscribe, Subscribed, Welcome,
};
use crate::time::Duration;

mod backoff;
mod errors;
mod exactly_once;
mod flow;
#[cfg(feature = "alloc")]
mod hub;
#[cfg(feature = "alloc")]
mod net;
mod outputs;
mod requests;
mod server;
mod stream;

use outputs::{Ev, Out};
use server::*;

type Client = ClientSession;

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn pos(epoch: u64, offset: u64) -> Position {
    Position { epoch, offset }
}

fn subscribe_msg(topic: &str, since: Option<Position>) -> Out {
    Out::Send(ClientMsg::Subscribe(Subscribe {
        topic: topic.try_into().unwrap(),
        since,
    }))
}

/// A client with its clock, driven by the drain rule.
struct Rig<
    const S: usize = DEFAULT_SUBSCRIPTIONS,
    const P: usize = DEFAULT_PENDING,
    const N: usize = DEFAULT_PAYLOAD,
> {
    c: ClientSession<S, P, N>,
    now: Instant,
}

impl Rig {
    fn new() -> Rig {
        Rig::seeded(1)
    }

    fn seeded(seed: u64) -> Rig {
        let mut rig = Rig {
            c: Client::new(ClientConfig::default(), seed, Instant::ZERO),
            now: Instant::ZERO,
        };
        assert_eq!(rig.drain(), [Out::Connect]);
        rig
    }
}

impl<const S: usize, const P: usize, const N: usize> Rig<S, P, N> {
    fn drain(&mut self) -> Vec<Out> {
        let mut outs = Vec::new();
        while let Some(o) = self.c.poll_output() {
            outs.push(Out::of(o));
            assert!(outs.len() < 1_000, "poll_output never ran dry");
        }
        outs
    }

    fn feed(&mut self, msg: &ServerMsg<'_>) -> Vec<Out> {
        self.c.handle_message(msg, self.now).unwrap();
        self.drain()
    }

    fn try_feed(&mut self, msg: &ServerMsg<'_>) -> (Result<(), ClientError>, Vec<Out>) {
        let r = self.c.handle_message(msg, self.now);
        (r, self.drain())
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    /// Transport up: returns what is sent (the hello).
    fn connect(&mut self) -> Vec<Out> {
        self.c.handle_connected(self.now).unwrap();
        self.drain()
    }

    /// Connects and is welcomed into `session`; returns what followed the welcome.
    fn open(&mut self, session: &str) -> Vec<Out> {
        let hello = self.connect();
        assert!(
            matches!(hello[..], [Out::Send(ClientMsg::Hello(_))]),
            "{hello:?}"
        );
        self.feed(&welcome(session))
    }

    fn disconnect(&mut self) -> Vec<Out> {
        self.c.handle_disconnected(self.now);
        self.drain()
    }

    /// Jumps to the next deadline and handles it.
    fn wait(&mut self) -> Vec<Out> {
        self.now = self.c.poll_timeout().expect("a deadline");
        self.c.handle_timeout(self.now);
        self.drain()
    }
}

fn events(outs: &[Out]) -> Vec<Ev> {
    outs.iter()
        .filter_map(|o| match o {
            Out::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

fn sends(outs: &[Out]) -> Vec<ClientMsg<'static>> {
    outs.iter()
        .filter_map(|o| match o {
            Out::Send(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn delivered(topic: &str, epoch: u64, offset: u64, data: &[u8]) -> Ev {
    Ev::Delivered {
        topic: topic.to_string(),
        position: pos(epoch, offset),
        data: data.to_vec(),
    }
}

/// Tells the rig that `chat` could not be recovered (`too_old`) and goes on
/// live from (1, 50); checks the app hears it and only what is live follows.
fn too_old_then_live(rig: &mut Rig) {
    let answer = rig.feed(&not_recovered("chat", pos(1, 50), NotRecovered::TooOld));
    let stale = Ev::NotRecovered {
        topic: "chat".to_string(),
        position: pos(1, 50),
        reason: Some(NotRecovered::TooOld),
    };
    assert_eq!(events(&answer), [stale]);
    assert_eq!(rig.feed(&deliver("chat", 1, 49, b"old")), []);
    let live = rig.feed(&deliver("chat", 1, 50, b"new"));
    assert_eq!(events(&live), [delivered("chat", 1, 50, b"new")]);
}
