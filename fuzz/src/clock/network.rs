//! The network between the client and its servers: paths that delay, drop
//! and reorder pongs, the pongs in flight, and pongs forged on the way.

use onbeat_core::proto::{ClockId, ClockPing, ClockPong};
use onbeat_core::time::{Duration, Instant};

use super::World;
use super::input::Input;

/// How the network treats the pings the machine sends on its own.
#[derive(Clone, Copy, Debug)]
pub(super) struct Path {
    /// Quickest forward and return trips, µs.
    forward: u64,
    back: u64,
    /// Up to this much queueing is added to either trip, µs.
    jitter: u64,
    /// Up to this long the server holds a ping before answering, µs.
    hold: u64,
    /// Chance in 256 that a ping or its pong is lost.
    loss: u8,
}

impl Path {
    pub(super) fn decode(input: &mut Input<'_>, truthful: bool) -> Path {
        // Real paths: up to a minute each way. Chaos: anything.
        let cap = |v: u64| if truthful { v % 60_000_001 } else { v };
        Path {
            forward: cap(input.span()),
            back: cap(input.span()),
            jitter: cap(input.span()),
            hold: cap(input.span()),
            loss: input.byte(),
        }
    }
}

/// A pong on its way to the client.
#[derive(Clone, Copy, Debug)]
pub(super) struct Pending {
    /// True time at which it arrives, µs.
    pub(super) arrives: u64,
    pub(super) pong: ClockPong,
}

impl World {
    fn random(&mut self) -> u64 {
        // xorshift64: deterministic and cheap; quality is irrelevant here.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn random_below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.random() % n }
    }

    /// Sends `ping` down the current path to the latest server; its pong, if
    /// neither is lost, joins those in flight.
    pub(super) fn transmit(&mut self, ping: ClockPing) {
        let p = self.path;
        if self.random_below(256) < u64::from(p.loss) {
            return;
        }
        let forward = p.forward.saturating_add(self.random_below(p.jitter));
        let hold = self.random_below(p.hold.saturating_add(1));
        let back = p.back.saturating_add(self.random_below(p.jitter));
        let &(clock, offset) = self.servers.last().expect("a server always exists");
        let received = self.now.saturating_add(forward);
        let sent = received.saturating_add(hold);
        self.pending.push(Pending {
            arrives: sent.saturating_add(back),
            pong: ping.answer(
                Self::server_at(received, offset),
                Self::server_at(sent, offset),
                clock,
            ),
        });
    }

    /// A pong the server never sent that way. In a truthful world only pongs
    /// that must be refused are forged.
    pub(super) fn forge(&mut self, input: &mut Input<'_>) {
        let kind = input.byte();
        let mut pong = match self.sent.len() {
            0 => ClockPing {
                seq: input.u32(),
                t1: self.local(),
            },
            n => *self
                .sent
                .values()
                .nth(usize::from(input.byte()) % n)
                .expect("index below len"),
        }
        .answer(Instant::ZERO, Instant::ZERO, ClockId(0));
        let truth = self.servers.last().map_or(0, |s| s.1);
        let t2 = match input.byte() % 3 {
            0 => Self::server_at(self.now, truth).saturating_add_signed(input.signed_span()),
            1 => self.local().saturating_add_signed(input.signed_span()),
            _ => Instant::from_micros(input.u64()),
        };
        let hold = input.signed_span();
        pong.t2 = t2;
        pong.t3 = pong.t2.saturating_add_signed(hold);
        pong.clock = match input.byte() % 4 {
            0 => self.servers.last().map_or(ClockId(0), |s| s.0),
            1 => self.servers[usize::from(input.byte()) % self.servers.len()].0,
            _ => ClockId(u64::from(input.byte())),
        };
        let mut refused = true;
        match kind % 4 {
            // An unknown sequence number.
            0 => pong.seq = pong.seq.wrapping_add(input.u32() | 1 << 31),
            // A wrong echo.
            1 => pong.t1 = pong.t1.saturating_add_signed(input.signed_span() | 1),
            // The server claims to have sent it before it received it.
            2 => {
                pong.t3 = pong
                    .t2
                    .saturating_sub(Duration::from_micros(input.span().max(1)));
                if pong.t3 == pong.t2 {
                    pong.t3 = Instant::ZERO;
                    pong.t2 = Instant::from_micros(1);
                }
            }
            _ => refused = false,
        }
        if self.truthful && !refused {
            return;
        }
        // A forged seq may by chance name a real ping; then it is not forged.
        let forged = refused
            && self.sent.get(&pong.seq).is_none_or(|p| {
                *p != ClockPing {
                    seq: pong.seq,
                    t1: pong.t1,
                } || pong.t3 < pong.t2
            });
        let delay = if self.truthful { 0 } else { input.span() };
        self.advance(delay);
        let at = self.local();
        let accepted = self.deliver(&pong, at);
        if forged {
            assert!(!accepted, "forged pong {pong:?} accepted");
        }
    }
}
