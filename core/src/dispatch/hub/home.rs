//! Which shard a session lives on, so that a reconnecting client reaches it.
//!
//! A session lives on the hub that opened it (its "home"): its queue,
//! subscriptions and resume token are there and nowhere else. Every id a
//! hub draws for its sessions (session id and resume token) is congruent to
//! its own index modulo the number of shards, so the shard is read off the
//! id itself: no table to share between hubs, and the same rule on every
//! machine. The shell reads it from a connection's `hello` before handing
//! the connection to a hub ([`home_of_hello`]); a connection without a
//! resume token may go to any hub.

use super::Hub;
use super::frame::Codec;
use super::ids::{parse_session, parse_token};
use super::shard::ShardId;
use crate::proto::ClientMsg;
use crate::proto::codec::{decode_json_limited, decode_postcard_limited};

/// The shard of `id` (a session id or a resume token as a number) among
/// `shards` (0 is taken as 1).
fn shard_of(id: u128, shards: u16) -> ShardId {
    // Below `shards`, itself at most u16::MAX.
    ShardId((id % u128::from(shards.max(1))) as u16)
}

/// The shard whose hub issued resume token `token`, if it is a token a hub
/// could have written.
pub fn home_of_token(token: &str, shards: u16) -> Option<ShardId> {
    Some(shard_of(parse_token(token)?, shards))
}

/// The shard whose hub holds session `id`, if it is an id a hub could have
/// written.
pub fn home_of_session(id: &str, shards: u16) -> Option<ShardId> {
    Some(shard_of(u128::from(parse_session(id)?), shards))
}

/// Where a connection whose first frame is `frame` belongs: the home of the
/// session its `hello` resumes. `None` for anything else (a `hello` without
/// a token, another message, an undecodable or oversize frame): the
/// connection may go to any hub, which then answers the frame as usual.
pub fn home_of_hello(frame: &[u8], codec: Codec, max_frame: u32, shards: u16) -> Option<ShardId> {
    let max = max_frame as usize;
    let msg = match codec {
        Codec::Json => decode_json_limited::<ClientMsg<'_>>(frame, max).ok()?,
        Codec::Postcard => decode_postcard_limited::<ClientMsg<'_>>(frame, max).ok()?,
    };
    match msg {
        ClientMsg::Hello(hello) => home_of_token(hello.resume.as_deref()?, shards),
        _ => None,
    }
}

impl Hub {
    /// Whether `id` may name a session of this hub: with one shard, any id.
    #[inline]
    pub(super) fn is_home_of(&self, id: u128) -> bool {
        shard_of(id, self.config.shards) == self.config.shard
    }

    /// The home of the session whose numeric id is `id`.
    pub(super) fn home_of_id(&self, id: u64) -> ShardId {
        shard_of(u128::from(id), self.config.shards)
    }
}
