//! Handing queued frames to the shell.

use super::frame::Frame;
use super::queue::Entry;
use super::{ConnId, Hub};
use crate::proto::ServerMsg;

impl Hub {
    /// Takes queued frames for `conn` into `out`: at least one if any is
    /// queued, then more while their total stays within `max_bytes`. Returns
    /// how many. Call when the socket is writable; keep calling while it
    /// returns frames and the socket stays writable. Taking frames makes room
    /// for subscriptions catching up from history, which are refilled here.
    pub fn pull(&mut self, conn: ConnId, out: &mut impl Extend<Frame>, max_bytes: usize) -> usize {
        let Hub {
            conns,
            sessions,
            topics,
            ..
        } = self;
        let Some(route) = conns.route(&conn) else {
            return 0;
        };
        let mut taken = 0;
        let mut budget = max_bytes;
        if route.early {
            // Errors answered before `hello` go first.
            if let Some(c) = conns.get_mut(&conn) {
                while let Some(frame) = c.early.pop_front() {
                    budget = budget.saturating_sub(frame.len());
                    out.extend(core::iter::once(frame));
                    taken += 1;
                }
            }
            conns.set_early(&conn, false);
        }
        let Some(s) = route.session.and_then(|key| sessions.get_mut(key)) else {
            return taken;
        };
        loop {
            // The first frame goes whatever its size, so a frame larger than
            // the shell's write buffer cannot wedge the queue.
            let limit = if taken == 0 { usize::MAX } else { budget };
            let Some(entry) = s.queue.pop_within(limit) else {
                break;
            };
            let frame = match entry {
                Entry::Frame { frame, .. } => frame,
                Entry::Gap { topic, from, to } => {
                    let Some(t) = topics.get(topic) else {
                        continue;
                    };
                    let gap = crate::proto::Gap {
                        topic: t.name.clone(),
                        epoch: t.epoch,
                        from,
                        to,
                    };
                    Frame::encode(&ServerMsg::Gap(gap), s.codec)
                }
            };
            budget = budget.saturating_sub(frame.len());
            out.extend(core::iter::once(frame));
            taken += 1;
        }
        // Only a session catching up has more to queue than it had.
        if !s.catching_up {
            s.queue.trim();
        } else if let Some(key) = route.session {
            let now = self.now;
            self.pump(key, now);
            // A replay that has nothing more to give leaves no room behind.
            if let Some(s) = self.sessions.get_mut(key) {
                s.queue.trim();
            }
        }
        taken
    }
}
