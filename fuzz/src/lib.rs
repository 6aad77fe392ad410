//! Checks shared by the fuzz targets and by `onbeat-tests`, which replays the
//! checked-in corpus on stable.

pub mod bitrate;
pub mod bytes;
pub mod client;
pub mod clock;
pub mod decode;
pub mod hub;
mod hub_clients;
mod hub_model;
mod hub_pick;
mod hub_requests;
pub mod hub_shards;
