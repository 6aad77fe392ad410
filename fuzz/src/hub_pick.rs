//! Choices read from fuzz bytes that `hub_ops` and `hub_shards` make alike:
//! a hub's configuration, a client's capabilities and codec, a room's
//! schedule, an optional `at`, a topic's configuration, a room input.

use onbeat_core::dispatch::{Capabilities, Codec, HubConfig, RateConfig, TopicConfig};
use onbeat_core::proto::{DEFAULT_MAX_FRAME, Input, MemberId, Payload, RequestId, Room};
use onbeat_core::time::{Duration, Instant};
use onbeat_core::timeline::Schedule;

use super::bytes::Bytes;
use super::hub_model::{PATTERNS, ROOMS, USERS};

/// A configuration with small limits, so that every bound is reached.
pub(super) fn config(input: &mut Bytes<'_>) -> HubConfig {
    let rate = |input: &mut Bytes<'_>| RateConfig {
        per_sec: 1 + input.below(20) as u32,
        burst: 1 + input.below(4) as u32,
    };
    HubConfig {
        max_frame: input.pick(&[DEFAULT_MAX_FRAME as u32, 96, 600]),
        max_sessions: 1 + input.below(4),
        max_pending: 1 + input.below(3),
        hello_timeout: Duration::from_millis(200 + 100 * input.below(20) as u64),
        grace: Duration::from_millis(100 + 200 * input.below(20) as u64),
        queue_messages: 1 + input.below(8),
        queue_bytes: 150 + 16 * usize::from(input.byte()),
        max_subscriptions: 1 + input.below(4),
        request_memory: input.below(5),
        input_rate: rate(input),
        publish_rate: rate(input),
        max_timed: input.below(5),
        max_topics: 1 + input.below(5),
        max_rooms: 1 + input.below(3),
        ..HubConfig::default()
    }
}

/// A user's capabilities, perhaps expiring within five seconds of `now`.
pub(super) fn caps(input: &mut Bytes<'_>, now: Instant) -> Capabilities {
    let user = MemberId::try_from(input.pick(USERS)).expect("short id");
    let mut caps = Capabilities::new(user);
    for _ in 0..input.below(3) {
        caps = caps.subscribe(input.pick(PATTERNS));
    }
    for _ in 0..input.below(3) {
        caps = caps.publish(input.pick(PATTERNS));
    }
    for _ in 0..input.below(2) {
        caps = caps.input(input.pick(PATTERNS));
    }
    if input.byte().is_multiple_of(4) {
        caps = caps.expires_at(now + Duration::from_millis(u64::from(input.u16() % 5000)));
    }
    caps
}

pub(super) fn codec(input: &mut Bytes<'_>) -> Codec {
    if input.bool() {
        Codec::Json
    } else {
        Codec::Postcard
    }
}

/// No schedule, or an open and a shut phase, perhaps in two rounds.
pub(super) fn schedule(input: &mut Bytes<'_>) -> Option<Schedule> {
    input.bool().then(|| {
        let open = Duration::from_millis(100 + 100 * input.below(10) as u64);
        let shut = Duration::from_millis(100 + 100 * input.below(10) as u64);
        let s = Schedule::new()
            .phase("open", open, true)
            .and_then(|s| s.phase("shut", shut, false))
            .expect("two named phases of non-zero length");
        if input.bool() { s.rounds(2) } else { s }
    })
}

/// An optional `at`: none, in the past, now, or up to two seconds ahead.
pub(super) fn at(input: &mut Bytes<'_>, now: Instant) -> Option<Instant> {
    match input.byte() % 4 {
        0 => None,
        1 => Some(now.saturating_sub(Duration::from_millis(u64::from(input.byte())))),
        _ => Some(now + Duration::from_millis(u64::from(input.byte()) * 8)),
    }
}

/// A lossy or reliable topic keeping up to five messages for 0.1 to 2.8 s.
pub(super) fn topic_config(input: &mut Bytes<'_>) -> TopicConfig {
    let history = input.below(6);
    let age = Duration::from_millis(100 + 300 * input.below(10) as u64);
    if input.bool() {
        TopicConfig::lossy(history, age)
    } else {
        TopicConfig::reliable(history, age)
    }
}

/// An `input` to a room, with a request id from 0 to 7, perhaps for a round.
pub(super) fn room_input<'a>(input: &mut Bytes<'a>) -> Input<'a> {
    let room = Room::try_from(input.pick(ROOMS)).expect("short name");
    let request = RequestId::from(input.byte() % 8);
    let round = input.bool().then(|| u32::from(input.byte() % 4));
    let data = input.take(16);
    Input {
        room,
        request,
        round,
        data: Payload::new(data),
    }
}
