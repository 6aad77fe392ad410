//! WebSocket control frames between the hub's deliveries: pongs and the
//! close handshake, which the server's writer sends between batches.

mod common;

use std::time::{Duration, Instant};

use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::protocol::CloseFrame;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use common::*;
use futures_util::StreamExt;
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
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_else(|| panic!("pongs {pongs:?}, deliveries {delivered:?}"));
            let msg = smol::future::or(async { a.next().await }, async {
                smol::Timer::after(left).await;
                None
            })
            .await;
            match msg {
                Some(Ok(Message::Pong(p))) => pongs.push(p.to_vec()),
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if let Some(d) = v.get("deliver") {
                        delivered.push(d["data"]["n"].as_u64().unwrap());
                    }
                }
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
