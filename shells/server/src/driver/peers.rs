//! The links between the hubs of one server: what other hubs say is taken
//! in by this one, and what this one has for them is sent on, each message
//! to each destination in the order the hub said it.

use onbeat_core::dispatch::hub::{Dest, PeerMsg, ShardId};
use smol::channel::{Receiver, Sender};

use super::Driver;

/// A message from another hub of the same server.
pub(crate) type FromPeer = (ShardId, PeerMsg);

/// A hub's links to the server's other hubs (see the core's `Shards` in
/// `docs/dispatch.md`): one FIFO channel into each hub, so that what one
/// hub tells another arrives in the order it was said. Unbounded, as a hub
/// that waited for room in another's channel could wait on one waiting for
/// it; what flows is bounded by the clients' rate limits.
pub(crate) struct Peers {
    /// This hub's place.
    pub(crate) me: ShardId,
    /// Every hub's channel, by index (this hub's own unused).
    pub(crate) to: Vec<Sender<FromPeer>>,
    /// This hub's channel.
    pub(crate) from: Receiver<FromPeer>,
}

impl Driver {
    pub(super) fn on_peer(&mut self, (from, msg): FromPeer) {
        let now = self.clock.now();
        if let Err(e) = self.hub.handle_peer(from, msg, now) {
            tracing::debug!(from = from.0, error = %e, "peer message refused");
        }
        self.metrics.peer_messages_in.inc();
    }

    /// Takes in everything other hubs have said so far, and tells them what
    /// that made this hub say.
    pub(crate) fn take_from_peers(&mut self) {
        while let Some(Ok(m)) = self.peers.as_ref().map(|p| p.from.try_recv()) {
            self.on_peer(m);
        }
        self.tell_peers();
    }

    /// Sends what the hub has for its peers, each message to each
    /// destination in the order polled.
    pub(crate) fn tell_peers(&mut self) {
        let Some(peers) = &self.peers else {
            return;
        };
        while let Some((dest, msg)) = self.hub.poll_peer() {
            match dest {
                Dest::Shard(to) => {
                    if let Some(tx) = peers.to.get(usize::from(to.0)) {
                        let _ = tx.try_send((peers.me, msg));
                    }
                }
                _ => {
                    for (i, tx) in peers.to.iter().enumerate() {
                        if i != usize::from(peers.me.0) {
                            let _ = tx.try_send((peers.me, msg.clone()));
                        }
                    }
                }
            }
        }
    }
}
