//! Connecting, subscribing and publishing through the real server.

mod common;

use std::time::Duration;

use common::*;
use onbeat_server::Server;

const T: Duration = Duration::from_secs(5);

#[test]
fn json_hello_subscribe_publish_deliver() {
    let server = Server::start(config()).unwrap();
    smol::block_on(async {
        let alice = token("alice", &["room:table:*"]);
        let mut a = open_with(&server, &alice).await;
        let welcome = hello(&mut a).await;
        assert_eq!(welcome["version"], 1);
        assert_eq!(welcome["max_frame"], 65536);
        send(&mut a, r#"{"subscribe":{"topic":"table/chat"}}"#).await;
        let sub = expect(&mut a, "subscribed", T).await;
        assert_eq!(sub["topic"], "table/chat");
        send(
            &mut a,
            r#"{"publish":{"topic":"table/chat","data":{"text":"hi"},"request":1}}"#,
        )
        .await;
        let deliver = expect(&mut a, "deliver", T).await;
        assert_eq!(deliver["data"], serde_json::json!({"text": "hi"}));
        let ack = expect(&mut a, "publish_ack", T).await;
        assert_eq!(ack["request"], 1);
    });
    server.shutdown();
}

#[test]
fn postcard_hello_and_ping() {
    let server = Server::start(config()).unwrap();
    smol::block_on(async {
        let mut ws = open_postcard(&server).await;
        let welcome = postcard_hello(&mut ws).await;
        assert_eq!(welcome[..2], [0, 1], "welcome, version 1");
        // ping{seq 5, t1 9}
        ws.send(async_tungstenite::tungstenite::Message::binary(vec![
            1, 5, 9,
        ]))
        .await
        .unwrap();
        let Some(Got::Binary(pong)) = next(&mut ws, T).await else {
            panic!("no binary pong");
        };
        assert_eq!(pong[..3], [1, 5, 9], "pong echoes seq and t1");
    });
    server.shutdown();
}

#[test]
fn an_anonymous_viewer_may_watch_but_not_pick() {
    let server = Server::start(config()).unwrap();
    smol::block_on(async {
        let mut ws = open(&server, Open::default()).await.unwrap();
        hello(&mut ws).await;
        send(&mut ws, r#"{"subscribe":{"topic":"table/round"}}"#).await;
        expect(&mut ws, "subscribed", T).await;
        send(
            &mut ws,
            r#"{"input":{"room":"table","request":3,"data":{"pick":2}}}"#,
        )
        .await;
        let result = expect(&mut ws, "input_result", T).await;
        assert_eq!(result["outcome"]["rejected"], "forbidden");
        send(&mut ws, r#"{"subscribe":{"topic":"secret/x"}}"#).await;
        let err = expect(&mut ws, "error", T).await;
        assert_eq!(err["code"], "forbidden");
    });
    server.shutdown();
}
