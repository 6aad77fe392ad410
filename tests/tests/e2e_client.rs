//! The Rust client against the real server on loopback: publish and
//! subscribe with presence, timed delivery, input codes, a cut connection
//! resumed with exact recovery, and a graceful shutdown.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use onbeat_client::{Codec, Event, InputStatus, PublishStatus, RejectCode};
use onbeat_core::proto::{PhaseAnnounce, PresenceEvent};
use onbeat_server::{Config, Server};
use smol::Task;
use smol::net::{TcpListener, TcpStream};

fn config() -> Config {
    Config::loopback(SECRET)
}

#[test]
fn players_publish_see_each_other_and_get_timed_messages_never_early() {
    let server = Server::start(config()).unwrap();
    let addr = server.local_addr();
    smol::block_on(async {
        let alice = client(addr, "alice", Codec::Json, 1);
        let bob = client(addr, "bob", Codec::Postcard, 2);
        subscribed(&alice, "table/chat").await;
        subscribed(&bob, "table/chat").await;
        // Bob entered second: Alice hears him join (or a snapshot with him).
        wait_for(&alice, |e| match e {
            Event::Presence(p) => match &p.event {
                PresenceEvent::Join(m) if m == "bob" => Some(()),
                PresenceEvent::Snapshot { members, .. } if members.iter().any(|m| m == "bob") => {
                    Some(())
                }
                _ => None,
            },
            _ => None,
        })
        .await;

        let text = br#"{"text":"hi"}"#;
        let acked = alice.publish("table/chat", text, None).await.unwrap();
        assert!(matches!(acked, PublishStatus::Acked(_)), "{acked:?}");
        let got = delivery(&bob, "table/chat").await;
        assert_eq!(
            got.data, text,
            "a postcard client reads a JSON client's bytes"
        );

        // Timed: released at `at` on the server's clock, never earlier.
        wait_for(&alice, |_| alice.server_time()).await;
        let now = alice.server_time().unwrap().server_time;
        let at = now.saturating_add(onbeat_core::Duration::from_millis(300));
        let status = alice
            .publish("table/chat", b"\"later\"", Some(at))
            .await
            .unwrap();
        assert!(matches!(status, PublishStatus::Acked(_)), "{status:?}");
        let got = delivery(&bob, "table/chat").await;
        let seen = bob.server_time().expect("bob's clock is sampled");
        assert_eq!(got.at, Some(at));
        assert!(
            seen.server_time.saturating_add(seen.error_bound) >= at,
            "delivered at {:?} ± {:?}, before {at:?}",
            seen.server_time,
            seen.error_bound
        );
        alice.close().await;
        bob.close().await;
    });
    server.shutdown();
}

#[test]
fn inputs_are_accepted_rejected_invalid_and_late() {
    let server = Server::start(config()).unwrap();
    smol::block_on(async {
        let carol = client(server.local_addr(), "carol", Codec::Json, 3);
        subscribed(&carol, "table/round").await;
        let phase = |name: &'static str| {
            move |e: Event| match e {
                Event::Phase(p) if p.phase.name == name => Some(*p),
                _ => None,
            }
        };
        let picks: PhaseAnnounce = wait_for(&carol, phase("picks")).await;
        let round = Some(picks.phase.round);
        // The phase may be announced ahead of its start: wait until open.
        let start = carol.local_time_of(picks.phase.starts_at);
        if let Some(start) = start {
            smol::Timer::at(start + Duration::from_millis(20)).await;
        }
        let ok = carol.input("table", round, br#"{"pick":3}"#).await.unwrap();
        let bad = carol.input("table", round, br#"{"pick":9}"#).await.unwrap();
        assert_eq!(ok, InputStatus::Accepted);
        assert_eq!(bad, InputStatus::Rejected(RejectCode::Invalid));
        wait_for(&carol, phase("closed")).await;
        let end = carol.local_time_of(picks.phase.ends_at).unwrap();
        smol::Timer::at(end + Duration::from_millis(20)).await;
        let late = carol.input("table", round, br#"{"pick":3}"#).await.unwrap();
        assert_eq!(late, InputStatus::Rejected(RejectCode::Late));
        carol.close().await;
    });
    server.shutdown();
}

/// A loopback relay whose connections can be cut, as a network would.
struct Relay {
    addr: SocketAddr,
    links: Arc<Mutex<Vec<Task<()>>>>,
    _accept: Task<()>,
}

impl Relay {
    async fn start(to: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let links: Arc<Mutex<Vec<Task<()>>>> = Arc::default();
        let held = links.clone();
        let accept = smol::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = TcpStream::connect(to).await else {
                    continue;
                };
                let up = smol::io::copy(inbound.clone(), outbound.clone());
                let down = smol::io::copy(outbound, inbound);
                let link = smol::spawn(async move {
                    let _ = smol::future::race(up, down).await;
                });
                held.lock().unwrap().push(link);
            }
        });
        Relay {
            addr,
            links,
            _accept: accept,
        }
    }

    /// Drops every connection without a close frame.
    fn cut(&self) {
        self.links.lock().unwrap().clear();
    }
}

#[test]
fn a_cut_connection_resumes_and_recovers_exactly() {
    let server = Server::start(config()).unwrap();
    smol::block_on(async {
        let relay = Relay::start(server.local_addr()).await;
        let dave = client(relay.addr, "dave", Codec::Json, 4);
        let erin = client(server.local_addr(), "erin", Codec::Json, 5);
        subscribed(&dave, "table/chat").await;
        subscribed(&erin, "table/chat").await;
        erin.publish("table/chat", b"1", None).await.unwrap();
        let first = delivery(&dave, "table/chat").await;

        relay.cut();
        wait_for(&dave, |e| {
            matches!(e, Event::Disconnected { .. }).then_some(())
        })
        .await;
        for i in 2..=4 {
            erin.publish("table/chat", format!("{i}").as_bytes(), None)
                .await
                .unwrap();
        }
        let resumed = wait_for(&dave, |e| match e {
            Event::Opened { resumed, .. } => Some(resumed),
            _ => None,
        })
        .await;
        assert!(resumed, "the session resumes within its grace");
        let mut after = Vec::new();
        while after.len() < 3 {
            after.push(delivery(&dave, "table/chat").await);
        }
        let offsets: Vec<u64> = after.iter().map(|d| d.offset).collect();
        let data: Vec<&[u8]> = after.iter().map(|d| d.data.as_slice()).collect();
        let next = first.offset + 1;
        assert_eq!(offsets, [next, next + 1, next + 2], "once each, in order");
        assert_eq!(data, [b"2", b"3", b"4"]);
        dave.close().await;
        erin.close().await;
    });
    server.shutdown();
}

#[test]
fn a_graceful_shutdown_closes_clients_with_1012() {
    let server = Server::start(config()).unwrap();
    smol::block_on(async {
        let frank = client(server.local_addr(), "frank", Codec::Json, 6);
        subscribed(&frank, "table/chat").await;
        let stopping = std::thread::spawn(move || server.shutdown());
        let close = wait_for(&frank, |e| match e {
            Event::Disconnected { close } => Some(close),
            _ => None,
        })
        .await;
        assert_eq!(close.map(|c| c.code), Some(1012));
        stopping.join().unwrap();
        frank.close().await;
    });
}
