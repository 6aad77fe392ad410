//! Sessions across shards: every id a hub issues names that hub, and a
//! reconnecting client's `hello` says which hub can resume it.

use super::cluster::{Cluster, deliveries};
use super::*;
use crate::proto::codec::{encode_json, encode_postcard};

const MAX_FRAME: u32 = 64 * 1024;

fn hello(resume: Option<&str>) -> ClientMsg<'static> {
    ClientMsg::Hello(Hello {
        version: 1,
        resume: resume.map(|t| t.try_into().unwrap()),
        auth: None,
    })
}

#[test]
fn every_session_id_and_token_a_hub_issues_names_that_hub() {
    let mut c = Cluster::new(3);
    for conn in 0..30u64 {
        let hub = (conn % 3) as usize;
        let w = c.join(conn, hub, "user", None);
        let home = Some(ShardId(hub as u16));
        assert_eq!(home_of_session(&w.session, 3), home, "{w:?}");
        assert_eq!(home_of_token(&w.resume, 3), home, "{w:?}");
    }
}

#[test]
fn a_reconnecting_client_resumes_only_at_the_home_its_hello_names() {
    let (mut c, topic, opened) = Cluster::with_topic(3, "hall", 0);
    c.join(1, 0, "pub", None);
    let welcome = c.join(2, 2, "sub", None);
    c.subscribe(2, &topic, None);
    c.send(1, &Cluster::publish_msg(&topic, b"0", None, None))
        .unwrap();
    assert_eq!(deliveries(&c.take(2), &topic).len(), 1);
    c.disconnect(2);
    for data in [b"1", b"2"] {
        c.send(1, &Cluster::publish_msg(&topic, data, None, None))
            .unwrap();
    }

    let msg = hello(Some(&welcome.resume));
    let json = encode_json(&msg).into_bytes();
    let mut buf = [0u8; 256];
    let postcard = encode_postcard(&msg, &mut buf).unwrap().to_vec();
    for (frame, codec) in [(json, Codec::Json), (postcard, Codec::Postcard)] {
        assert_eq!(
            home_of_hello(&frame, codec, MAX_FRAME, 3),
            Some(ShardId(2)),
            "{codec:?}"
        );
    }

    // Any other hub knows nothing of it: the client would start afresh
    // there and lose what it missed.
    let elsewhere = c.join(3, 1, "sub", Some(&welcome.resume));
    assert_ne!(elsewhere.session, welcome.session);
    // Its home resumes it with exactly what it missed.
    let again = c.join(4, 2, "sub", Some(&welcome.resume));
    assert_eq!(again.session, welcome.session);
    let missed: Vec<_> = (1..3)
        .map(|i| (opened.epoch, i, alloc::format!("{i}").into_bytes()))
        .collect();
    assert_eq!(deliveries(&c.take(4), &topic), missed);
}

#[test]
fn only_a_hello_with_a_token_a_hub_could_have_written_has_a_home() {
    let token = "r-0123456789abcdef0011223344556677";
    let home = |msg: &ClientMsg<'_>, max: u32, shards: u16| {
        home_of_hello(encode_json(msg).as_bytes(), Codec::Json, max, shards)
    };
    assert_eq!(
        home(&hello(Some(token)), MAX_FRAME, 4),
        Some(ShardId((0x0011_2233_4455_6677_u64 % 4) as u16))
    );
    assert_eq!(home(&hello(Some(token)), MAX_FRAME, 1), Some(ShardId(0)));
    assert_eq!(home(&hello(None), MAX_FRAME, 4), None);
    assert_eq!(home(&hello(Some("r-not-hex")), MAX_FRAME, 4), None);
    // Too large for the limit: not decoded at all.
    assert_eq!(home(&hello(Some(token)), 16, 4), None);
    let subscribe = ClientMsg::Subscribe(Subscribe {
        topic: "a/b".try_into().unwrap(),
        since: None,
    });
    assert_eq!(home(&subscribe, MAX_FRAME, 4), None);
    for garbage in [&b"{\"hello\""[..], b"", b"\xff\xfe", b"[]"] {
        assert_eq!(home_of_hello(garbage, Codec::Json, MAX_FRAME, 4), None);
        assert_eq!(home_of_hello(garbage, Codec::Postcard, MAX_FRAME, 4), None);
    }
}
