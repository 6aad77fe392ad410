//! Sharded hubs at their edges: a replica fed nonsense, rooms opened and
//! closed off their owner, and a lone hub that never speaks to peers.

use alloc::sync::Arc;

use super::cluster::{Cluster, deliveries, subscribed};
use super::*;
use crate::proto::NotRecovered;

/// An `Append` of `data` to `topic` at `offset` of `epoch`.
fn append(topic: &str, epoch: u64, offset: u64, data: &[u8]) -> PeerMsg {
    PeerMsg::Append {
        topic: topic.try_into().unwrap(),
        position: Position { epoch, offset },
        at: None,
        data: Arc::from(data),
    }
}

#[test]
fn a_replica_fed_a_bad_offset_neither_panics_nor_corrupts() {
    let (mut c, topic, opened) = Cluster::with_topic(3, "odd", 0);
    let e = opened.epoch;
    c.join(1, 0, "pub", None);
    c.join(2, 1, "sub", None);
    c.subscribe(2, &topic, None);
    for data in [b"0", b"1"] {
        c.send(1, &Cluster::publish_msg(&topic, data, None, None))
            .unwrap();
    }
    c.take(2);
    let now = c.now;
    let replica = &mut c.hubs[1];
    let head = Position {
        epoch: e,
        offset: 2,
    };
    // Behind the head, or of another epoch: ignored.
    for got in [
        Position {
            epoch: e,
            offset: 1,
        },
        Position {
            epoch: e + 1,
            offset: 2,
        },
    ] {
        let msg = append(&topic, got.epoch, got.offset, b"x");
        let err = HubError::Peer(PeerError::Stale { head, got });
        assert_eq!(replica.handle_peer(ShardId(0), msg, now), Err(err));
    }
    // From itself, from no shard, from a shard that is not the owner.
    for (from, err) in [
        (1, PeerError::UnknownShard),
        (9, PeerError::UnknownShard),
        (2, PeerError::Misrouted),
    ] {
        let msg = append(&topic, e, 2, b"x");
        assert_eq!(
            replica.handle_peer(ShardId(from), msg, now),
            Err(HubError::Peer(err))
        );
    }
    assert_eq!(
        replica.handle_peer(ShardId(0), append("odd-x/none", e, 0, b"x"), now),
        Err(HubError::UnknownTopic)
    );
    assert_eq!(replica.retained(&topic), Some(2));
    c.settle();
    assert!(c.take(2).is_empty());

    // Past the head: the replica says what it lost and goes on from there.
    let got = Position {
        epoch: e,
        offset: 5,
    };
    let err = HubError::Peer(PeerError::Resynced { head, got });
    assert_eq!(
        c.hubs[1].handle_peer(ShardId(0), append(&topic, e, 5, b"5"), now),
        Err(err)
    );
    c.settle();
    let msgs = c.take(2);
    let sub = subscribed(&msgs);
    assert_eq!(sub.len(), 1);
    assert_eq!(
        (sub[0].recovered, sub[0].reason),
        (false, Some(NotRecovered::TooOld))
    );
    assert_eq!(deliveries(&msgs, &topic), [(e, 5, b"5".to_vec())]);
    assert_eq!(c.hubs[1].retained(&topic), Some(1));
    assert_eq!(
        c.hubs[1].handle_peer(ShardId(0), append(&topic, e, 6, b"6"), now),
        Ok(())
    );
}

#[test]
fn rooms_are_opened_and_closed_on_their_owner() {
    let mut c = Cluster::new(2);
    let topic = c.topic_owned_by("table", 1);
    let room = topic.split_once('/').unwrap().0;
    c.open(&topic);
    assert_eq!(
        c.hubs[0].open_room(room, None, Box::new(Echo), c.now),
        Err(HubError::NotOwner)
    );
    let config = TopicConfig::reliable(1, Duration::from_secs(1));
    assert_eq!(
        c.hubs[0].open_topic(&topic, config),
        Err(HubError::NotOwner)
    );
    c.hubs[1]
        .open_room(room, None, Box::new(Echo), c.now)
        .unwrap();
    c.settle();
    // The replica relays; it neither closes nor reopens the room.
    assert_eq!(c.hubs[0].close_room(room), Err(HubError::NotOwner));
    assert_eq!(
        c.hubs[0].open_room(room, None, Box::new(Echo), c.now),
        Err(HubError::NotOwner)
    );
    assert_eq!(c.hubs[0].send_to_room(room, b"1"), Ok(0));
    c.settle();
    assert_eq!(c.hubs[0].send_to_room("nobody", b"1").err(), {
        let lone = room_owner("nobody", 2) == ShardId(0);
        Some(if lone {
            HubError::UnknownRoom
        } else {
            HubError::NotOwner
        })
    });
    c.hubs[1].close_room(room).unwrap();
    c.settle();
    assert_eq!(c.hubs[0].send_to_room(room, b"1"), Err(HubError::NotOwner));
    assert!(c.peer_errors.is_empty(), "{:?}", c.peer_errors);
}

#[test]
fn a_lone_hub_has_no_peers() {
    let mut s = Shell::standard();
    s.pair(Codec::Json, Codec::Json);
    s.publish(1, "t/chat", b"1", Some(ms(5)), Some(1)).unwrap();
    s.publish(1, "t/chat", b"2", None, Some(2)).unwrap();
    s.advance(ms(10));
    s.hub.send_to_room("t", b"1").unwrap();
    s.hub.send_to_user(&"a".try_into().unwrap(), b"1");
    s.hub.close_room("t").unwrap();
    assert_eq!(s.hub.poll_peer(), None);
    let msg = append("t/chat", 0, 0, b"x");
    let err = HubError::Peer(PeerError::UnknownShard);
    assert_eq!(s.hub.handle_peer(ShardId(0), msg.clone(), ms(10)), Err(err));
    assert_eq!(s.hub.handle_peer(ShardId(1), msg, ms(10)), Err(err));
}
