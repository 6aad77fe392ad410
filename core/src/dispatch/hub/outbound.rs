//! Handing queued frames to the shell.

use super::frame::{Codec, Frame};
use super::queue::Entry;
use super::slab::{Key, Slab};
use super::topic::TopicState;
use super::{ConnId, Hub};
use crate::proto::ServerMsg;

impl Hub {
    /// Takes queued frames for `conn` into `out`: at least one if any is
    /// queued, then more while their total stays within `max_bytes`. Returns
    /// how many. Call when the socket is writable; keep calling while it
    /// returns frames and the socket stays writable. Taking frames makes room
    /// for subscriptions catching up from history, which are refilled here.
    pub fn pull(&mut self, conn: ConnId, out: &mut impl Extend<Frame>, max_bytes: usize) -> usize {
        let Some(route) = self.conns.route(&conn) else {
            return 0;
        };
        let (mut taken, mut budget) = (0, max_bytes);
        if route.early {
            (taken, budget) = self.pull_early(conn, out, budget);
        }
        let Some(key) = route.session else {
            return taken;
        };
        let Hub {
            sessions,
            store,
            topics,
            ..
        } = self;
        let Some(s) = sessions.get_mut(key) else {
            return taken;
        };
        while let Some((index, cost)) = s.queue.front(store) {
            // The first frame goes whatever its size, so a frame larger than
            // the shell's write buffer cannot wedge the queue.
            if taken > 0 && cost > budget {
                break;
            }
            s.queue.pop_front(cost);
            let frame = match store.take(index) {
                Some(Entry::Frame { frame, .. }) => frame,
                Some(Entry::Gap { topic, from, to }) => {
                    match gap_frame(topics, s.codec, topic, from, to) {
                        Some(frame) => frame,
                        None => continue,
                    }
                }
                None => continue,
            };
            budget = budget.saturating_sub(frame.len());
            out.extend(core::iter::once(frame));
            taken += 1;
        }
        // Only a session catching up has more to queue than it had.
        if s.catching_up {
            self.refill(key);
        } else {
            s.queue.trim();
        }
        taken
    }

    /// Takes the errors answered before `hello`, which go first.
    #[cold]
    fn pull_early(
        &mut self,
        conn: ConnId,
        out: &mut impl Extend<Frame>,
        mut budget: usize,
    ) -> (usize, usize) {
        let mut taken = 0;
        if let Some(c) = self.conns.get_mut(&conn) {
            while let Some(frame) = c.early.pop_front() {
                budget = budget.saturating_sub(frame.len());
                out.extend(core::iter::once(frame));
                taken += 1;
            }
        }
        self.conns.set_early(&conn, false);
        (taken, budget)
    }

    /// Refills a session catching up, after a pull made room.
    #[cold]
    fn refill(&mut self, key: Key) {
        let now = self.now;
        self.pump(key, now);
        // A replay that has nothing more to give leaves no room behind.
        if let Some(s) = self.sessions.get_mut(key) {
            s.queue.trim();
        }
    }
}

/// A queued `gap`, encoded as it is pulled; `None` if its topic is gone.
#[cold]
fn gap_frame(
    topics: &Slab<TopicState>,
    codec: Codec,
    topic: Key,
    from: u64,
    to: u64,
) -> Option<Frame> {
    let t = topics.get(topic)?;
    let gap = crate::proto::Gap {
        topic: t.name.clone(),
        epoch: t.epoch,
        from,
        to,
    };
    Some(Frame::encode(&ServerMsg::Gap(gap), codec))
}
