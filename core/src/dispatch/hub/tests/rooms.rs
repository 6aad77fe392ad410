//! Rooms across shards: one room, members on three shards (the owner one of
//! them), compared with the same script on a lone hub.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;

use super::cluster::Cluster;
use super::*;
use crate::proto::{InputOutcome, Unsubscribe};
use crate::timeline::Schedule;

/// A room logic that counts the inputs it judges, accepts them, and sends
/// the payload `"all"` back to the whole room, `"me"` to the sender's
/// session and `"user"` to the sender's user.
pub(super) struct Referee {
    pub judged: Rc<Cell<u32>>,
}

impl RoomLogic for Referee {
    fn on_input(&mut self, ctx: &mut RoomCtx<'_>, input: &RoomInput<'_>) -> Result<(), RejectCode> {
        self.judged.set(self.judged.get() + 1);
        match input.data {
            b"\"all\"" => ctx.send_to_room(b"\"to all\""),
            b"\"me\"" => ctx.send_to_session(input.session.clone(), b"\"to you\""),
            b"\"user\"" => ctx.send_to_user(input.user.clone(), b"\"to them\""),
            _ => {}
        }
        Ok(())
    }
}

/// Picks for 3 s, then shows for 1 s, forever.
pub(super) fn game() -> Schedule {
    Schedule::new()
        .phase("pick", Duration::from_secs(3), true)
        .unwrap()
        .phase("show", Duration::from_secs(1), false)
        .unwrap()
}

/// A cluster of `k` hubs with a room owned by shard `owner` (its topics
/// `<room>/chat` and `<room>/moves` open), run by a [`Referee`]: the
/// cluster, the room's name and the referee's count.
pub(super) fn with_room(
    k: u16,
    owner: usize,
    schedule: Option<Schedule>,
) -> (Cluster, String, Rc<Cell<u32>>) {
    let chat = Cluster::new(k).topic_owned_by("table", owner);
    let room = String::from(chat.split_once('/').unwrap().0);
    let (c, judged) = with_named_room(k, &room, schedule);
    (c, room, judged)
}

/// A cluster of `k` hubs with room `room` open on its owner, as
/// [`with_room`] opens it.
pub(super) fn with_named_room(
    k: u16,
    room: &str,
    schedule: Option<Schedule>,
) -> (Cluster, Rc<Cell<u32>>) {
    let mut c = Cluster::new(k);
    let owner = c.owner(room);
    c.open(&alloc::format!("{room}/chat"));
    c.open(&alloc::format!("{room}/moves"));
    let judged = Rc::new(Cell::new(0));
    let logic = Box::new(Referee {
        judged: judged.clone(),
    });
    let now = c.now;
    c.hubs[owner].open_room(room, schedule, logic, now).unwrap();
    c.settle();
    (c, judged)
}

/// A phase as a test compares it: `(round, index, name)`.
pub(super) type PhaseKey = (u32, u8, String);

/// The phases announced in `msgs`.
pub(super) fn phases_of(msgs: &[ServerMsg<'_>]) -> Vec<PhaseKey> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::Phase(p) => Some((
                p.phase.round,
                p.phase.index,
                String::from(p.phase.name.as_str()),
            )),
            _ => None,
        })
        .collect()
}

/// The payloads delivered to the inbox in `msgs`.
pub(super) fn inbox_of(msgs: &[ServerMsg<'_>]) -> Vec<Vec<u8>> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::Deliver(d) if d.topic == "@inbox" => Some(d.data.as_bytes().to_vec()),
            _ => None,
        })
        .collect()
}

/// Every input result in `msgs`, by request id.
pub(super) fn results_of(msgs: &[ServerMsg<'_>]) -> Vec<(u32, InputOutcome)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::InputResult(r) => Some((r.request, r.outcome)),
            _ => None,
        })
        .collect()
}

pub(super) fn input<'a>(room: &str, request: u32, data: &'a [u8]) -> ClientMsg<'a> {
    ClientMsg::Input(crate::proto::Input {
        room: room.try_into().unwrap(),
        request,
        round: None,
        data: Payload::new(data),
    })
}

fn unsubscribe(c: &mut Cluster, conn: u64, topic: &str) {
    let msg = ClientMsg::Unsubscribe(Unsubscribe {
        topic: topic.try_into().unwrap(),
    });
    c.send(conn, &msg).unwrap();
}

/// Joins, a second session of a user, leaves by unsubscribing and by
/// expiring, with the connections on hubs `on[0..3]`; returns what each
/// connection heard of the room's presence.
fn presence_script(k: u16, on: [usize; 3]) -> Vec<Vec<PresenceEvent>> {
    let (mut c, room, _) = with_room(k, on[1], None);
    let chat = alloc::format!("{room}/chat");
    let moves = alloc::format!("{room}/moves");
    let people = [(1, on[0], "ann"), (2, on[1], "bob"), (3, on[2], "cat")];
    for (conn, hub, user) in people {
        c.join(conn, hub, user, None);
        c.subscribe(conn, &chat, None);
    }
    // Ann's second session (another shard than her first): no new join.
    c.join(4, on[2], "ann", None);
    c.subscribe(4, &chat, None);
    // Dan comes through two topics (one join) and goes by unsubscribing.
    c.join(5, on[0], "dan", None);
    c.subscribe(5, &chat, None);
    c.subscribe(5, &moves, None);
    unsubscribe(&mut c, 5, &chat);
    unsubscribe(&mut c, 5, &moves);
    // Ann's first session goes: she is still there through her second.
    unsubscribe(&mut c, 1, &chat);
    // Her second expires: now she leaves.
    c.disconnect(4);
    c.advance(c.now + Duration::from_secs(11));
    c.join(6, on[1], "eve", None);
    c.subscribe(6, &moves, None);
    assert!(c.peer_errors.is_empty(), "{:?}", c.peer_errors);
    (1..=6).map(|conn| presence_events(&c.take(conn))).collect()
}

#[test]
fn presence_across_shards_is_what_a_lone_hub_says() {
    let lone = presence_script(1, [0, 0, 0]);
    let sharded = presence_script(3, [0, 1, 2]);
    assert_eq!(sharded, lone);
    // Bob (on the owner) and Cat (on another shard) heard the same events
    // from Cat's arrival on: her snapshot, then one order.
    let bob = &sharded[1];
    let cat = &sharded[2];
    let from = bob.len() - (cat.len() - 1);
    assert_eq!(&bob[from..], &cat[1..]);
    let names = |e: &PresenceEvent| match e {
        PresenceEvent::Join(u) => alloc::format!("+{u}"),
        PresenceEvent::Leave(u) => alloc::format!("-{u}"),
        PresenceEvent::Snapshot { members, .. } => {
            let m: Vec<&str> = members.iter().map(|m| m.as_str()).collect();
            alloc::format!("{m:?}")
        }
    };
    let heard: Vec<String> = cat.iter().map(names).collect();
    assert_eq!(
        heard,
        [
            "[\"ann\", \"bob\", \"cat\"]",
            "+dan",
            "-dan",
            "-ann",
            "+eve"
        ]
    );
}

#[test]
fn joins_made_together_on_three_shards_are_heard_in_one_order() {
    let (mut c, room, _) = with_room(3, 2, None);
    let chat = alloc::format!("{room}/chat");
    // Three watchers, one per shard, in the room first.
    for hub in 0..3 {
        c.join(10 + hub as u64, hub, &alloc::format!("w{hub}"), None);
        c.subscribe(10 + hub as u64, &chat, None);
    }
    for conn in 10..13 {
        c.take(conn);
    }
    // Six players, two per shard, subscribe with their messages in flight
    // together; then half of them leave the same way.
    for n in 0..6u64 {
        c.join(20 + n, (n % 3) as usize, &alloc::format!("p{n}"), None);
    }
    for n in [4u64, 0, 5, 1, 3, 2] {
        let sub = ClientMsg::Subscribe(Subscribe {
            topic: chat.as_str().try_into().unwrap(),
            since: None,
        });
        c.send_only(20 + n, &sub).unwrap();
    }
    c.settle();
    for n in [2u64, 3, 0] {
        let msg = ClientMsg::Unsubscribe(Unsubscribe {
            topic: chat.as_str().try_into().unwrap(),
        });
        c.send_only(20 + n, &msg).unwrap();
    }
    c.settle();
    let heard: Vec<_> = (10..13)
        .map(|conn| presence_events(&c.take(conn)))
        .collect();
    assert_eq!(heard[0].len(), 9);
    assert_eq!(heard[0], heard[1]);
    assert_eq!(heard[0], heard[2]);
    // What the owner holds is what every member was told.
    let users: Vec<String> = c.hubs[2]
        .room_users(&room)
        .unwrap()
        .map(|u| String::from(u.as_str()))
        .collect();
    assert_eq!(users, ["p1", "p4", "p5", "w0", "w1", "w2"]);
    for hub in 0..2 {
        let copy: Vec<String> = c.hubs[hub]
            .room_users(&room)
            .unwrap()
            .map(|u| String::from(u.as_str()))
            .collect();
        assert_eq!(copy, users);
    }
    assert!(c.peer_errors.is_empty(), "{:?}", c.peer_errors);
}

/// Members on hubs `on`, 10 s of a game in 250 ms steps: when each heard
/// which phase.
fn phase_script(k: u16, owner: usize, on: [usize; 3]) -> Vec<Vec<(u64, PhaseKey)>> {
    let (mut c, room, _) = with_room(k, owner, Some(game()));
    let chat = alloc::format!("{room}/chat");
    for (i, hub) in on.into_iter().enumerate() {
        c.join(i as u64 + 1, hub, "p", None);
        c.subscribe(i as u64 + 1, &chat, None);
    }
    let mut heard = alloc::vec![Vec::new(); 3];
    for step in 1..=40u64 {
        c.advance(ms(step * 250));
        for (i, got) in heard.iter_mut().enumerate() {
            let at = c.now.as_micros() / 1000;
            got.extend(
                phases_of(&c.take(i as u64 + 1))
                    .into_iter()
                    .map(|p| (at, p)),
            );
        }
    }
    assert!(c.peer_errors.is_empty(), "{:?}", c.peer_errors);
    heard
}

#[test]
fn phases_reach_every_shard_at_the_same_instant() {
    let sharded = phase_script(3, 1, [0, 1, 2]);
    assert!(sharded[0].len() >= 5, "{:?}", sharded[0]);
    assert_eq!(sharded[0], sharded[1]);
    assert_eq!(sharded[0], sharded[2]);
    let phase = |at, round, index, name: &str| (at, (round, index, String::from(name)));
    // The phase in progress when they entered, then each one a second
    // ahead of its start.
    assert_eq!(
        sharded[0][..4],
        [
            phase(250, 0, 0, "pick"),
            phase(2000, 0, 1, "show"),
            phase(3000, 1, 0, "pick"),
            phase(6000, 1, 1, "show"),
        ]
    );
    assert_eq!(sharded, phase_script(1, 0, [0, 0, 0]));
}

#[test]
fn a_quick_leave_and_return_on_a_replica_ends_in_the_room() {
    let (mut c, room, _) = with_room(3, 1, None);
    let chat = alloc::format!("{room}/chat");
    c.join(1, 1, "watcher", None);
    c.subscribe(1, &chat, None);
    c.take(1);
    c.join(2, 0, "quick", None);
    let topic = || chat.as_str().try_into().unwrap();
    // Enter, Leave and Enter again, all in flight before the first answer.
    let sub = ClientMsg::Subscribe(Subscribe {
        topic: topic(),
        since: None,
    });
    c.send_only(2, &sub).unwrap();
    c.send_only(2, &ClientMsg::Unsubscribe(Unsubscribe { topic: topic() }))
        .unwrap();
    c.send_only(2, &sub).unwrap();
    c.settle();
    let quick: MemberId = "quick".try_into().unwrap();
    let heard = presence_events(&c.take(2));
    // Only the answer to the last Enter counts: one snapshot, with itself.
    assert!(
        matches!(heard.as_slice(), [PresenceEvent::Snapshot { members, .. }] if members.contains(&quick)),
        "{heard:?}"
    );
    assert_eq!(
        presence_events(&c.take(1)),
        [
            PresenceEvent::Join(quick.clone()),
            PresenceEvent::Leave(quick.clone()),
            PresenceEvent::Join(quick.clone()),
        ]
    );
    // And it is a member: it hears who comes next.
    c.join(3, 2, "late", None);
    c.subscribe(3, &chat, None);
    let late = PresenceEvent::Join("late".try_into().unwrap());
    assert_eq!(presence_events(&c.take(2)), [late]);
    assert!(c.peer_errors.is_empty(), "{:?}", c.peer_errors);
}
