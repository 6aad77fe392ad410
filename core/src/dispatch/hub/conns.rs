//! The connections the shell has handed over, found by the shell's id.
//!
//! Every pull looks a connection up, so the index (a hash table, see
//! [`IdMap`]) maps ids to slab keys only and stays small enough to sit in
//! cache with tens of thousands of connections, while the connections
//! themselves live in a slab.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use core::ops::Index;

use super::ConnId;
use super::caps::Capabilities;
use super::frame::{Codec, Frame};
use super::idmap::IdMap;
use super::slab::{Key, Slab};
use crate::time::Instant;

/// A connection the shell has handed over.
#[derive(Debug)]
pub(super) struct Conn {
    /// Changed only by [`Conns::set_session`], which keeps the index's copy.
    pub(super) session: Option<Key>,
    /// Frames for a connection without a session (errors before `hello`),
    /// pulled before the session's; pushed to only through
    /// [`Conns::set_early`]'s caller, which keeps the index's flag.
    pub(super) early: VecDeque<Frame>,
    /// Whether a `Close` was asked for; nothing more is accepted from it.
    pub(super) closing: bool,
    pub(super) codec: Codec,
    /// The verified credential until `hello` moves it into the session;
    /// boxed so that the connection table's entries stay small.
    pub(super) caps: Option<Box<Capabilities>>,
    /// Deadlines registered for it, to cancel on disconnect.
    pub(super) hello_at: Instant,
    pub(super) credentials_at: Option<Instant>,
}

/// Where a connection id leads: its slab entry and, once it has one, its
/// session (a copy of [`Conn::session`]), so that a pull goes from the id
/// straight to the session without touching the connection.
#[derive(Clone, Copy, Debug)]
pub(super) struct Route {
    conn: Key,
    pub(super) session: Option<Key>,
    /// Whether [`Conn::early`] may hold frames: only then must a pull read
    /// the connection.
    pub(super) early: bool,
}

/// Connections by the shell's id.
pub(super) struct Conns {
    index: IdMap<Route>,
    slab: Slab<Conn>,
}

impl Conns {
    pub(super) fn new() -> Self {
        Conns {
            index: IdMap::new(),
            slab: Slab::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.index.len()
    }

    pub(super) fn contains_key(&self, id: &ConnId) -> bool {
        self.index.get(*id).is_some()
    }

    #[inline]
    pub(super) fn get(&self, id: &ConnId) -> Option<&Conn> {
        self.slab.get(self.index.get(*id)?.conn)
    }

    #[inline]
    pub(super) fn get_mut(&mut self, id: &ConnId) -> Option<&mut Conn> {
        self.slab.get_mut(self.index.get(*id)?.conn)
    }

    /// Where `id` leads, without touching the connection itself.
    #[inline]
    pub(super) fn route(&self, id: &ConnId) -> Option<Route> {
        self.index.get(*id)
    }

    /// Sets the session of connection `id`.
    pub(super) fn set_session(&mut self, id: &ConnId, session: Option<Key>) {
        if let Some(route) = self.index.get_mut(*id) {
            route.session = session;
            if let Some(c) = self.slab.get_mut(route.conn) {
                c.session = session;
            }
        }
    }

    /// Records whether connection `id` holds early frames.
    pub(super) fn set_early(&mut self, id: &ConnId, early: bool) {
        if let Some(route) = self.index.get_mut(*id) {
            route.early = early;
        }
    }

    /// Adds `conn` under `id`, replacing any connection of that id.
    pub(super) fn insert(&mut self, id: ConnId, conn: Conn) {
        self.remove(&id);
        let (session, early) = (conn.session, !conn.early.is_empty());
        let key = self.slab.insert(conn);
        self.index.insert(
            id,
            Route {
                conn: key,
                session,
                early,
            },
        );
    }

    pub(super) fn remove(&mut self, id: &ConnId) -> Option<Conn> {
        self.slab.remove(self.index.remove(*id)?.conn)
    }
}

impl Index<&ConnId> for Conns {
    type Output = Conn;

    /// The connection `id`, which the caller knows is present.
    fn index(&self, id: &ConnId) -> &Conn {
        self.get(id)
            .expect("a connection the caller knows is present")
    }
}
