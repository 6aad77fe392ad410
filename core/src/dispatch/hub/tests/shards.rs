//! Topics across shards: forwarding to the owner, replication, one order,
//! epochs, recovery on a replica, timed publishes.

use super::cluster::{Cluster, acks, deliveries, subscribed};
use super::*;
use crate::proto::ErrorCode;

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

#[test]
fn every_shard_gives_a_topic_its_owners_epoch_whatever_it_opened_before() {
    let mut c = Cluster::new(3);
    // Each shard opens a different number of topics of its own first, so
    // their own counts of opens disagree.
    for (owner, n) in [(0, 3), (1, 1), (2, 0)] {
        for i in 0..n {
            let other = c.topic_owned_by(&alloc::format!("own{owner}x{i}"), owner);
            c.open(&other);
        }
    }
    let topic = c.topic_owned_by("shared", 0);
    let first = c.open(&topic);
    assert_eq!(first.epoch, 1_003);
    for hub in 0..3 {
        assert_eq!(c.subscriber(10 + hub as u64, hub, &topic).position, first);
    }
    // Closed and reopened: a new epoch, again the same on every shard.
    c.hubs[0].close_topic(&topic, c.now).unwrap();
    c.settle();
    let again = c.open(&topic);
    assert_ne!(again.epoch, first.epoch);
    for hub in 0..3 {
        assert_eq!(c.subscriber(20 + hub as u64, hub, &topic).position, again);
    }

    // The application publishing on a replica is forwarded to the owner.
    assert_eq!(c.hubs[1].publish(&topic, b"1", None, c.now), Ok(None));
    c.settle();
    for conn in [20, 21, 22] {
        assert_eq!(
            deliveries(&c.take(conn), &topic),
            [(again.epoch, 0, b"1".to_vec())]
        );
    }
    assert!(c.peer_errors.is_empty(), "{:?}", c.peer_errors);
}
