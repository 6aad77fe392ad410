//! The client against the core hub over real WebSockets: subscribe, publish,
//! inputs, and a dropped connection resumed with exact recovery.

mod support;

use std::time::Duration;

use onbeat_client::{Client, Codec, Event, InputStatus, Options, PublishStatus, RejectCode};
use onbeat_core::dispatch::{ClientConfig, HubConfig};
use support::{Control, HubServer};

const TIMEOUT: Duration = Duration::from_secs(10);

fn options(server: &HubServer, codec: Codec, seed: u64) -> Options {
    let mut options = Options::new(&server.url()).codec(codec).seed(seed);
    // Reconnect quickly: the tests cut connections on purpose.
    options.session = ClientConfig {
        backoff_base: onbeat_core::Duration::from_millis(50),
        ..ClientConfig::default()
    };
    options
}

/// The next event that `pick` accepts, within the timeout.
async fn wait_for<T>(client: &Client, mut pick: impl FnMut(Event) -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let next = smol::future::or(async { client.next_event().await }, async {
            smol::Timer::at(deadline).await;
            None
        });
        let event = next.await.expect("an awaited event within the timeout");
        if let Some(found) = pick(event) {
            return found;
        }
    }
}

async fn subscribed(client: &Client, topic: &str) -> Event {
    wait_for(client, |e| match e {
        Event::Subscribed { topic: ref t, .. } if t == topic => Some(e),
        _ => None,
    })
    .await
}

async fn deliveries(client: &Client, topic: &str, n: usize) -> Vec<(u64, Vec<u8>)> {
    let mut got = Vec::new();
    while got.len() < n {
        let d = wait_for(client, |e| match e {
            Event::Delivered(d) if d.topic == topic => Some(d),
            _ => None,
        })
        .await;
        got.push((d.offset, d.data));
    }
    got
}

fn round_trip(codec: Codec) {
    let server = HubServer::start(&["room/chat"], HubConfig::default());
    smol::block_on(async {
        let alice = Client::connect(options(&server, codec, 1));
        let bob = Client::connect(options(&server, codec, 2));
        alice.subscribe("room/chat", None).await.unwrap();
        bob.subscribe("room/chat", None).await.unwrap();
        subscribed(&alice, "room/chat").await;
        subscribed(&bob, "room/chat").await;

        let status = bob.publish("room/chat", b"{\"text\":\"hi\"}", None).await;
        let Ok(PublishStatus::Acked(position)) = status else {
            panic!("{status:?}");
        };
        assert_eq!(position.offset, 0);
        let got = deliveries(&alice, "room/chat", 1).await;
        assert_eq!(got, [(0, b"{\"text\":\"hi\"}".to_vec())]);

        let accepted = alice.input("room", None, b"\"ok\"").await.unwrap();
        assert_eq!(accepted, InputStatus::Accepted);
        let rejected = alice.input("room", None, b"\"no\"").await.unwrap();
        assert_eq!(rejected, InputStatus::Rejected(RejectCode::Invalid));

        // The clock is sampled as soon as the session opens.
        let deadline = std::time::Instant::now() + TIMEOUT;
        while alice.server_time().is_none() {
            assert!(std::time::Instant::now() < deadline, "no clock estimate");
            smol::Timer::after(Duration::from_millis(10)).await;
        }
        let estimate = alice.server_time().unwrap();
        assert!(estimate.error_bound.as_micros() < 100_000, "{estimate:?}");
        alice.close().await;
        bob.close().await;
    });
}

#[test]
fn json_clients_publish_subscribe_and_send_inputs() {
    round_trip(Codec::Json);
}

#[test]
fn postcard_clients_publish_subscribe_and_send_inputs() {
    round_trip(Codec::Postcard);
}

#[test]
fn a_cut_connection_resumes_and_recovers_exactly_what_was_missed() {
    let server = HubServer::start(&["room/feed"], HubConfig::default());
    smol::block_on(async {
        let reader = Client::connect(options(&server, Codec::Json, 3));
        reader.subscribe("room/feed", None).await.unwrap();
        subscribed(&reader, "room/feed").await;
        for i in 0..3u8 {
            server.send(Control::Publish("room/feed".into(), vec![b'0' + i]));
        }
        let before = deliveries(&reader, "room/feed", 3).await;
        assert_eq!(before.iter().map(|d| d.0).collect::<Vec<_>>(), [0, 1, 2]);

        // The network drops everyone; messages are published while away.
        server.send(Control::DropAll);
        wait_for(&reader, |e| {
            matches!(e, Event::Disconnected { .. }).then_some(())
        })
        .await;
        for i in 3..6u8 {
            server.send(Control::Publish("room/feed".into(), vec![b'0' + i]));
        }
        let resumed = wait_for(&reader, |e| match e {
            Event::Opened { resumed, .. } => Some(resumed),
            _ => None,
        })
        .await;
        assert!(resumed, "the session resumes within the grace period");
        // The resumed session streams on while the client's resubscription
        // (from its own position) is answered: the client takes what follows
        // its position in order and drops any repeat.
        let (mut after, mut recovered) = (Vec::new(), None);
        while after.len() < 3 || recovered.is_none() {
            match wait_for(&reader, |e| match e {
                Event::Delivered(_) | Event::Subscribed { .. } => Some(e),
                _ => None,
            })
            .await
            {
                Event::Delivered(d) => after.push((d.offset, d.data)),
                Event::Subscribed { recovered: r, .. } => recovered = Some(r),
                _ => unreachable!("picked above"),
            }
        }
        assert_eq!(recovered, Some(true));
        let expected: Vec<(u64, Vec<u8>)> =
            (3..6u8).map(|i| (u64::from(i), vec![b'0' + i])).collect();
        assert_eq!(after, expected, "each missed message once, in order");
        reader.close().await;
    });
}
