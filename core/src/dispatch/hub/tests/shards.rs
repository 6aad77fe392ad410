//! Topics across shards: forwarding to the owner, replication, one order,
//! recovery on a replica, timed publishes, and a replica fed nonsense.

use alloc::sync::Arc;

use super::cluster::{Cluster, acks, deliveries, subscribed};
use super::*;
use crate::proto::{ErrorCode, NotRecovered};

#[test]
fn a_publish_made_on_one_shard_reaches_another_through_the_owner() {
    let (mut c, topic, opened) = Cluster::with_topic(3, "room", 2);
    c.join(1, 0, "pub", None);
    // The replica opened with the owner's epoch, not one of its own.
    assert_eq!(c.subscriber(2, 1, &topic).position, opened);
    assert_eq!(c.subscriber(3, 2, &topic).position, opened);

    c.send(1, &Cluster::publish_msg(&topic, b"\"hi\"", None, Some(7)))
        .unwrap();
    let want = [(opened.epoch, 0, b"\"hi\"".to_vec())];
    assert_eq!(deliveries(&c.take(2), &topic), want);
    assert_eq!(deliveries(&c.take(3), &topic), want);
    let ack = acks(&c.take(1));
    assert_eq!(ack.len(), 1);
    assert_eq!((ack[0].request, ack[0].position), (7, opened));
    // The publisher's shard keeps the message for recovery too, and did not
    // sequence it itself.
    for hub in &c.hubs {
        assert_eq!(hub.retained(&topic), Some(1));
    }

    // A resend while the owner has not answered yet is not published twice.
    c.send_only(1, &Cluster::publish_msg(&topic, b"2", None, Some(8)))
        .unwrap();
    c.send(1, &Cluster::publish_msg(&topic, b"2", None, Some(8)))
        .unwrap();
    assert_eq!(
        deliveries(&c.take(2), &topic),
        [(opened.epoch, 1, b"2".to_vec())]
    );
    let ack = acks(&c.take(1));
    assert_eq!(
        ack.iter().map(|a| a.position.offset).collect::<Vec<_>>(),
        [1]
    );
    // Remembered now: a later resend is acked again, not published.
    c.send(1, &Cluster::publish_msg(&topic, b"2", None, Some(8)))
        .unwrap();
    assert_eq!(acks(&c.take(1))[0].position.offset, 1);
    assert!(c.take(2).is_empty());
    assert!(c.peer_errors.is_empty(), "{:?}", c.peer_errors);
}

#[test]
fn publishes_from_every_shard_are_seen_in_one_order_everywhere() {
    let (mut c, topic, _) = Cluster::with_topic(3, "game", 0);
    for hub in 0..3 {
        c.join(10 + hub as u64, hub, "pub", None);
        c.subscriber(20 + hub as u64, hub, &topic);
    }
    // Six rounds, each shard's publisher once, all in flight together.
    let mut sent = Vec::new();
    for round in 0..6u32 {
        for hub in [2u64, 0, 1] {
            let data = alloc::format!("\"{hub}.{round}\"");
            c.send_only(
                10 + hub,
                &Cluster::publish_msg(&topic, data.as_bytes(), None, Some(round)),
            )
            .unwrap();
            sent.push(data.into_bytes());
        }
    }
    c.settle();
    let seen: Vec<_> = (0..3)
        .map(|hub| deliveries(&c.take(20 + hub), &topic))
        .collect();
    assert_eq!(seen[0].len(), 18);
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0], seen[2]);
    let offsets: Vec<u64> = seen[0].iter().map(|d| d.1).collect();
    assert_eq!(offsets, (0..18).collect::<Vec<_>>());
    let mut payloads: Vec<_> = seen[0].iter().map(|d| d.2.clone()).collect();
    payloads.sort();
    sent.sort();
    assert_eq!(payloads, sent);
    // Each publisher's ack names the offset its own payload landed at.
    for hub in 0..3u64 {
        for ack in acks(&c.take(10 + hub)) {
            let at = &seen[0][ack.position.offset as usize].2;
            assert_eq!(
                at,
                &alloc::format!("\"{hub}.{}\"", ack.request).into_bytes()
            );
        }
    }
}

#[test]
fn a_subscriber_resuming_on_its_replica_recovers_exactly_what_it_missed() {
    let (mut c, topic, opened) = Cluster::with_topic(2, "lobby", 0);
    c.join(1, 0, "pub", None);
    let welcome = c.join(2, 1, "sub", None);
    c.subscribe(2, &topic, None);
    for data in [b"0", b"1"] {
        c.send(1, &Cluster::publish_msg(&topic, data, None, None))
            .unwrap();
    }
    assert_eq!(deliveries(&c.take(2), &topic).len(), 2);
    c.disconnect(2);
    c.advance(ms(1_000));
    for data in [b"2", b"3", b"4"] {
        c.send(1, &Cluster::publish_msg(&topic, data, None, None))
            .unwrap();
    }
    let again = c.join(3, 1, "sub", Some(&welcome.resume));
    assert_eq!(again.session, welcome.session);
    let missed: Vec<_> = (2..5)
        .map(|i| (opened.epoch, i, alloc::format!("{i}").into_bytes()))
        .collect();
    assert_eq!(deliveries(&c.take(3), &topic), missed);

    // A client that resubscribes from its position is replayed exactly the
    // same from the replica's own history.
    let since = Position {
        epoch: opened.epoch,
        offset: 2,
    };
    c.subscribe(3, &topic, Some(since));
    let got = c.take(3);
    let sub = subscribed(&got);
    assert!(sub[0].recovered, "{sub:?}");
    assert_eq!(deliveries(&got, &topic), missed);
    c.send(1, &Cluster::publish_msg(&topic, b"5", None, None))
        .unwrap();
    assert_eq!(
        deliveries(&c.take(3), &topic),
        [(opened.epoch, 5, b"5".to_vec())]
    );
}

#[test]
fn a_timed_publish_from_a_non_owner_is_released_at_its_time_everywhere() {
    let (mut c, topic, opened) = Cluster::with_topic(2, "match", 1);
    c.join(1, 0, "pub", None);
    c.subscriber(2, 0, &topic);
    c.subscriber(3, 1, &topic);
    c.advance(ms(1_000));
    c.send(
        1,
        &Cluster::publish_msg(&topic, b"\"go\"", Some(ms(5_000)), Some(4)),
    )
    .unwrap();
    // The owner holds it; nobody hears of it yet.
    assert_eq!(c.hubs[1].timed_count(), 1);
    assert_eq!(c.hubs[0].timed_count(), 0);
    c.advance(ms(4_999));
    for conn in 1..=3 {
        assert!(c.take(conn).is_empty(), "{conn} heard early");
    }
    c.advance(ms(5_000));
    for conn in [2, 3] {
        let got = c.take(conn);
        assert_eq!(
            deliveries(&got, &topic),
            [(opened.epoch, 0, b"\"go\"".to_vec())]
        );
        match &got[0] {
            ServerMsg::Deliver(d) => assert_eq!(d.at, Some(ms(5_000))),
            other => panic!("{other:?}"),
        }
    }
    let ack = acks(&c.take(1));
    assert_eq!((ack[0].request, ack[0].position), (4, opened));
}

#[test]
fn a_forwarded_publish_to_a_topic_closed_meanwhile_is_refused_with_its_request() {
    let (mut c, topic, _) = Cluster::with_topic(2, "gone", 1);
    c.join(1, 0, "pub", None);
    c.subscriber(2, 0, &topic);
    c.send_only(1, &Cluster::publish_msg(&topic, b"1", None, Some(3)))
        .unwrap();
    assert_eq!(
        c.hubs[0].close_topic(&topic, c.now),
        Err(HubError::NotOwner)
    );
    c.hubs[1].close_topic(&topic, c.now).unwrap();
    c.settle();
    let errors: Vec<_> = c
        .take(1)
        .into_iter()
        .filter_map(|m| match m {
            ServerMsg::Error(e) => Some((e.code, e.request)),
            _ => None,
        })
        .collect();
    assert_eq!(errors, [(ErrorCode::UnknownTopic, Some(3))]);
    // The replica closed too: its subscriber is told so.
    assert!(
        c.take(2)
            .iter()
            .any(|m| matches!(m, ServerMsg::Error(e) if e.code == ErrorCode::UnknownTopic))
    );
    assert_eq!(c.hubs[0].retained(&topic), None);
    // Reopened, it is a new epoch on every shard.
    let reopened = c.open(&topic);
    c.subscribe(2, &topic, None);
    assert_eq!(subscribed(&c.take(2))[0].position, reopened);
}

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
fn rooms_stay_on_the_shard_that_owns_them() {
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
    c.join(1, 0, "far", None);
    let input = ClientMsg::Input(crate::proto::Input {
        room: room.try_into().unwrap(),
        request: 1,
        round: None,
        data: Payload::new(b"1"),
    });
    assert_eq!(c.send(1, &input), Err(HubError::NotOwner));
    let refused = c.take(1);
    assert!(matches!(&refused[0], ServerMsg::Error(e) if e.code == ErrorCode::UnknownRoom));
    // On the owner the room works as on a lone hub.
    c.join(2, 1, "near", None);
    c.send(2, &input).unwrap();
    assert!(matches!(&c.take(2)[0], ServerMsg::InputResult(_)));
}

#[test]
fn a_lone_hub_has_no_peers() {
    let mut s = Shell::standard();
    s.pair(Codec::Json, Codec::Json);
    s.publish(1, "t/chat", b"1", Some(ms(5)), Some(1)).unwrap();
    s.publish(1, "t/chat", b"2", None, Some(2)).unwrap();
    s.advance(ms(10));
    assert_eq!(s.hub.poll_peer(), None);
    let msg = append("t/chat", 0, 0, b"x");
    let err = HubError::Peer(PeerError::UnknownShard);
    assert_eq!(s.hub.handle_peer(ShardId(0), msg.clone(), ms(10)), Err(err));
    assert_eq!(s.hub.handle_peer(ShardId(1), msg, ms(10)), Err(err));
}
