//! Segments on the wire: sending, retransmitting and arriving.

use onbeat_core::Duration;

use super::params::{FRAME_OVERHEAD, MAX_RTO};
use super::pipe::Item;
use super::world::{Seg, Timer, World};
use crate::sim::LinkId;

impl World {
    /// Sends segment `seq` of connection `k`; if no copy gets through, it
    /// goes again after the retransmission timeout.
    pub(super) fn transmit(&mut self, k: u32, down: bool, seq: u64, size: u32) {
        let i = self.conns[k as usize].client;
        let rto = self.clients[i].params.rto();
        send_segment(
            &mut self.sim,
            &mut self.n,
            i,
            Seg { conn: k, down, seq },
            size,
            rto,
        );
    }

    pub(super) fn retransmit(&mut self, seg: Seg, size: u32, rto_us: u64) {
        let c = &self.conns[seg.conn as usize];
        let missing = if seg.down {
            c.down.open && c.down.missing(seg.seq)
        } else {
            c.up.open && c.up.missing(seg.seq)
        };
        if missing {
            self.n.retransmits += 1;
            let rto = Duration::from_micros(rto_us.saturating_mul(2)).min(MAX_RTO);
            let i = c.client;
            send_segment(&mut self.sim, &mut self.n, i, seg, size, rto);
        }
    }

    /// A copy of a segment arrived.
    pub(super) fn arrive(&mut self, seg: Seg) {
        let k = seg.conn;
        let c = &mut self.conns[k as usize];
        if seg.down {
            c.down.arrive(seg.seq);
            let i = c.client;
            if self.clients[i].conn == Some(k) {
                self.read_down(i);
            }
            return;
        }
        c.up.arrive(seg.seq);
        while let Some(item) = self.conns[k as usize].up.read() {
            match item {
                Item::Frame(up) => self.hub_receive(k, up),
                Item::Fin => {
                    self.hub_gone(k);
                    self.drain_hub();
                }
            }
        }
    }
}

/// Offers segment `seg` of client `i`'s connection to its link; if no copy
/// gets through, it goes again after `rto`.
pub(super) fn send_segment(
    sim: &mut crate::sim::Sim<Seg, Timer>,
    n: &mut super::report::Counters,
    i: usize,
    seg: Seg,
    size: u32,
    rto: Duration,
) {
    let link = LinkId(2 * i as u32 + u32::from(seg.down));
    n.frames += 1;
    if sim.send(link, size + FRAME_OVERHEAD, seg) == 0 {
        let at = sim.now() + rto;
        let rto_us = rto.as_micros();
        sim.schedule(at, Timer::Retransmit { seg, size, rto_us });
    }
}
