//! The operations of a script: what each byte that starts one makes happen
//! in the world, and the arguments it reads after it.

use onbeat_core::proto::ClockId;
use onbeat_core::time::Instant;

use super::input::Input;
use super::network::Path;
use super::{MAX_AUTO_STEPS, World};

impl World {
    /// Runs the operation the next byte picks, then settles and checks.
    pub(super) fn step(&mut self, input: &mut Input<'_>) {
        match input.byte() % 12 {
            0 => {
                let by = input.span();
                self.advance(by);
            }
            1 => {
                let by = input.span();
                self.advance(by);
                let at = self.told(self.local());
                self.sync.handle_timeout(at);
            }
            2 => {
                if self.pending.is_empty() {
                    return;
                }
                let i = usize::from(input.byte()) % self.pending.len();
                let keep = input.byte() & 1 == 1;
                let p = if keep {
                    self.pending[i]
                } else {
                    self.pending.remove(i)
                };
                self.now = self.now.max(p.arrives);
                let at = self.local();
                self.deliver(&p.pong, at);
            }
            3 => {
                if !self.pending.is_empty() {
                    let i = usize::from(input.byte()) % self.pending.len();
                    self.pending.remove(i);
                }
            }
            4 => self.sleep(input),
            5 => {
                let at = self.told(self.local());
                self.discontinuity(at);
            }
            6 => {
                let id = ClockId(if self.truthful {
                    self.servers.len() as u64 + 1
                } else {
                    u64::from(input.byte() % 8)
                });
                let offset = if self.truthful {
                    i64::from(input.u32() as i32) << 8
                } else {
                    input.u64() as i64
                };
                self.servers.push((id, offset));
            }
            7 => {
                let at = self.local().saturating_add_signed(input.signed_span());
                self.read(at);
            }
            8 => self.invert(input),
            9 => self.auto(input),
            10 => self.forge(input),
            _ => {
                if self.truthful {
                    self.path = Path::decode(input, true);
                } else {
                    self.jump(input);
                }
            }
        }
        self.settle();
    }

    /// The device sleeps: true time goes on, its clock stands still. A
    /// truthful shell always reports it on waking; a chaotic one may not.
    fn sleep(&mut self, input: &mut Input<'_>) {
        let by = input.span();
        let report = self.truthful || input.byte() & 1 == 0;
        let local = self.local();
        self.advance(by);
        self.seg_true = self.now;
        self.seg_local = local.as_micros();
        if report {
            let at = self.told(local);
            self.discontinuity(at);
        }
    }

    /// Chaos only: the client's clock jumps, either way, unreported.
    fn jump(&mut self, input: &mut Input<'_>) {
        let local = self.local().saturating_add_signed(input.signed_span());
        self.seg_true = self.now;
        self.seg_local = local.as_micros();
    }

    fn discontinuity(&mut self, at: Instant) {
        self.sync.handle_discontinuity(at);
        self.dropped_below = self.sent.last_key_value().map_or(0, |(&seq, _)| seq + 1);
    }

    /// Runs the world on its own for a while, as a shell would: wakes for
    /// the machine's timer and for arriving pongs.
    fn auto(&mut self, input: &mut Input<'_>) {
        let steps = u32::from(input.byte()).min(MAX_AUTO_STEPS - self.auto_steps);
        self.auto_steps += steps;
        for _ in 0..steps {
            let timer = self
                .sync
                .poll_timeout()
                .map_or(u64::MAX, |at| self.true_at(at));
            let arrival = self.pending.iter().map(|p| p.arrives).min();
            let next = timer
                .min(arrival.unwrap_or(u64::MAX))
                .min(self.now.saturating_add(1_000_000));
            self.advance(next.saturating_sub(self.now));
            let at = self.local();
            while let Some(i) = self.pending.iter().position(|p| p.arrives <= self.now) {
                let p = self.pending.remove(i);
                self.deliver(&p.pong, at);
            }
            self.told(at);
            self.sync.handle_timeout(at);
            self.settle();
        }
    }

    /// Asks when shared time reads an arbitrary instant.
    fn invert(&mut self, input: &mut Input<'_>) {
        let base = self.sync.estimate(Instant::ZERO).map(|e| e.server_time);
        let server = match (input.byte() & 1, base) {
            (0, Some(base)) => base.saturating_add_signed(input.signed_span()),
            _ => Instant::from_micros(input.u64()),
        };
        self.check_inverse(server);
    }
}
