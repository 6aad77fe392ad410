//! Room messages between shards that do not fit: each is a typed error and
//! changes nothing, never a panic.

use alloc::sync::Arc;

use super::cluster::Cluster;
use super::rooms::with_room;
use super::*;
use crate::proto::{InputOutcome, Room};

/// A session id homed on `shard` of 3.
fn homed(shard: u64, n: u64) -> u64 {
    3 * n + shard
}

fn misrouted() -> Result<(), HubError> {
    Err(HubError::Peer(PeerError::Misrouted))
}

#[test]
fn presence_messages_that_do_not_fit_are_refused() {
    let (mut c, room, _) = with_room(3, 1, None);
    let r: Room = room.as_str().try_into().unwrap();
    let user: MemberId = "x".try_into().unwrap();
    let now = c.now;
    let enter = |room: &Room, session| PeerMsg::Enter {
        room: room.clone(),
        opening: 0,
        session,
        user: user.clone(),
    };
    // An Enter to a shard that does not run the room, or from a shard that
    // is not the session's home.
    assert_eq!(
        c.hubs[2].handle_peer(ShardId(0), enter(&r, homed(0, 5)), now),
        misrouted()
    );
    assert_eq!(
        c.hubs[1].handle_peer(ShardId(0), enter(&r, homed(2, 5)), now),
        misrouted()
    );
    // A room that is not open on its owner.
    let other = Cluster::new(3)
        .topic_owned_by("table", 1)
        .replace("/chat", "x");
    let other: Room = other.as_str().try_into().unwrap();
    assert_eq!(
        c.hubs[1].handle_peer(ShardId(0), enter(&other, homed(0, 5)), now),
        Err(HubError::UnknownRoom)
    );
    // A Leave of a session that never entered.
    let leave = PeerMsg::Leave {
        room: r.clone(),
        opening: 0,
        session: homed(0, 5),
    };
    assert_eq!(
        c.hubs[1].handle_peer(ShardId(0), leave, now),
        Err(HubError::Peer(PeerError::UnknownMember))
    );
    // Member and Phase from a shard that does not own the room.
    let member = PeerMsg::Member {
        room: r.clone(),
        session: homed(0, 5),
        user: user.clone(),
        joined: true,
        announce: true,
    };
    assert_eq!(c.hubs[0].handle_peer(ShardId(2), member, now), misrouted());
    let open = PeerMsg::OpenRoom {
        room: r.clone(),
        opening: 0,
    };
    assert_eq!(c.hubs[0].handle_peer(ShardId(2), open, now), misrouted());
    let close = PeerMsg::CloseRoom { room: r.clone() };
    assert_eq!(c.hubs[2].handle_peer(ShardId(0), close, now), misrouted());
    // Nothing changed: nobody is in the room, anywhere.
    for hub in &mut c.hubs {
        assert_eq!(hub.room_users(&room).unwrap().count(), 0);
        assert_eq!(hub.poll_peer(), None);
    }
}

#[test]
fn inputs_and_sends_that_do_not_fit_are_refused() {
    let (mut c, room, judged) = with_room(3, 1, None);
    let r: Room = room.as_str().try_into().unwrap();
    let now = c.now;
    let origin = Origin {
        session: homed(0, 5),
        request: Some(9),
    };
    let input = |origin| PeerMsg::Input {
        room: r.clone(),
        origin,
        user: "x".try_into().unwrap(),
        round: None,
        data: Arc::from(&b"1"[..]),
        received_at: now,
    };
    // To a shard that does not run the room: its origin hears NotOwner.
    assert_eq!(
        c.hubs[2].handle_peer(ShardId(0), input(origin), now),
        misrouted()
    );
    let verdict = PeerMsg::Verdict {
        origin,
        result: Err(HubError::NotOwner),
    };
    assert_eq!(
        c.hubs[2].poll_peer(),
        Some((Dest::Shard(ShardId(0)), verdict))
    );
    // From a shard that is not the origin's home, or with no request id.
    assert_eq!(
        c.hubs[1].handle_peer(ShardId(2), input(origin), now),
        misrouted()
    );
    let silent = Origin {
        request: None,
        ..origin
    };
    assert_eq!(
        c.hubs[1].handle_peer(ShardId(0), input(silent), now),
        misrouted()
    );
    assert_eq!(judged.get(), 0);
    // A verdict or a send for a session homed elsewhere, or gone.
    let verdict = |session| PeerMsg::Verdict {
        origin: Origin {
            session,
            request: Some(1),
        },
        result: Ok(InputOutcome::Accepted),
    };
    assert_eq!(
        c.hubs[0].handle_peer(ShardId(1), verdict(homed(2, 5)), now),
        misrouted()
    );
    assert_eq!(
        c.hubs[0].handle_peer(ShardId(1), verdict(homed(0, 5)), now),
        Err(HubError::UnknownSession)
    );
    let to = |session| PeerMsg::ToSession {
        session,
        data: Arc::from(&b"1"[..]),
    };
    assert_eq!(
        c.hubs[0].handle_peer(ShardId(1), to(homed(2, 5)), now),
        misrouted()
    );
    // A room send to a replica from a shard that does not own the room.
    let to_room = PeerMsg::ToRoom {
        room: r.clone(),
        data: Arc::from(&b"1"[..]),
    };
    assert_eq!(c.hubs[0].handle_peer(ShardId(2), to_room, now), misrouted());
    for hub in &mut c.hubs {
        assert_eq!(hub.poll_peer(), None);
    }
}

/// The owner closes and reopens a room while a replica's `Enter` for the
/// first opening is on its way, and the session leaves its home before the
/// new opening reaches it: the owner must not count that session in the new
/// opening, which nobody would ever take it out of.
#[test]
fn an_enter_for_a_closed_opening_does_not_join_the_new_one() {
    let (mut c, room, _) = with_room(2, 1, None);
    let chat = alloc::format!("{room}/chat");
    c.join(7, 0, "ana", None);
    let sub = Subscribe {
        topic: chat.as_str().try_into().unwrap(),
        since: None,
    };
    // Ana's Enter leaves hub 0 and waits on the link to the owner.
    c.send_only(7, &ClientMsg::Subscribe(sub)).unwrap();
    let now = c.now;
    c.hubs[1].close_room(&room).unwrap();
    let logic = Box::new(super::rooms::Referee {
        judged: alloc::rc::Rc::new(core::cell::Cell::new(0)),
    });
    c.hubs[1].open_room(&room, None, logic, now).unwrap();
    // Hub 0 hears of the close; Ana's session ends before the reopening
    // and her Enter arrive.
    c.deliver(1, 0);
    c.hubs[0].handle_disconnect(ConnId(7), now);
    c.advance(now + Duration::from_secs(3600));
    assert_eq!(c.peer_errors, alloc::vec![]);
    for hub in &c.hubs {
        assert_eq!(hub.room_users(&room).unwrap().count(), 0);
    }
}
