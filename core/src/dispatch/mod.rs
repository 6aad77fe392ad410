//! Rooms, topics and delivery.
//!
//! - [`Hub`] (server, needs `alloc`): sessions, subscriptions, targeted and
//!   timed delivery, per-topic history with exact recovery, presence,
//!   backpressure, rate limits, and inputs judged on a room's timeline.
//! - [`ClientSession`] (client, no heap needed): subscriptions and their
//!   positions, resume with recovery, reconnect backoff, input results.

pub mod client;
#[cfg(feature = "alloc")]
pub mod hub;

pub use client::{
    ClientConfig, ClientError, ClientEvent, ClientOutput, ClientSession, ClientStats, InputStatus,
    PublishStatus, RequestError, StreamError, TopicKind,
};
#[cfg(feature = "alloc")]
pub use hub::{
    Capabilities, CloseCode, Codec, ConnId, Dest, Frame, Hub, HubConfig, HubError, HubOutput,
    Origin, Pattern, PeerError, PeerMsg, RateConfig, Reliability, RoomCtx, RoomInput, RoomLogic,
    ShardId, TopicConfig, home_of_hello, home_of_session, home_of_token, owner_of, room_owner,
};
