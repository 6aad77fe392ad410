//! Rooms across shards: inputs judged by the owner at their arrival time at
//! the home, targeted sends, and a resume on the home.

use alloc::string::String;
use alloc::vec::Vec;

use super::cluster::Cluster;
use super::rooms::{game, inbox_of, input, phases_of, results_of, with_named_room, with_room};
use super::*;
use crate::proto::{ErrorCode, InputOutcome};

#[test]
fn an_input_is_judged_by_when_it_reached_its_home() {
    // The game's first pick closes at 3 s; the room runs on shard 1.
    let (mut c, room, judged) = with_room(3, 1, Some(game()));
    c.join(1, 0, "far", None);
    c.advance(ms(2_900));
    // Before the deadline at its home; the owner sees it after.
    c.send_only(1, &input(&room, 1, b"1")).unwrap();
    c.now = ms(3_500);
    c.settle();
    assert_eq!(results_of(&c.take(1)), [(1, InputOutcome::Accepted)]);
    assert_eq!(judged.get(), 1);
    // After the deadline: late, before the logic.
    c.send(1, &input(&room, 2, b"2")).unwrap();
    let late = InputOutcome::Rejected(RejectCode::Late);
    assert_eq!(results_of(&c.take(1)), [(2, late)]);
    // Resends get the same verdicts, from the home's memory.
    c.send(1, &input(&room, 1, b"1")).unwrap();
    c.send(1, &input(&room, 2, b"2")).unwrap();
    let again = results_of(&c.take(1));
    assert_eq!(again, [(1, InputOutcome::Accepted), (2, late)]);
    assert_eq!(judged.get(), 1);
    assert!(c.links.values().all(|q| q.is_empty()));

    // Round 1's pick is open from 4 s: a resend while the owner has not
    // answered is answered once, judged once.
    c.advance(ms(4_100));
    c.send_only(1, &input(&room, 3, b"3")).unwrap();
    c.send_only(1, &input(&room, 3, b"3")).unwrap();
    c.settle();
    assert_eq!(results_of(&c.take(1)), [(3, InputOutcome::Accepted)]);
    assert_eq!(judged.get(), 2);
    assert!(c.peer_errors.is_empty(), "{:?}", c.peer_errors);
}

#[test]
fn an_input_to_a_room_nobody_runs_is_unknown_from_any_shard() {
    let (mut c, room, _) = with_room(3, 1, None);
    c.join(1, 0, "far", None);
    c.hubs[1].close_room(&room).unwrap();
    c.settle();
    assert_eq!(c.send(1, &input(&room, 1, b"1")), Err(HubError::NotOwner));
    let got = c.take(1);
    assert!(matches!(&got[0], ServerMsg::Error(e) if e.code == ErrorCode::UnknownRoom));
    // The replicas closed with the room.
    for hub in &c.hubs {
        assert!(hub.room_users(&room).is_none());
    }
}

#[test]
fn the_rooms_logic_reaches_members_and_users_on_every_shard() {
    let (mut c, room, _) = with_room(3, 2, None);
    let chat = alloc::format!("{room}/chat");
    for hub in 0..3u64 {
        c.join(hub + 1, hub as usize, &alloc::format!("p{hub}"), None);
        c.subscribe(hub + 1, &chat, None);
        c.take(hub + 1);
    }
    // The same user outside the room, on two other shards.
    c.join(7, 1, "p0", None);
    c.join(8, 2, "p0", None);
    c.send(1, &input(&room, 1, b"\"all\"")).unwrap();
    for conn in 1..=3 {
        assert_eq!(inbox_of(&c.take(conn)), [b"\"to all\"".to_vec()]);
    }
    assert!(c.take(7).is_empty());
    c.send(1, &input(&room, 2, b"\"me\"")).unwrap();
    assert_eq!(inbox_of(&c.take(1)), [b"\"to you\"".to_vec()]);
    c.send(1, &input(&room, 3, b"\"user\"")).unwrap();
    for conn in [1, 7, 8] {
        assert_eq!(inbox_of(&c.take(conn)), [b"\"to them\"".to_vec()]);
    }
    assert!(c.take(2).is_empty() && c.take(3).is_empty());
    assert!(c.peer_errors.is_empty(), "{:?}", c.peer_errors);
}

#[test]
fn targeted_sends_from_any_hub_reach_sessions_on_another() {
    let (mut c, room, _) = with_room(3, 2, None);
    let chat = alloc::format!("{room}/chat");
    let far = c.join(1, 0, "u", None).session;
    c.join(2, 1, "u", None);
    c.join(3, 2, "v", None);
    c.subscribe(1, &chat, None);
    c.subscribe(3, &chat, None);
    c.take(1);
    c.take(3);

    // The owner counts every member; a replica forwards to it.
    assert_eq!(c.hubs[2].send_to_room(&room, b"1"), Ok(2));
    assert_eq!(c.hubs[1].send_to_room(&room, b"2"), Ok(0));
    c.settle();
    assert_eq!(inbox_of(&c.take(1)), [b"1".to_vec(), b"2".to_vec()]);
    assert_eq!(inbox_of(&c.take(3)), [b"1".to_vec(), b"2".to_vec()]);
    assert!(c.take(2).is_empty());

    // A user's sessions on every shard; the count is of the caller's.
    let u: MemberId = "u".try_into().unwrap();
    assert_eq!(c.hubs[2].send_to_user(&u, b"3"), 0);
    c.settle();
    assert_eq!(inbox_of(&c.take(1)), [b"3".to_vec()]);
    assert_eq!(inbox_of(&c.take(2)), [b"3".to_vec()]);
    assert!(c.take(3).is_empty());

    // One session, through its home.
    assert_eq!(c.hubs[1].send_to_session(&far, b"4"), Ok(()));
    c.settle();
    assert_eq!(inbox_of(&c.take(1)), [b"4".to_vec()]);
    assert!(c.take(2).is_empty());
    assert!(c.peer_errors.is_empty(), "{:?}", c.peer_errors);

    // A session that is gone: forwarded, and its home says so.
    c.disconnect(1);
    c.advance(c.now + Duration::from_secs(11));
    assert_eq!(c.hubs[2].send_to_session(&far, b"5"), Ok(()));
    c.settle();
    assert_eq!(c.peer_errors, [(0, HubError::UnknownSession)]);
}

/// A member on hub `on` leaves its connection while someone joins and the
/// game moves on, then resumes on its home: what it hears after `welcome`.
fn resume_script(k: u16, room: &str, on: usize) -> Vec<ServerMsg<'static>> {
    let (mut c, _) = with_named_room(k, room, Some(game()));
    let owner = c.owner(room);
    let chat = alloc::format!("{room}/chat");
    let token = c.join(1, on, "away", None).resume;
    c.subscribe(1, &chat, None);
    c.advance(ms(1_000));
    c.disconnect(1);
    c.join(2, owner, "new", None);
    c.subscribe(2, &chat, None);
    c.advance(ms(3_500));
    c.take(1);
    c.join(3, on, "away", Some(&token));
    assert!(c.peer_errors.is_empty(), "{:?}", c.peer_errors);
    c.take(3)
}

#[test]
fn a_member_resuming_on_its_home_gets_the_rooms_state() {
    // A room run by shard 1 of 3, its member on shard 2.
    let room = Cluster::new(3).topic_owned_by("table", 1);
    let room = room.split_once('/').unwrap().0;
    let sharded = resume_script(3, room, 2);
    let presence = presence_events(&sharded);
    let names = |e: &PresenceEvent| match e {
        PresenceEvent::Snapshot { members, more } => {
            let m: Vec<String> = members.iter().map(|m| String::from(m.as_str())).collect();
            (m, *more)
        }
        other => panic!("not a snapshot: {other:?}"),
    };
    // Queued while away: the newcomer's join; then the snapshot.
    assert_eq!(presence[0], PresenceEvent::Join("new".try_into().unwrap()));
    assert_eq!(
        names(&presence[1]),
        (
            alloc::vec![String::from("away"), String::from("new")],
            false
        )
    );
    // The phase announced while away, then the one in progress.
    let phases = phases_of(&sharded);
    assert_eq!(phases.last(), Some(&(0, 1, String::from("show"))));
    assert_eq!(sharded, resume_script(1, room, 0));
}

/// The member list a client keeps from the presence events it heard.
fn listed(events: &[PresenceEvent]) -> Vec<String> {
    let mut list: Vec<String> = Vec::new();
    for e in events {
        match e {
            PresenceEvent::Snapshot { members, .. } => {
                list = members.iter().map(|m| String::from(m.as_str())).collect();
            }
            PresenceEvent::Join(u) => list.push(String::from(u.as_str())),
            PresenceEvent::Leave(u) => list.retain(|m| m != u.as_str()),
        }
    }
    list.sort();
    list
}

#[test]
fn opening_a_room_brings_in_subscribers_on_every_shard() {
    let (mut c, chat, _) = Cluster::with_topic(3, "table", 1);
    let room = chat.split_once('/').unwrap().0;
    for hub in 0..3u64 {
        c.join(hub + 1, hub as usize, &alloc::format!("p{hub}"), None);
        c.subscribe(hub + 1, &chat, None);
    }
    let now = c.now;
    c.hubs[1]
        .open_room(room, Some(game()), alloc::boxed::Box::new(Echo), now)
        .unwrap();
    c.settle();
    let all = ["p0", "p1", "p2"];
    for conn in 1..=3 {
        let got = c.take(conn);
        assert_eq!(listed(&presence_events(&got)), all);
        assert_eq!(phases_of(&got)[0], (0, 0, String::from("pick")));
    }
    for hub in &c.hubs {
        let users: Vec<&str> = hub.room_users(room).unwrap().map(|u| u.as_str()).collect();
        assert_eq!(users, all);
    }
    assert!(c.peer_errors.is_empty(), "{:?}", c.peer_errors);
}
