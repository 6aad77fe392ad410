//! The live-table demo end to end: commit, picks, late pick, timed reveal.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use onbeat_server::Server;
use onbeat_server::demo::commitment;
use serde_json::Value;

const T: Duration = Duration::from_secs(5);

fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

/// A player's token from `POST /demo/token`.
async fn demo_token(server: &Server, name: &str) -> String {
    let body = format!(r#"{{"name":"{name}"}}"#);
    let (status, _, body) = post(server, "/demo/token", &body).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["user"], name);
    assert!(v["expires_at"].as_u64().unwrap() > unix_now());
    v["token"].as_str().unwrap().to_owned()
}

/// The next `deliver` on `table/round` whose payload has `type`.
async fn round_message(ws: &mut Ws, kind: &str) -> (Value, Value) {
    loop {
        let d = expect(ws, "deliver", T).await;
        if d["topic"] == "table/round" && d["data"]["type"] == kind {
            return (d["data"].clone(), d);
        }
    }
}

#[test]
fn a_round_commits_accepts_picks_rejects_late_ones_and_reveals_at_once() {
    let server = Server::start(config()).unwrap();
    smol::block_on(async {
        let mut players = Vec::new();
        for k in 1..=6 {
            let name = format!("p{k}");
            let token = demo_token(&server, &name).await;
            let mut ws = open_with(&server, &token).await;
            hello(&mut ws).await;
            send(&mut ws, r#"{"subscribe":{"topic":"table/round"}}"#).await;
            expect(&mut ws, "subscribed", T).await;
            players.push((name, ws));
        }
        // Everyone sees the same commit of the next round.
        let (commit, _) = round_message(&mut players[0].1, "commit").await;
        for (_, ws) in &mut players[1..] {
            assert_eq!(round_message(ws, "commit").await.0, commit);
        }
        let round = commit["round"].as_u64().unwrap();
        let close_at = commit["picks_close_at"].as_u64().unwrap();
        let reveal_at = commit["reveal_at"].as_u64().unwrap();
        assert_eq!(reveal_at - close_at, 300_000, "closed phase from config");
        let committed = commit["commitment"].as_str().unwrap().to_owned();
        assert_eq!(committed.len(), 64);

        // Each player picks a different face, the first one twice: the later pick counts.
        for (k, (_, ws)) in players.iter_mut().enumerate() {
            let first = if k == 0 { 6 } else { k + 1 };
            for (request, pick) in [(1, first), (2, k + 1)] {
                let input = format!(
                    r#"{{"input":{{"room":"table","request":{request},"round":{round},"data":{{"pick":{pick}}}}}}}"#
                );
                send(ws, &input).await;
                let result = expect(ws, "input_result", T).await;
                assert_eq!(result["outcome"], "accepted", "pick {pick}: {result}");
            }
        }
        let ws = &mut players[0].1;
        for (request, bad) in [(3, "7"), (4, "\"3\""), (5, "2.5"), (6, "0")] {
            let input = format!(
                r#"{{"input":{{"room":"table","request":{request},"data":{{"pick":{bad}}}}}}}"#
            );
            send(ws, &input).await;
            let result = expect(ws, "input_result", T).await;
            assert_eq!(result["outcome"]["rejected"], "invalid", "pick {bad}");
        }

        // After the close, on the server's timeline: late.
        let wait = close_at.saturating_sub(unix_micros()) + 30_000;
        smol::Timer::after(Duration::from_micros(wait)).await;
        assert!(
            unix_micros() < reveal_at,
            "test too slow to send the late pick"
        );
        let late = format!(
            r#"{{"input":{{"room":"table","request":9,"round":{round},"data":{{"pick":1}}}}}}"#
        );
        send(ws, &late).await;
        assert_eq!(
            expect(ws, "input_result", T).await["outcome"]["rejected"],
            "late"
        );

        // The reveal reaches everyone, stamped and released at the reveal time.
        let mut reveals = Vec::new();
        for (_, ws) in &mut players {
            let (reveal, deliver) = round_message(ws, "reveal").await;
            let received = unix_micros();
            assert_eq!(deliver["at"].as_u64(), Some(reveal_at));
            // Server time is the boot's wall clock plus a monotonic clock;
            // 2 ms covers their drift over the test.
            assert!(
                received + 2_000 >= reveal_at,
                "revealed {}µs early",
                reveal_at - received
            );
            reveals.push(reveal);
        }
        assert!(reveals.iter().all(|r| *r == reveals[0]));
        let reveal = &reveals[0];
        assert_eq!(reveal["round"].as_u64(), Some(round));
        let outcome = reveal["outcome"].as_u64().unwrap();
        assert!((1..=6).contains(&outcome));
        let salt = reveal["salt"].as_str().unwrap();
        assert_eq!(salt.len(), 32);
        assert_eq!(reveal["commitment"], committed.as_str());
        assert_eq!(commitment(round as u32, outcome as u8, salt), committed);
        let winner = format!("p{outcome}");
        assert_eq!(reveal["winners"], serde_json::json!([winner]));
        for k in 1..=6 {
            let expected = if k == outcome { 5 } else { 0 };
            assert_eq!(reveal["scores"][format!("p{k}")], expected, "{reveal}");
        }
    });
    server.shutdown();
}

#[test]
fn demo_tokens_need_a_plain_name_and_the_config_s_consent() {
    let server = Server::start(config()).unwrap();
    smol::block_on(async {
        for bad in [r#"{"name":""}"#, r#"{"name":"a b"}"#, r#"{"nom":"x"}"#, "{"] {
            let (status, _, body) = post(&server, "/demo/token", bad).await;
            assert_eq!(status, 400, "{bad}");
            assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string());
        }
    });
    server.shutdown();
    let mut closed = config();
    closed.auth.anonymous_players = false;
    let server = Server::start(closed).unwrap();
    smol::block_on(async {
        let (status, _, _) = post(&server, "/demo/token", r#"{"name":"alice"}"#).await;
        assert_eq!(status, 403);
    });
    server.shutdown();
}
