//! Drives a [`ClientSession`] through arbitrary transport events, app calls
//! and server messages decoded from fuzz bytes, and checks its promises after
//! every step.
//!
//! Server messages are built from the bytes (welcomes of the same or another
//! session, answers to real or made-up request ids, deliveries, gaps and
//! `subscribed` at arbitrary positions, presence, phases, errors, pongs) or
//! decoded from raw bytes as postcard. Checked:
//!
//! - nothing panics, and every call's outputs drain in a bounded number of
//!   polls;
//! - every request the app made gets at most one outcome (`Input` for an
//!   input, `Published` for a publish), and none is given for an id it was
//!   not handed; `pending()` counts exactly those without an outcome yet;
//! - subscriptions and pending requests stay within their capacities;
//! - per topic and epoch, delivered offsets strictly increase and never fall
//!   into a range reported lost by a `Gap`, until a `Subscribed` or
//!   `NotRecovered` restarts the topic.
//!
//! `onbeat-tests` includes this file by path (with `bytes.rs`), so it depends
//! on nothing but onbeat-core and std.

use std::collections::BTreeMap;

use onbeat_core::dispatch::{ClientConfig, ClientEvent, ClientOutput, ClientSession};
use onbeat_core::proto::codec::decode_postcard;
use onbeat_core::proto::{
    ClockId, ClockPong, Deliver, ErrorCode, ErrorMsg, ErrorText, Gap, InputOutcome, InputResult,
    MemberId, NotRecovered, PROTOCOL_VERSION, Payload, Phase, PhaseAnnounce, PhaseName, Position,
    Presence, PresenceEvent, PublishAck, RejectCode, RequestId, Room, ServerMsg, SessionId,
    Subscribed, Token, Topic, Welcome,
};
use onbeat_core::time::{Duration, Instant};

use super::bytes::Bytes;

const SUBS: usize = 3;
const PENDING: usize = 3;
const PAYLOAD: usize = 32;
type Session = ClientSession<SUBS, PENDING, PAYLOAD>;

/// Operations per input.
const MAX_OPS: usize = 256;
/// Outputs one call may leave to drain: a few sends per subscription and
/// request, a handful of events.
const MAX_OUTPUTS: usize = 4 * (SUBS + PENDING) + 16;

const TOPICS: &[&str] = &["a", "b", "r/x", "@inbox", "c"];
const INBOX: &str = "@inbox";
const SESSIONS: &[&str] = &["s1", "s2", "s3"];

/// Runs the script in `data`; panics when a promise is broken.
pub fn run(data: &[u8]) {
    let mut input = Bytes(data);
    let now = Instant::from_millis(1_000);
    let mut world = World {
        session: Session::new(ClientConfig::default(), u64::from(input.u16()), now),
        now,
        requests: BTreeMap::new(),
        streams: BTreeMap::new(),
    };
    world.drain();
    let mut ops = 0;
    while !input.is_empty() && ops < MAX_OPS {
        ops += 1;
        world.step(&mut input);
    }
}

/// What the app has seen of one topic in one epoch.
#[derive(Clone, Copy, Debug)]
struct Seen {
    epoch: u64,
    /// Offsets below this were delivered or reported lost.
    below: u64,
}

struct World {
    session: Session,
    now: Instant,
    /// Requests made, whether each is an input, and whether it has had its
    /// outcome.
    requests: BTreeMap<RequestId, (bool, bool)>,
    streams: BTreeMap<Topic, Seen>,
}

impl World {
    fn step(&mut self, input: &mut Bytes<'_>) {
        match input.byte() % 12 {
            0 => {
                let _ = self.session.handle_connected(self.now);
            }
            1 => self.session.handle_disconnected(self.now),
            2 => {
                let step = match input.byte() % 3 {
                    0 => u64::from(input.byte()),
                    1 => u64::from(input.u16()) * 100,
                    _ => u64::from(input.byte()) * 1_000_000,
                };
                self.now += Duration::from_micros(step);
                self.session.handle_timeout(self.now);
            }
            3 => {
                if let Some(at) = self.session.poll_timeout() {
                    self.now = self.now.max(at);
                    self.session.handle_timeout(at);
                }
            }
            4 => {
                let topic = input.pick(TOPICS);
                let _ = match input.byte() % 3 {
                    0 => self.session.subscribe(topic, self.now),
                    1 => self.session.subscribe_lossy(topic, self.now),
                    _ => {
                        self.streams.remove(topic);
                        self.session.unsubscribe(topic, self.now)
                    }
                };
            }
            5 => {
                let topic = input.pick(TOPICS);
                let at = input
                    .bool()
                    .then(|| self.now + Duration::from_millis(u64::from(input.byte())));
                let data = input.take(40);
                if let Ok(id) = self.session.publish(topic, data, at, self.now) {
                    self.issued(id, false);
                }
            }
            6 => {
                let data = input.take(40);
                let round = input.bool().then(|| u32::from(input.byte()));
                if let Ok(id) = self.session.input("r", round, data, self.now) {
                    self.issued(id, true);
                }
            }
            7 => {
                // Raw bytes that happen to decode as a server message.
                let frame = input.take(80);
                if let Ok(msg) = decode_postcard::<ServerMsg<'_>>(frame) {
                    let _ = self.session.handle_message(&msg, self.now);
                }
            }
            _ => {
                let msg = self.server_msg(input);
                let _ = self.session.handle_message(&msg, self.now);
            }
        }
        self.drain();
    }

    fn issued(&mut self, id: RequestId, input: bool) {
        let before = self.requests.insert(id, (input, false));
        assert!(
            before.is_none_or(|(_, done)| done),
            "request id {id} handed out while still pending"
        );
    }

    /// A request id the client issued, most of the time; any otherwise.
    fn request(&self, input: &mut Bytes<'_>) -> RequestId {
        let ids: Vec<RequestId> = self.requests.keys().copied().collect();
        if ids.is_empty() || input.byte().is_multiple_of(4) {
            return RequestId::from(input.byte());
        }
        ids[ids.len() - 1 - input.below(ids.len())]
    }

    fn server_msg<'a>(&self, input: &mut Bytes<'a>) -> ServerMsg<'a> {
        let topic = Topic::try_from(input.pick(TOPICS)).expect("short name");
        let position = Position {
            epoch: u64::from(input.byte() % 3),
            offset: u64::from(input.byte() % 32),
        };
        match input.byte() % 11 {
            0 => ServerMsg::Welcome(Welcome {
                version: if input.byte() == 0xff {
                    PROTOCOL_VERSION + 1
                } else {
                    PROTOCOL_VERSION
                },
                session: SessionId::try_from(input.pick(SESSIONS)).expect("short id"),
                resume: Token::try_from("t").expect("short token"),
                clock: ClockId(1),
                max_frame: 65_536,
            }),
            1 => ServerMsg::Subscribed(Subscribed {
                topic,
                position,
                recovered: input.bool(),
                reason: match input.byte() % 5 {
                    0 => None,
                    1 => Some(NotRecovered::TooOld),
                    2 => Some(NotRecovered::EpochChanged),
                    3 => Some(NotRecovered::Ahead),
                    _ => Some(NotRecovered::NoHistory),
                },
            }),
            2..=4 => ServerMsg::Deliver(Deliver {
                topic,
                epoch: position.epoch,
                offset: position.offset,
                at: input
                    .bool()
                    .then(|| Instant::from_micros(u64::from(input.u32()))),
                data: Payload::new(input.take(48)),
            }),
            5 => ServerMsg::Gap(Gap {
                topic,
                epoch: position.epoch,
                from: position.offset,
                to: u64::from(input.byte() % 40),
            }),
            6 => ServerMsg::PublishAck(PublishAck {
                request: self.request(input),
                position,
            }),
            7 => ServerMsg::InputResult(InputResult {
                request: self.request(input),
                outcome: match input.byte() % 3 {
                    0 => InputOutcome::Accepted,
                    1 => InputOutcome::Rejected(RejectCode::Late),
                    _ => InputOutcome::Rejected(RejectCode::Invalid),
                },
            }),
            8 => ServerMsg::Error(ErrorMsg {
                code: input.pick(&[
                    ErrorCode::Forbidden,
                    ErrorCode::UnknownTopic,
                    ErrorCode::UnknownRoom,
                    ErrorCode::RateLimited,
                ]),
                request: input.bool().then(|| self.request(input)),
                message: ErrorText::try_from("no").expect("short text"),
                topic: None,
            }),
            9 => {
                let user = MemberId::try_from("u").expect("short id");
                let event = match input.byte() % 3 {
                    0 => PresenceEvent::Join(user),
                    1 => PresenceEvent::Leave(user),
                    _ => {
                        let mut event = PresenceEvent::Snapshot {
                            members: Default::default(),
                            more: input.bool(),
                        };
                        if let PresenceEvent::Snapshot { members, .. } = &mut event {
                            let _ = members.push(user);
                        }
                        event
                    }
                };
                ServerMsg::Presence(Presence {
                    room: Room::try_from("r").expect("short name"),
                    event,
                })
            }
            _ => {
                if input.bool() {
                    let t = Instant::from_micros(input.u64());
                    ServerMsg::Pong(ClockPong {
                        seq: input.u32(),
                        t1: t,
                        t2: t,
                        t3: t,
                        clock: ClockId(1),
                    })
                } else {
                    ServerMsg::Phase(PhaseAnnounce {
                        room: Room::try_from("r").expect("short name"),
                        phase: Phase {
                            round: u32::from(input.byte()),
                            index: input.byte() % 2,
                            name: PhaseName::try_from("open").expect("short name"),
                            starts_at: self.now,
                            ends_at: self.now + Duration::from_secs(1),
                            accepts_input: input.bool(),
                        },
                    })
                }
            }
        }
    }

    /// Polls every output of the last call and checks each.
    fn drain(&mut self) {
        let mut polls = 0;
        while let Some(out) = self.session.poll_output() {
            polls += 1;
            assert!(polls <= MAX_OUTPUTS, "outputs do not run dry");
            if let ClientOutput::Event(event) = out {
                let event = event.clone();
                check_event(&mut self.requests, &mut self.streams, &event);
            }
        }
        let outstanding = self.requests.values().filter(|(_, done)| !done).count();
        assert_eq!(
            self.session.pending(),
            outstanding,
            "pending requests and outcomes disagree"
        );
        assert!(self.session.pending() <= PENDING);
        assert!(self.session.subscriptions() <= SUBS);
    }
}

fn check_event(
    requests: &mut BTreeMap<RequestId, (bool, bool)>,
    streams: &mut BTreeMap<Topic, Seen>,
    event: &ClientEvent<'_>,
) {
    match *event {
        ClientEvent::Input { request, .. } => outcome(requests, request, true),
        ClientEvent::Published { request, .. } => outcome(requests, request, false),
        ClientEvent::Delivered {
            topic, position, ..
        }
        | ClientEvent::TooLarge {
            topic, position, ..
        } => {
            let topic = Topic::try_from(topic).expect("a topic name from the session");
            if let Some(seen) = streams.get(&topic).filter(|s| s.epoch == position.epoch) {
                assert!(
                    position.offset >= seen.below,
                    "{topic}: offset {} delivered after {} was passed",
                    position.offset,
                    seen.below
                );
            }
            streams.insert(
                topic,
                Seen {
                    epoch: position.epoch,
                    below: position.offset + 1,
                },
            );
        }
        ClientEvent::Gap {
            topic,
            epoch,
            from,
            to,
        } => {
            assert!(from < to, "{topic}: empty gap [{from}, {to})");
            let topic = Topic::try_from(topic).expect("a topic name from the session");
            if let Some(seen) = streams.get(&topic).filter(|s| s.epoch == epoch) {
                assert!(
                    from >= seen.below,
                    "{topic}: gap from {from} after {} was passed",
                    seen.below
                );
            }
            streams.insert(topic, Seen { epoch, below: to });
        }
        ClientEvent::Subscribed { topic, .. } | ClientEvent::NotRecovered { topic, .. } => {
            streams.remove(topic);
        }
        ClientEvent::SessionOpened { resumed: false, .. } => {
            streams.remove(INBOX);
        }
        _ => {}
    }
}

fn outcome(requests: &mut BTreeMap<RequestId, (bool, bool)>, request: RequestId, input: bool) {
    let entry = requests
        .get_mut(&request)
        .unwrap_or_else(|| panic!("outcome for request {request}, never made"));
    assert_eq!(entry.0, input, "outcome of the wrong kind for {request}");
    assert!(!entry.1, "second outcome for request {request}");
    entry.1 = true;
}
