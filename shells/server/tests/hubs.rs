//! A server of two hubs: connections are spread over them, a publish
//! reaches subscribers on both at one position, and a client resuming on a
//! connection given to the other hub is sent to its session's hub.

mod common;

use std::time::Duration;

use common::*;
use onbeat_server::{Config, Server};
use serde_json::Value;

const T: Duration = Duration::from_secs(5);
const TOPIC: &str = "table/chat";

/// Two I/O threads, a hub on each. Connection `n` (from 1, in the order
/// opened) is first given to hub `n % 2`.
fn two_hubs() -> Config {
    Config {
        hubs: 2,
        ..config()
    }
}

async fn subscribed(server: &Server, user: &str) -> (Ws, Value) {
    let mut ws = open_with(server, &token(user, &["room:table:*"])).await;
    let welcome = hello(&mut ws).await;
    send(
        &mut ws,
        &format!(r#"{{"subscribe":{{"topic":"{TOPIC}"}}}}"#),
    )
    .await;
    expect(&mut ws, "subscribed", T).await;
    (ws, welcome)
}

async fn publish(ws: &mut Ws, n: u64) {
    send(
        ws,
        &format!(r#"{{"publish":{{"topic":"{TOPIC}","data":{n},"request":{n}}}}}"#),
    )
    .await;
}

/// The next `deliver` of [`TOPIC`], as (offset, data); the request ids of
/// the `publish_ack`s before it go to `acks`.
async fn delivered(ws: &mut Ws, acks: &mut Vec<u64>) -> (u64, u64) {
    loop {
        match next(ws, T).await {
            Some(Got::Json(v)) if v["deliver"]["topic"] == TOPIC => {
                let d = &v["deliver"];
                return (d["offset"].as_u64().unwrap(), d["data"].as_u64().unwrap());
            }
            Some(Got::Json(v)) if v.get("publish_ack").is_some() => {
                acks.push(v["publish_ack"]["request"].as_u64().unwrap());
            }
            Some(Got::Json(_)) => {}
            other => panic!("waiting for a deliver, got {other:?}"),
        }
    }
}

#[test]
fn a_publish_reaches_subscribers_on_both_hubs_at_one_position() {
    let server = Server::start(two_hubs()).unwrap();
    smol::block_on(async {
        let mut subs = Vec::new();
        for user in ["a", "b", "c", "d"] {
            subs.push(subscribed(&server, user).await.0);
        }
        for n in 0..10 {
            publish(&mut subs[0], n).await;
        }
        let (mut seen, mut acks) = (Vec::new(), Vec::new());
        for ws in &mut subs {
            let mut got = Vec::new();
            for _ in 0..10 {
                got.push(delivered(ws, &mut acks).await);
            }
            seen.push(got);
        }
        let first = seen[0].clone();
        assert_eq!(
            first.iter().map(|d| d.1).collect::<Vec<_>>(),
            (0..10).collect::<Vec<_>>()
        );
        assert!(first.windows(2).all(|w| w[1].0 == w[0].0 + 1), "{first:?}");
        for other in &seen[1..] {
            assert_eq!(other, &first, "one position for each message on every hub");
        }
        while acks.len() < 10 {
            acks.push(
                expect(&mut subs[0], "publish_ack", T).await["request"]
                    .as_u64()
                    .unwrap(),
            );
        }
        assert_eq!(acks, (0..10).collect::<Vec<_>>());
        // The topic belongs to one hub: half the subscribers got their
        // copies through the other.
        assert!(metric(&server, "onbeat_peer_messages_total").await >= 10.0);
    });
    server.shutdown();
}

#[test]
fn a_client_resuming_through_the_other_hub_recovers_exactly_what_it_missed() {
    let server = Server::start(two_hubs()).unwrap();
    smol::block_on(async {
        // Connection 1 (hub 1) publishes; connection 2 (hub 0) subscribes.
        let (mut publisher, _) = subscribed(&server, "p").await;
        let (mut sub, welcome) = subscribed(&server, "s").await;
        publish(&mut publisher, 0).await;
        let first = expect(&mut sub, "deliver", T).await;
        let offset = first["offset"].as_u64().unwrap();
        drop(sub);
        // `sub` is gone: its session waits for it on hub 0.
        for n in 1..4 {
            publish(&mut publisher, n).await;
            expect(&mut publisher, "publish_ack", T).await;
        }
        // Connection 3 is first given to hub 1, where the session is not.
        let mut again = open_with(&server, &token("s", &["room:table:*"])).await;
        let resume = welcome["resume"].as_str().unwrap();
        send(
            &mut again,
            &format!(r#"{{"hello":{{"version":1,"resume":"{resume}"}}}}"#),
        )
        .await;
        let resumed = expect(&mut again, "welcome", T).await;
        assert_eq!(resumed["session"], welcome["session"]);
        // What the server wrote to the old connection before it saw it go
        // is recovered from the client's own position, as a client does.
        let epoch = &first["epoch"];
        let since = offset + 1;
        send(
            &mut again,
            &format!(
                r#"{{"subscribe":{{"topic":"{TOPIC}","since":{{"epoch":{epoch},"offset":{since}}}}}}}"#
            ),
        )
        .await;
        // What was still queued for the session may come before the
        // replay, and again in it: a client keeps each offset once.
        let mut missed = std::collections::BTreeMap::new();
        while missed.len() < 3 {
            let (at, data) = delivered(&mut again, &mut Vec::new()).await;
            assert_eq!(*missed.entry(at).or_insert(data), data);
        }
        let expected: Vec<_> = (1..4).map(|n| (offset + n, n)).collect();
        assert_eq!(missed.into_iter().collect::<Vec<_>>(), expected);
    });
    server.shutdown();
}

#[test]
fn the_first_client_finds_every_topic_on_every_hub() {
    use onbeat_core::dispatch::hub::room_owner;
    // The demo's topics belong to hub 1: connection 1 would go there, and
    // is refused before any hub hears of it, so that the first hub to see
    // a client is the one that did not open them.
    assert_eq!(room_owner("table", 2).0, 1);
    let server = Server::start(two_hubs()).unwrap();
    smol::block_on(async {
        let mut refused = open_with(&server, "not-a-token").await;
        assert_eq!(closed(&mut refused, T).await.0, 1008);
        let (mut sub, _) = subscribed(&server, "s").await;
        publish(&mut sub, 7).await;
        assert_eq!(delivered(&mut sub, &mut Vec::new()).await.1, 7);
    });
    server.shutdown();
}

#[test]
fn more_hubs_than_threads_are_refused() {
    let config = Config {
        threads: 2,
        hubs: 3,
        ..config()
    };
    let err = Server::start(config).err().expect("refused");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("hubs = 3"), "{err}");
}
