//! The Rust client against a server on loopback: tokens, clients, waiting
//! for events, and the server's metrics.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use onbeat_client::{Client, Codec, Delivery, Event, Options};
use onbeat_core::dispatch::ClientConfig;
use onbeat_server::auth;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::net::TcpStream;

/// The secret the test servers sign with.
pub const SECRET: &str = "e2e-client-secret";
/// The longest wait for any one event.
pub const TIMEOUT: Duration = Duration::from_secs(8);

/// A token for `sub` with every right in the demo room, for an hour.
pub fn token(sub: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    auth::mint_grants(SECRET.as_bytes(), sub, &["room:table:*"], now, 3600).unwrap()
}

/// Options for `user` at `addr`, reconnecting after 50 ms at first.
pub fn options(addr: SocketAddr, user: &str, codec: Codec, seed: u64) -> Options {
    let mut options = Options::new(&format!("ws://{addr}/ws"))
        .codec(codec)
        .token(&token(user))
        .seed(seed);
    options.session = ClientConfig {
        backoff_base: onbeat_core::Duration::from_millis(50),
        ..ClientConfig::default()
    };
    options
}

/// A client for `user` at `addr` with [`options`].
pub fn client(addr: SocketAddr, user: &str, codec: Codec, seed: u64) -> Client {
    Client::connect(options(addr, user, codec, seed))
}

/// What `future` gives, within [`TIMEOUT`]; else a panic naming `what`.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    let timeout = async {
        smol::Timer::after(TIMEOUT).await;
        panic!("{what}: nothing within {TIMEOUT:?}")
    };
    smol::future::or(future, timeout).await
}

/// The first event `pick` accepts, within [`TIMEOUT`]; others are passed over.
pub async fn wait_for<T>(client: &Client, mut pick: impl FnMut(Event) -> Option<T>) -> T {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let next = smol::future::or(client.next_event(), async {
            smol::Timer::at(deadline).await;
            None
        });
        if let Some(found) = pick(next.await.expect("the awaited event within the timeout")) {
            return found;
        }
    }
}

/// Subscribes to `topic` and waits for the answer.
pub async fn subscribed(client: &Client, topic: &str) {
    client.subscribe(topic, None).await.unwrap();
    wait_for(client, |e| match e {
        Event::Subscribed { topic: t, .. } if t == topic => Some(()),
        _ => None,
    })
    .await;
}

/// The next delivery on `topic`.
pub async fn delivery(client: &Client, topic: &str) -> Delivery {
    wait_for(client, |e| match e {
        Event::Delivered(d) if d.topic == topic => Some(d),
        _ => None,
    })
    .await
}

/// The sum of the server's `/metrics` samples whose line starts with
/// `prefix` (e.g. `onbeat_closes_total{reason="slow_consumer"}`).
pub async fn metric(addr: SocketAddr, prefix: &str) -> f64 {
    let text = within("GET /metrics", async {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let request = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut text = String::new();
        tcp.read_to_string(&mut text).await.unwrap();
        text
    })
    .await;
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
