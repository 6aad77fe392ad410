//! The server's side of `hub_shards`: topics and rooms opened and closed on
//! their owners (and refused elsewhere), and targeted sends from any shard.

use super::*;

impl Cluster {
    /// The owner of topic `name`, or now and then another shard (which
    /// must refuse).
    pub(super) fn owner(&self, name: &str, input: &mut Bytes<'_>) -> usize {
        let owner = usize::from(owner_of(name, self.shards()).0);
        if input.byte().is_multiple_of(8) {
            return (owner + 1) % self.hubs.len();
        }
        owner
    }

    pub(super) fn room_owner(&self, name: &str, input: &mut Bytes<'_>) -> usize {
        let owner = usize::from(room_owner(name, self.shards()).0);
        if input.byte().is_multiple_of(8) {
            return (owner + 1) % self.hubs.len();
        }
        owner
    }

    /// Away from its owner, opening or closing `name` is `NotOwner`.
    pub(super) fn refused_away<T: std::fmt::Debug>(
        &self,
        h: usize,
        name: &str,
        r: &Result<T, HubError>,
    ) {
        let owner = if ROOMS.contains(&name) {
            room_owner(name, self.shards())
        } else {
            owner_of(name, self.shards())
        };
        if usize::from(owner.0) != h {
            assert!(
                matches!(r, Err(HubError::NotOwner)),
                "{name} handled on {h}, not its owner: {r:?}"
            );
        }
    }

    pub(super) fn open_topic(&mut self, input: &mut Bytes<'_>) {
        let name = input.pick(TOPICS);
        if name == INBOX {
            return;
        }
        let owner = self.owner(name, input);
        let config = pick::topic_config(input);
        let history = config.history;
        let r = self.hubs[owner].open_topic(name, config);
        self.refused_away(owner, name, &r);
        if let Ok(position) = r {
            self.clients.topics.insert(name, (config, position));
            let max = self.history.entry(name).or_default();
            *max = (*max).max(history);
        }
        self.drain(owner);
    }

    /// A server's targeted send, from any shard.
    pub(super) fn targeted(&mut self, input: &mut Bytes<'_>) {
        let h = input.below(self.hubs.len());
        self.clients.targeted(&mut self.hubs[h], input);
        self.drain(h);
    }

    /// Closes a topic on its owner (now and then elsewhere, refused).
    pub(super) fn close_topic(&mut self, input: &mut Bytes<'_>) {
        let name = input.pick(TOPICS);
        let owner = self.owner(name, input);
        let r = self.hubs[owner].close_topic(name, self.now);
        self.refused_away(owner, name, &r);
        if r.is_ok() {
            self.clients.topics.remove(name);
        }
        self.drain(owner);
    }

    /// Opens a room on its owner (now and then elsewhere, refused).
    pub(super) fn open_room(&mut self, input: &mut Bytes<'_>) {
        let name = input.pick(ROOMS);
        let owner = self.room_owner(name, input);
        let schedule = pick::schedule(input);
        let r = self.hubs[owner].open_room(name, schedule, Box::new(Logic), self.now);
        self.refused_away(owner, name, &r);
        self.drain(owner);
    }

    /// Closes a room on its owner (now and then elsewhere, refused).
    pub(super) fn close_room(&mut self, input: &mut Bytes<'_>) {
        let name = input.pick(ROOMS);
        let owner = self.room_owner(name, input);
        let r = self.hubs[owner].close_room(name);
        self.refused_away(owner, name, &r);
        self.drain(owner);
    }
}
