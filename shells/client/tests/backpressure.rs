//! An app that falls behind on its events: the client stops reading its
//! socket once `event_capacity` events wait, so the server's queue and its
//! slow-consumer policy take over; nothing received is lost when the app
//! catches up, and a close behind a backlog arrives after it, with its code.

mod support;

use std::time::Duration;

use onbeat_client::{Client, CloseInfo, Codec, Event, Options};
use onbeat_core::dispatch::{ClientConfig, HubConfig};
use support::{Control, HubServer};

const TOPIC: &str = "room/feed";
/// Events the client buffers for the app.
const EVENT_CAPACITY: usize = 8;
/// Payload bytes per message: large enough that socket buffers of a few
/// KiB hold only a few messages.
const PAYLOAD: usize = 1_000;
/// Messages published while the app does not read: far more than the
/// event capacity and the socket buffers together.
const BACKLOG: usize = 400;
/// The longest wait for any one event.
const TIMEOUT: Duration = Duration::from_secs(10);

fn options(server: &HubServer) -> Options {
    let mut options = Options::new(&server.url())
        .codec(Codec::Json)
        .seed(7)
        .event_capacity(EVENT_CAPACITY);
    options.session = ClientConfig {
        backoff_base: onbeat_core::Duration::from_millis(50),
        ..ClientConfig::default()
    };
    // Clock pings all the time, so that some are due while the app is
    // behind and the connection is closing.
    let ping = onbeat_core::Duration::from_millis(5);
    options.clock.interval = ping;
    options.clock.fast_interval = ping;
    options
}

/// Message `seq`: a JSON string of [`PAYLOAD`] bytes starting with `seq`.
fn payload(seq: usize) -> Vec<u8> {
    let mut data = format!("\"{seq}:").into_bytes();
    data.resize(PAYLOAD - 1, b'x');
    data.push(b'"');
    data
}

fn seq_of(data: &[u8]) -> usize {
    let text = std::str::from_utf8(&data[1..]).expect("a payload is ASCII");
    text.split(':')
        .next()
        .and_then(|s| s.parse().ok())
        .expect("seq")
}

/// What `future` gives within [`TIMEOUT`], if anything.
async fn within<T>(future: impl std::future::Future<Output = T>) -> Option<T> {
    let timeout = async {
        smol::Timer::after(TIMEOUT).await;
        None
    };
    smol::future::or(async { Some(future.await) }, timeout).await
}

/// The next event within [`TIMEOUT`].
async fn next(client: &Client) -> Event {
    within(client.next_event())
        .await
        .flatten()
        .unwrap_or_else(|| panic!("no event within {TIMEOUT:?}"))
}

/// A client subscribed to [`TOPIC`], then [`BACKLOG`] messages published
/// to it, which its app has yet to read.
async fn behind(server: &HubServer, options: Options) -> Client {
    let client = Client::connect(options);
    client.subscribe(TOPIC, None).await.unwrap();
    while !matches!(next(&client).await, Event::Subscribed { .. }) {}
    for seq in 0..BACKLOG {
        server.send(Control::Publish(TOPIC.into(), payload(seq)));
    }
    client
}

/// Reads until [`BACKLOG`] deliveries of [`TOPIC`], checks that they are
/// the backlog once and in order, and returns the other events in the
/// order they came.
async fn read_backlog(client: &Client) -> Vec<Event> {
    let (mut seqs, mut others) = (Vec::new(), Vec::new());
    while seqs.len() < BACKLOG {
        match next(client).await {
            Event::Delivered(d) if d.topic == TOPIC => seqs.push(seq_of(&d.data)),
            Event::Delivered(_) | Event::Presence(_) | Event::Phase(_) => {}
            event => others.push(event),
        }
    }
    let expected: Vec<usize> = (0..BACKLOG).collect();
    assert_eq!(seqs, expected, "every message once, in order");
    others
}

#[test]
fn an_app_that_falls_behind_holds_back_the_socket_and_loses_nothing() {
    // Small socket buffers on both ends, so that what the kernel holds
    // for a client that stops reading is a few messages, not megabytes.
    let server = HubServer::start_with(&[TOPIC], HubConfig::default(), Some(4_096));
    smol::block_on(async {
        let mut options = options(&server);
        options.recv_buffer = Some(4_096);
        // Its pongs wait behind the backlog far longer than this: a lost
        // clock sample, which says nothing about the connection.
        options.clock.ping_timeout = onbeat_core::Duration::from_millis(20);
        let client = behind(&server, options).await;
        // Let the server write what the client will take.
        let mut written = server.written();
        loop {
            smol::Timer::after(Duration::from_millis(200)).await;
            let now = server.written();
            if now == written {
                break;
            }
            written = now;
        }
        // The app's events, a frame or two in hand, the client's and the
        // server's socket buffers (8 KiB each once the kernel doubles
        // them), one write batch of the server's, and the handshake's
        // frames and clock pongs: the client took no more than that.
        // Without the hold it takes the whole backlog.
        let bound = (EVENT_CAPACITY + 2 + 2 * 8 + 8 + 8) as u64;
        assert!(
            written <= bound,
            "the server wrote {written} of {BACKLOG} messages to a client \
             that stopped reading after {EVENT_CAPACITY} events; at most {bound} expected"
        );
        let others = read_backlog(&client).await;
        assert!(others.is_empty(), "the connection held: {others:?}");
        assert!(client.server_time().is_some(), "the clock estimate held");
        println!("written while the app was behind: {written} of {BACKLOG}");
        client.close().await;
    });
}

#[test]
fn a_close_behind_unread_deliveries_comes_after_them_with_its_reason() {
    let server = HubServer::start(&[TOPIC], HubConfig::default());
    smol::block_on(async {
        // The app reads nothing while the backlog and the close go out and
        // clock pings fall due: pings written once the client has read the
        // close fail, which must not cost what came before it.
        let client = behind(&server, options(&server)).await;
        server.send(Control::CloseAll("slow_consumer"));
        smol::Timer::after(Duration::from_millis(300)).await;

        let mut others = read_backlog(&client).await;
        while !others.iter().any(|e| matches!(e, Event::Opened { .. })) {
            others.push(next(&client).await);
        }
        let close = CloseInfo {
            code: 1008,
            reason: "slow_consumer".into(),
        };
        assert!(
            matches!(
                &others[..],
                [Event::Disconnected { close: Some(c) }, .., Event::Opened { resumed: true, .. }]
                    if *c == close
            ),
            "the close with its reason, then the resumed session: {others:?}"
        );
        client.close().await;
    });
}

#[test]
fn a_client_whose_app_fell_behind_still_closes_at_once() {
    let server = HubServer::start(&[TOPIC], HubConfig::default());
    smol::block_on(async {
        let client = behind(&server, options(&server)).await;
        // The backlog reaches the client, which has no room for it.
        while client.events().len() < EVENT_CAPACITY {
            smol::Timer::after(Duration::from_millis(5)).await;
        }
        assert!(
            within(client.close()).await.is_some(),
            "close() still waiting after {TIMEOUT:?} for the app to read its events"
        );
    });
}
