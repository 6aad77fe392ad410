//! Requests sent and not yet answered, kept so that they survive a reconnect.
//!
//! Each keeps a copy of its payload (at most `N` bytes, inline): after a
//! resume it is sent again with the same request id, and the server, which
//! remembers recent ids, answers with the judgement it already made instead
//! of judging twice. Copying is what lets the app hand over a borrowed slice
//! and forget it; with no heap the copy is bounded, and a larger payload is
//! refused when the request is made, never later.

use heapless::Vec;

use super::error::RequestError;
use crate::proto::{ClientMsg, Input, Payload, Publish, RequestId, Room, Topic};
use crate::time::Instant;

/// What was asked.
#[derive(Clone, Debug)]
pub(super) enum Ask {
    Input { room: Room, round: Option<u32> },
    Publish { topic: Topic, at: Option<Instant> },
}

/// Where a request is on its way to an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// To be sent on the next open session.
    Queued,
    /// Sent on the current connection.
    Sent,
    /// Sent on a connection that dropped: re-sent if the session resumes,
    /// lost if it does not.
    InDoubt,
    /// Its session is gone: the app hears so once, then it is forgotten.
    Lost,
}

#[derive(Clone, Debug)]
struct Request<const N: usize> {
    id: RequestId,
    ask: Ask,
    data: Vec<u8, N>,
    stage: Stage,
}

/// At most `P` requests of at most `N` payload bytes each.
#[derive(Clone, Debug)]
pub(super) struct Pending<const P: usize, const N: usize> {
    requests: Vec<Request<N>, P>,
    next_id: RequestId,
}

impl<const P: usize, const N: usize> Pending<P, N> {
    pub(super) const fn new() -> Self {
        Pending {
            requests: Vec::new(),
            next_id: 0,
        }
    }

    /// Requests without an outcome reported yet.
    pub(super) fn len(&self) -> usize {
        self.requests.len()
    }

    /// Queues a request; returns its id.
    pub(super) fn push(&mut self, ask: Ask, data: &[u8]) -> Result<RequestId, RequestError> {
        if self.requests.is_full() {
            return Err(RequestError::TooManyPending);
        }
        let data = Vec::from_slice(data).map_err(|_| RequestError::PayloadTooLarge {
            len: data.len(),
            max: N,
        })?;
        let id = self.fresh_id();
        let request = Request {
            id,
            ask,
            data,
            stage: Stage::Queued,
        };
        // Checked not full above.
        let _ = self.requests.push(request);
        Ok(id)
    }

    /// An id no pending request uses. Ids count up and wrap; with at most
    /// `P` in use the loop ends within `P + 1` steps.
    fn fresh_id(&mut self) -> RequestId {
        loop {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            if self.requests.iter().all(|r| r.id != id) {
                return id;
            }
        }
    }

    /// Takes the request an answer is for, if it awaits one of that kind
    /// (`input` when `input`, else `publish`); false if none does.
    pub(super) fn answer(&mut self, id: RequestId, input: bool) -> bool {
        let found = self.requests.iter().position(|r| {
            r.id == id && r.stage != Stage::Lost && matches!(r.ask, Ask::Input { .. }) == input
        });
        found.map(|i| self.requests.remove(i)).is_some()
    }

    /// Takes the request an `error` answers, whatever its kind; returns
    /// whether it was an input.
    pub(super) fn refuse(&mut self, id: RequestId) -> Option<bool> {
        let i = self
            .requests
            .iter()
            .position(|r| r.id == id && r.stage != Stage::Lost)?;
        Some(matches!(self.requests.remove(i).ask, Ask::Input { .. }))
    }

    /// The connection dropped: what was sent is in doubt.
    pub(super) fn disconnected(&mut self) {
        for r in &mut self.requests {
            if r.stage == Stage::Sent {
                r.stage = Stage::InDoubt;
            }
        }
    }

    /// A session opened. On the same session, requests in doubt are sent
    /// again with their ids; on a new one nobody remembers them, so their
    /// fate is unknown. Requests never sent are sent either way.
    pub(super) fn opened(&mut self, resumed: bool) {
        let stage = if resumed { Stage::Queued } else { Stage::Lost };
        for r in &mut self.requests {
            if r.stage == Stage::InDoubt {
                r.stage = stage;
            }
        }
    }

    /// Forgets the oldest lost request; returns its id and whether it was an input.
    pub(super) fn take_lost(&mut self) -> Option<(RequestId, bool)> {
        let i = self.requests.iter().position(|r| r.stage == Stage::Lost)?;
        let r = self.requests.remove(i);
        Some((r.id, matches!(r.ask, Ask::Input { .. })))
    }

    /// The oldest request due to be sent, marked sent, as a message.
    pub(super) fn next_send(&mut self) -> Option<ClientMsg<'_>> {
        let r = self
            .requests
            .iter_mut()
            .find(|r| r.stage == Stage::Queued)?;
        r.stage = Stage::Sent;
        let data = Payload::new(&r.data);
        Some(match &r.ask {
            Ask::Input { room, round } => ClientMsg::Input(Input {
                room: room.clone(),
                request: r.id,
                round: *round,
                data,
            }),
            Ask::Publish { topic, at } => ClientMsg::Publish(Publish {
                topic: topic.clone(),
                data,
                at: *at,
                request: Some(r.id),
            }),
        })
    }
}
