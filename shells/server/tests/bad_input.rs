//! Every kind of bad input gets an error frame with a code and the right
//! close, is counted, and leaves other clients alone.

mod common;

use std::time::Duration;

use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::protocol::frame::Frame;
use async_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use common::*;
use onbeat_server::Server;
use serde_json::json;

const T: Duration = Duration::from_secs(5);

/// Opens a JSON connection that has said `hello`.
async fn ready(server: &Server) -> Ws {
    let mut ws = open(server, Open::default()).await.unwrap();
    hello(&mut ws).await;
    ws
}

#[test]
fn bad_frames_are_answered_closed_and_counted_while_others_carry_on() {
    let mut cfg = config();
    cfg.limits.max_frame = 1024;
    cfg.limits.frames_burst = 30;
    cfg.limits.frames_per_sec = 10;
    let server = Server::start(cfg).unwrap();
    smol::block_on(async {
        // A bystander following the round topic throughout.
        let mut bystander = ready(&server).await;
        send(&mut bystander, r#"{"subscribe":{"topic":"table/round"}}"#).await;
        expect(&mut bystander, "subscribed", T).await;

        let text_cases: [(&str, &str); 4] = [
            ("malformed JSON", r#"{"hello":"#),
            ("wrong field type", r#"{"ping":{"seq":"seven","t1":1}}"#),
            ("unknown message kind", r#"{"dance":{"speed":3}}"#),
            (
                "server message from a client",
                r#"{"gap":{"topic":"a","epoch":1,"from":1,"to":2}}"#,
            ),
        ];
        for (what, text) in text_cases {
            let mut ws = ready(&server).await;
            send(&mut ws, text).await;
            let (code, error) = closed(&mut ws, T).await;
            assert_eq!(code, 1008, "{what}");
            assert_eq!(error.unwrap()["code"], "bad_frame", "{what}");
        }

        let mut ws = ready(&server).await;
        ws.send(Message::binary(vec![0, 1, 0, 0])).await.unwrap();
        let (code, error) = closed(&mut ws, T).await;
        assert_eq!(
            (code, error.unwrap()["code"].clone()),
            (1003, json!("bad_frame"))
        );

        let mut ws = ready(&server).await;
        let not_utf8 = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
        ws.send(Message::Frame(not_utf8)).await.unwrap();
        let (code, error) = closed(&mut ws, T).await;
        assert_eq!(
            (code, error.unwrap()["code"].clone()),
            (1007, json!("bad_frame"))
        );

        let mut ws = ready(&server).await;
        let big = format!(
            r#"{{"publish":{{"topic":"table/chat","data":"{}"}}}}"#,
            "x".repeat(2000)
        );
        send(&mut ws, &big).await;
        let (code, error) = closed(&mut ws, T).await;
        assert_eq!(
            (code, error.unwrap()["code"].clone()),
            (1009, json!("frame_too_large"))
        );

        let mut ws = ready(&server).await;
        for seq in 0..40 {
            send(&mut ws, &format!(r#"{{"ping":{{"seq":{seq},"t1":1}}}}"#)).await;
        }
        let (code, error) = closed(&mut ws, T).await;
        assert_eq!(
            (code, error.unwrap()["code"].clone()),
            (1008, json!("rate_limited"))
        );

        // Before hello: answered, not closed.
        let mut ws = open(&server, Open::default()).await.unwrap();
        send(&mut ws, r#"{"ping":{"seq":1,"t1":1}}"#).await;
        assert_eq!(
            expect(&mut ws, "error", T).await["code"],
            "unexpected_message"
        );
        hello(&mut ws).await;

        // A postcard connection sending text.
        let mut ws = open_postcard(&server).await;
        send(&mut ws, r#"{"hello":{"version":1}}"#).await;
        let (code, _) = closed(&mut ws, T).await;
        assert_eq!(code, 1003);

        // The bystander still gets the round's messages and answers.
        send(&mut bystander, r#"{"ping":{"seq":99,"t1":5}}"#).await;
        assert_eq!(expect(&mut bystander, "pong", T).await["seq"], 99);
        let d = expect(&mut bystander, "deliver", T).await;
        assert_eq!(d["topic"], "table/round");

        assert!(metric(&server, "onbeat_errors_total{reason=\"bad_frame\"}").await >= 7.0);
        assert_eq!(
            metric(&server, "onbeat_errors_total{reason=\"frame_too_large\"}").await,
            1.0
        );
        assert_eq!(
            metric(&server, "onbeat_errors_total{reason=\"rate_limited\"}").await,
            1.0
        );
        assert!(metric(&server, "onbeat_closes_total{reason=\"protocol\"}").await >= 4.0);
    });
    server.shutdown();
}

#[test]
fn forged_expired_and_missing_tokens_are_unauthorized() {
    let mut cfg = config();
    cfg.auth.anonymous_viewers = false;
    let server = Server::start(cfg).unwrap();
    smol::block_on(async {
        let now = unix_now();
        let forged = onbeat_server::auth::mint(
            b"not-the-secret",
            &onbeat_server::auth::Claims {
                sub: "mallory".into(),
                exp: now + 60,
                iat: now,
                caps: onbeat_server::auth::Caps::default(),
            },
        );
        let expired = onbeat_server::auth::mint(
            SECRET.as_bytes(),
            &onbeat_server::auth::Claims {
                sub: "alice".into(),
                exp: now - 1,
                iat: now - 100,
                caps: onbeat_server::auth::Caps::default(),
            },
        );
        for (what, token) in [
            ("forged", Some(forged.as_str())),
            ("expired", Some(&expired)),
            ("garbage", Some("abc")),
            ("missing", None),
        ] {
            let mut ws = open(
                &server,
                Open {
                    token,
                    ..Open::default()
                },
            )
            .await
            .unwrap();
            let (code, error) = closed(&mut ws, T).await;
            assert_eq!(code, 1008, "{what}");
            assert_eq!(error.unwrap()["code"], "unauthorized", "{what}");
        }
        assert_eq!(
            metric(&server, "onbeat_errors_total{reason=\"unauthorized\"}").await,
            4.0
        );
        // A good token still works, in the Authorization header too.
        let good = token("alice", &["room:table:sub"]);
        let mut ws = open_with(&server, &good).await;
        hello(&mut ws).await;
    });
    server.shutdown();
}

#[test]
fn origins_are_checked_at_the_upgrade() {
    let server = Server::start(config()).unwrap();
    smol::block_on(async {
        let addr = server.local_addr();
        let own = format!("http://{addr}");
        let mut ws = open(
            &server,
            Open {
                origin: Some(&own),
                ..Open::default()
            },
        )
        .await
        .unwrap();
        hello(&mut ws).await;
        let refused = open(
            &server,
            Open {
                origin: Some("http://evil.example"),
                ..Open::default()
            },
        )
        .await;
        match refused {
            Err(async_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 403),
            other => panic!("expected 403, got {other:?}"),
        }
        assert_eq!(
            metric(&server, "onbeat_upgrades_refused_total{reason=\"origin\"}").await,
            1.0
        );
    });
    server.shutdown();
    let mut cfg = config();
    cfg.auth.allowed_origins = vec!["https://app.example".into()];
    let server = Server::start(cfg).unwrap();
    smol::block_on(async {
        assert!(
            open(
                &server,
                Open {
                    origin: Some("https://app.example"),
                    ..Open::default()
                }
            )
            .await
            .is_ok()
        );
        assert!(
            open(
                &server,
                Open {
                    origin: Some("https://other.example"),
                    ..Open::default()
                }
            )
            .await
            .is_err()
        );
    });
    server.shutdown();
}
