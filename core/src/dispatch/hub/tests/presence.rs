//! Presence: joins, leaves and snapshots, consistent across reconnects.

use alloc::string::String;

use super::*;

#[test]
fn presence_joins_leaves_and_snapshots() {
    let mut s = Shell::standard();
    s.join(1, Shell::caps("alice"), Codec::Json, None);
    s.join(2, Shell::caps("bob"), Codec::Json, None);
    s.subscribe(1, "t/chat", None).unwrap();
    let first = presence_events(&s.take(1));
    assert_eq!(
        first,
        [PresenceEvent::Snapshot {
            members: heapless::Vec::from_slice(&["alice".try_into().unwrap()]).unwrap(),
            more: false
        }]
    );
    s.subscribe(2, "t/chat", None).unwrap();
    assert_eq!(
        presence_events(&s.take(1)),
        [PresenceEvent::Join("bob".try_into().unwrap())]
    );
    let snapshot = presence_events(&s.take(2));
    let PresenceEvent::Snapshot {
        members,
        more: false,
    } = &snapshot[0]
    else {
        panic!("{snapshot:?}")
    };
    assert_eq!(members.len(), 2);
    // A second topic of the same room is not a second join.
    s.subscribe(2, "t/moves", None).unwrap();
    assert!(presence_events(&s.take(1)).is_empty());
    s.send(
        2,
        ClientMsg::Unsubscribe(crate::proto::Unsubscribe {
            topic: "t/chat".try_into().unwrap(),
        }),
    )
    .unwrap();
    assert!(presence_events(&s.take(1)).is_empty());
    s.send(
        2,
        ClientMsg::Unsubscribe(crate::proto::Unsubscribe {
            topic: "t/moves".try_into().unwrap(),
        }),
    )
    .unwrap();
    assert_eq!(
        presence_events(&s.take(1)),
        [PresenceEvent::Leave("bob".try_into().unwrap())]
    );
}

#[test]
fn a_resume_is_not_a_leave_and_a_join_but_expiry_is_a_leave() {
    let mut s = Shell::standard();
    s.join(1, Shell::caps("alice"), Codec::Json, None);
    let bob = s.join(2, Shell::caps("bob"), Codec::Json, None);
    s.subscribe(1, "t/chat", None).unwrap();
    s.subscribe(2, "t/chat", None).unwrap();
    s.take(1);
    s.disconnect(2);
    s.advance(ms(5_000));
    s.join(3, Shell::caps("bob"), Codec::Json, Some(&bob.resume));
    assert!(presence_events(&s.take(1)).is_empty(), "alice saw nothing");
    let resync = presence_events(&s.take(3));
    assert!(
        matches!(&resync[..], [PresenceEvent::Snapshot { members, more: false }] if members.len() == 2)
    );
    s.disconnect(3);
    s.advance(ms(15_001));
    assert_eq!(
        presence_events(&s.take(1)),
        [PresenceEvent::Leave("bob".try_into().unwrap())]
    );
}

#[test]
fn two_sessions_of_one_user_join_once_and_leave_once() {
    let mut s = Shell::standard();
    s.join(1, Shell::caps("alice"), Codec::Json, None);
    s.subscribe(1, "t/chat", None).unwrap();
    s.take(1);
    s.join(2, Shell::caps("bob"), Codec::Json, None);
    s.join(3, Shell::caps("bob"), Codec::Json, None);
    s.subscribe(2, "t/chat", None).unwrap();
    s.subscribe(3, "t/chat", None).unwrap();
    assert_eq!(
        presence_events(&s.take(1)),
        [PresenceEvent::Join("bob".try_into().unwrap())]
    );
    s.disconnect(2);
    s.advance(ms(10_001));
    assert!(presence_events(&s.take(1)).is_empty());
}

#[test]
fn a_large_room_snapshot_spans_frames() {
    let mut cfg = config();
    cfg.max_sessions = 100;
    let mut s = Shell::new(cfg);
    s.hub.open_room("t", None, Box::new(Echo), ms(0)).unwrap();
    s.hub
        .open_topic("t/chat", TopicConfig::reliable(1, Duration::from_secs(1)))
        .unwrap();
    for c in 0..40u64 {
        s.join(
            c,
            Shell::caps(&alloc::format!("u{c:02}")),
            Codec::Json,
            None,
        );
        s.subscribe(c, "t/chat", None).unwrap();
    }
    s.join(99, Shell::caps("last"), Codec::Json, None);
    s.subscribe(99, "t/chat", None).unwrap();
    let snap = presence_events(&s.take(99));
    let sizes: Vec<(usize, bool)> = snap
        .iter()
        .map(|e| match e {
            PresenceEvent::Snapshot { members, more } => (members.len(), *more),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(sizes, [(32, true), (9, false)]);
}

#[test]
fn the_presence_accessor_lists_member_sessions_and_their_users() {
    let mut s = Shell::standard();
    let a = s.join(1, Shell::caps("alice"), Codec::Json, None);
    let b = s.join(2, Shell::caps("alice"), Codec::Postcard, None);
    s.join(3, Shell::caps("bob"), Codec::Json, None);
    s.subscribe(2, "t/chat", None).unwrap();
    s.subscribe(1, "t/moves", None).unwrap();
    let members = |s: &Shell| -> Vec<(String, String)> {
        s.hub
            .presence("t")
            .expect("open room")
            .map(|(id, user)| (id.as_str().into(), user.as_str().into()))
            .collect()
    };
    let alice = |w: &Welcome| (w.session.as_str().into(), "alice".into());
    assert_eq!(members(&s), [alice(&b), alice(&a)], "in join order");
    assert!(s.hub.presence("nowhere").is_none());
}

#[test]
fn opening_a_room_brings_in_the_subscribers_of_its_topics() {
    let mut s = Shell::roomless();
    s.pair(Codec::Json, Codec::Json);
    s.hub.open_room("t", None, Box::new(Echo), s.now).unwrap();
    s.drain();
    let users: Vec<String> = s
        .hub
        .presence("t")
        .unwrap()
        .map(|(_, user)| String::from(user.as_str()))
        .collect();
    assert_eq!(users, ["alice", "bob"]);
    // Alice entered first: she hears bob join; bob gets both in his snapshot.
    let alice = presence_events(&s.take(1));
    assert_eq!(alice.len(), 2, "{alice:?}");
    assert_eq!(alice[1], PresenceEvent::Join("bob".try_into().unwrap()));
    let bob = presence_events(&s.take(2));
    let [
        PresenceEvent::Snapshot {
            members,
            more: false,
        },
    ] = bob.as_slice()
    else {
        panic!("{bob:?}")
    };
    assert_eq!(members.len(), 2);
}
