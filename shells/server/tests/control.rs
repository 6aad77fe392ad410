//! WebSocket control frames between the hub's deliveries: pongs and the
//! close handshake, which the server's writer sends between batches.

mod common;

use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use common::*;
use onbeat_server::Server;
use serde_json::Value;

const T: Duration = Duration::from_secs(5);

#[test]
fn pings_are_answered_in_order_between_deliveries() {
    let server = Server::start(config()).unwrap();
    smol::block_on(async {
        let alice = token("alice", &["room:table:*"]);
        let mut a = open_with(&server, &alice).await;
        hello(&mut a).await;
        send(&mut a, r#"{"subscribe":{"topic":"table/chat"}}"#).await;
        expect(&mut a, "subscribed", T).await;
        for i in 0..20u8 {
            let publish = format!(
                r#"{{"publish":{{"topic":"table/chat","data":{{"n":{i}}},"request":{i}}}}}"#
            );
            a.send(Message::text(publish)).await.unwrap();
            a.send(Message::Ping(vec![i; 3].into())).await.unwrap();
        }
        let (mut pongs, mut delivered) = (Vec::new(), Vec::new());
        let deadline = Instant::now() + T;
        while pongs.len() < 20 || delivered.len() < 20 {
            match message_before(&mut a, deadline).await {
                Some(Ok(Message::Pong(p))) => pongs.push(p.to_vec()),
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if let Some(d) = v.get("deliver") {
                        delivered.push(d["data"]["n"].as_u64().unwrap());
                    }
                }
                None => panic!("pongs {pongs:?}, deliveries {delivered:?}"),
                other => panic!("unexpected {other:?}"),
            }
        }
        let expected: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; 3]).collect();
        assert_eq!(pongs, expected, "one pong per ping, in order, intact");
        assert_eq!(delivered, (0..20).collect::<Vec<u64>>());
    });
    server.shutdown();
}

#[test]
fn pongs_wait_for_a_batch_the_socket_could_not_take_at_once() {
    // Room in the hub's queue for more than the kernel's socket buffers
    // hold (up to 4 MiB on the sending side), so that the socket, not the
    // slow-consumer bound, is what stops the writes.
    let mut config = config();
    let limits = &mut config.limits;
    (limits.queue_bytes, limits.queue_messages) = (64 << 20, 10_000);
    (limits.publishes_per_sec, limits.publishes_burst) = (10_000, 10_000);
    (limits.frames_per_sec, limits.frames_burst) = (10_000, 10_000);
    let server = Server::start(config).unwrap();
    smol::block_on(async {
        let alice = token("alice", &["room:table:*"]);
        let how = Open {
            token: Some(&alice),
            recv_buffer: Some(4096),
            ..Open::default()
        };
        let mut a = open(&server, how).await.unwrap();
        hello(&mut a).await;
        send(&mut a, r#"{"subscribe":{"topic":"table/chat"}}"#).await;
        expect(&mut a, "subscribed", T).await;
        // Far more than a 4 KiB window and the sender's buffer take, so the
        // hub's direct writes stop part-way and the connection's writer
        // finishes them, while pongs for the pings sent meanwhile wait for
        // their turn.
        const N: usize = 200;
        const PINGS: usize = 20;
        let fill = "x".repeat(40_000);
        for i in 0..N {
            let publish = format!(
                r#"{{"publish":{{"topic":"table/chat","data":{{"n":{i},"fill":"{fill}"}}}}}}"#
            );
            a.send(Message::text(publish)).await.unwrap();
            a.send(Message::Ping(vec![i as u8; 4].into()))
                .await
                .unwrap();
            smol::Timer::after(Duration::from_millis(5)).await;
        }
        smol::Timer::after(Duration::from_millis(200)).await;
        let (mut pongs, mut delivered) = (0, Vec::new());
        let deadline = Instant::now() + T;
        while pongs < PINGS || delivered.len() < N {
            match message_before(&mut a, deadline).await {
                Some(Ok(Message::Pong(p))) => {
                    assert_eq!(p.len(), 4, "a pong intact");
                    pongs += 1;
                }
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).expect("whole JSON frames");
                    if let Some(d) = v.get("deliver") {
                        assert_eq!(d["data"]["fill"].as_str().map(str::len), Some(40_000));
                        delivered.push(d["data"]["n"].as_u64().unwrap());
                    }
                }
                None => panic!("pongs {pongs}, deliveries {delivered:?}"),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(delivered, (0..N as u64).collect::<Vec<_>>());
        assert!(
            metric(&server, "onbeat_writes_handed_over_total ").await > 0.0,
            "the socket took every batch at once: nothing was handed over"
        );
    });
    server.shutdown();
}

#[test]
fn a_close_from_the_client_is_answered_and_the_connection_ends() {
    let server = Server::start(config()).unwrap();
    smol::block_on(async {
        let mut a = open(&server, Open::default()).await.unwrap();
        hello(&mut a).await;
        a.send(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        })))
        .await
        .unwrap();
        match next(&mut a, T).await {
            Some(Got::Closed(Some(frame))) => assert_eq!(frame.code, CloseCode::Normal),
            other => panic!("expected the close reply, got {other:?}"),
        }
        assert!(next(&mut a, T).await.is_none(), "the stream ends");
    });
    let deadline = Instant::now() + T;
    smol::block_on(async {
        while metric(&server, "onbeat_connections_open ").await > 0.0 {
            assert!(Instant::now() < deadline, "the connection was not released");
            smol::Timer::after(Duration::from_millis(20)).await;
        }
    });
    server.shutdown();
}
