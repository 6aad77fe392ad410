//! What a scripted server sends.

use super::*;

pub(super) fn welcome(session: &str) -> ServerMsg<'static> {
    ServerMsg::Welcome(Welcome {
        version: 1,
        session: session.try_into().unwrap(),
        resume: std::format!("token-{session}").as_str().try_into().unwrap(),
        clock: ClockId(9),
        max_frame: 65_536,
    })
}

pub(super) fn subscribed(topic: &str, position: Position, recovered: bool) -> ServerMsg<'static> {
    ServerMsg::Subscribed(Subscribed {
        topic: topic.try_into().unwrap(),
        position,
        recovered,
        reason: None,
    })
}

pub(super) fn not_recovered(
    topic: &str,
    position: Position,
    reason: NotRecovered,
) -> ServerMsg<'static> {
    ServerMsg::Subscribed(Subscribed {
        topic: topic.try_into().unwrap(),
        position,
        recovered: false,
        reason: Some(reason),
    })
}

pub(super) fn deliver<'a>(topic: &str, epoch: u64, offset: u64, data: &'a [u8]) -> ServerMsg<'a> {
    ServerMsg::Deliver(Deliver {
        topic: topic.try_into().unwrap(),
        epoch,
        offset,
        at: None,
        data: Payload::new(data),
    })
}

pub(super) fn gap(topic: &str, epoch: u64, from: u64, to: u64) -> ServerMsg<'static> {
    ServerMsg::Gap(Gap {
        topic: topic.try_into().unwrap(),
        epoch,
        from,
        to,
    })
}

pub(super) fn input_result(request: u32, outcome: InputOutcome) -> ServerMsg<'static> {
    ServerMsg::InputResult(InputResult { request, outcome })
}

pub(super) fn publish_ack(request: u32, position: Position) -> ServerMsg<'static> {
    ServerMsg::PublishAck(PublishAck { request, position })
}
