//! What the app asks of the driver, and where the answers go.

use onbeat_core::Instant;
use onbeat_core::dispatch::{InputStatus, PublishStatus, RequestError};
use onbeat_core::proto::Position;
use smol::channel::Sender;

/// What the app asks of the driver.
pub(crate) enum Command {
    Subscribe {
        topic: String,
        since: Option<Position>,
        lossy: bool,
        reply: Sender<Result<(), RequestError>>,
    },
    Unsubscribe {
        topic: String,
        reply: Sender<Result<(), RequestError>>,
    },
    Request(Request),
    Close,
}

/// A publish or an input, waiting for a slot or for its answer.
pub(crate) enum Request {
    Publish {
        topic: String,
        data: Vec<u8>,
        at: Option<Instant>,
        reply: Sender<Result<PublishStatus, RequestError>>,
    },
    Input {
        room: String,
        round: Option<u32>,
        data: Vec<u8>,
        reply: Sender<Result<InputStatus, RequestError>>,
    },
}

/// Where a request's outcome goes once the session has it.
pub(super) enum Reply {
    Publish(Sender<Result<PublishStatus, RequestError>>),
    Input(Sender<Result<InputStatus, RequestError>>),
}
