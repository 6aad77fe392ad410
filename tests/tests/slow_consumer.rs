//! A subscriber of a reliable topic that stops reading is cut off as a slow
//! consumer once its queue overflows, without holding back the other
//! subscribers, and recovers what it missed from history when it reads
//! again: the Rust client against the real server over loopback.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use onbeat_client::{Client, CloseInfo, Codec, Event, PublishStatus};
use onbeat_server::{Config, Server};

/// A reliable topic of the demo room, with 64 messages of history.
const TOPIC: &str = "table/chat";
/// Messages in the history of [`TOPIC`]: at most this many may be missed.
const HISTORY: u64 = 64;
/// The hub's bound on one session's outbound queue, in messages.
const QUEUE_MESSAGES: usize = 64;
/// Payload bytes per message: large, so that the kernel's buffers (which
/// count bytes) hold few messages.
const PAYLOAD: usize = 4_000;
/// Publishes in flight at once. Each window waits until the readers have
/// every earlier message, so a reader never has more than this owed: half
/// the queue bound, whatever the scheduler does.
const WINDOW: u64 = 32;
/// Messages published once the cut is counted, which the stalled client
/// can only get back from history.
const AFTER: u64 = 8;
/// The stalled client's `SO_RCVBUF`.
const RECV_BUFFER: usize = 4_096;
/// Events the stalled client buffers before it stops reading its socket.
const EVENT_CAPACITY: usize = 16;
/// The longest a reader may wait for a message after its publish began.
const LATENCY_BOUND: Duration = Duration::from_secs(2);

fn config() -> Config {
    let mut c = Config::loopback(SECRET);
    c.limits.queue_messages = QUEUE_MESSAGES;
    // Headroom for the frame around each payload: messages bind first.
    c.limits.queue_bytes = QUEUE_MESSAGES * (PAYLOAD + 256);
    c.limits.publishes_per_sec = 100_000;
    c.limits.publishes_burst = 100_000;
    c.limits.frames_per_sec = 100_000;
    c.limits.frames_burst = 100_000;
    c
}

/// The most messages it may take to fill everything between the hub and a
/// client that stopped reading: the server's send buffer (at most
/// `tcp_wmem`'s maximum), the stalled socket's receive buffer (the kernel
/// doubles `SO_RCVBUF`), the client's own buffer (its events, with a frame
/// or two in hand), then the hub's queue, twice over for slack.
fn most_messages() -> u64 {
    let wmem_max = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|t| t.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(4 << 20);
    let kernel = (wmem_max + 2 * RECV_BUFFER) / PAYLOAD;
    let client = EVENT_CAPACITY + 2;
    2 * (kernel + client + QUEUE_MESSAGES) as u64
}

/// Message `seq`, stamped with the microseconds since `start` at which its
/// publish began: a JSON string of [`PAYLOAD`] bytes.
fn payload(seq: u64, start: Instant) -> Vec<u8> {
    let head = format!("\"{seq}:{}:", start.elapsed().as_micros());
    let mut data = head.into_bytes();
    data.resize(PAYLOAD - 1, b'x');
    data.push(b'"');
    data
}

/// The sequence number and stamp of a [`payload`].
fn parse(data: &[u8]) -> (u64, Duration) {
    let text = std::str::from_utf8(&data[1..]).expect("a payload is ASCII");
    let mut fields = text.split(':');
    let seq = fields.next().and_then(|f| f.parse().ok()).expect("seq");
    let micros = fields.next().and_then(|f| f.parse().ok()).expect("stamp");
    (seq, Duration::from_micros(micros))
}

/// What a reader saw: every delivery's offset and sequence number, its
/// worst latency, and whether it was ever disconnected.
#[derive(Default)]
struct Seen {
    offsets: Vec<u64>,
    seqs: Vec<u64>,
    worst: Duration,
    disconnected: Option<Option<CloseInfo>>,
}

/// Reads `client`'s events into `seen` until the client closes.
fn read_into(client: Arc<Client>, seen: Arc<Mutex<Seen>>, start: Instant) -> smol::Task<()> {
    smol::spawn(async move {
        while let Some(event) = client.next_event().await {
            let mut seen = seen.lock().unwrap();
            match event {
                Event::Delivered(d) if d.topic == TOPIC => {
                    let (seq, stamp) = parse(&d.data);
                    seen.worst = seen.worst.max(start.elapsed().saturating_sub(stamp));
                    seen.offsets.push(d.offset);
                    seen.seqs.push(seq);
                }
                Event::Disconnected { close } => seen.disconnected = Some(close),
                _ => {}
            }
        }
    })
}

/// Publishes messages `from..to` at once and waits for every outcome.
async fn publish(publisher: &Arc<Client>, from: u64, to: u64, start: Instant) {
    let tasks: Vec<_> = (from..to)
        .map(|seq| {
            let publisher = publisher.clone();
            smol::spawn(async move { publisher.publish(TOPIC, &payload(seq, start), None).await })
        })
        .collect();
    for task in tasks {
        let status = within("a publish's outcome", task)
            .await
            .expect("the publisher is open");
        assert!(matches!(status, PublishStatus::Acked(_)), "{status:?}");
    }
}

/// Waits until every reader has `count` deliveries.
async fn readers_have(readers: &[Arc<Mutex<Seen>>], count: u64) {
    let deadline = Instant::now() + TIMEOUT;
    while readers
        .iter()
        .any(|r| (r.lock().unwrap().seqs.len() as u64) < count)
    {
        assert!(
            Instant::now() < deadline,
            "a reader lacks some of the first {count} messages after {TIMEOUT:?}"
        );
        smol::Timer::after(Duration::from_millis(2)).await;
    }
}

/// `seqs` is exactly `0..total` in order, and `offsets` count up by one.
fn assert_exact(who: &str, offsets: &[u64], seqs: &[u64], total: u64) {
    let expected: Vec<u64> = (0..total).collect();
    assert_eq!(seqs, expected, "{who}: every message once, in order");
    let first = offsets[0];
    let contiguous: Vec<u64> = (first..first + total).collect();
    assert_eq!(offsets, contiguous, "{who}: no gap in the offsets");
}

/// Publishes in windows until the slow-consumer close is counted, then
/// [`AFTER`] more; returns how many were published.
async fn publish_until_cut(
    addr: SocketAddr,
    publisher: &Arc<Client>,
    readers: &[Arc<Mutex<Seen>>],
    start: Instant,
) -> u64 {
    let slow = "onbeat_closes_total{reason=\"slow_consumer\"}";
    let most = most_messages();
    let mut sent = 0;
    while metric(addr, slow).await < 1.0 {
        assert!(
            sent < most,
            "no slow-consumer close after {sent} messages of {PAYLOAD} B"
        );
        publish(publisher, sent, sent + WINDOW, start).await;
        sent += WINDOW;
        readers_have(readers, sent).await;
    }
    publish(publisher, sent, sent + AFTER, start).await;
    sent += AFTER;
    readers_have(readers, sent).await;
    assert_eq!(
        metric(addr, slow).await,
        1.0,
        "only the stalled client is cut"
    );
    sent
}

/// What the stalled client hears once it reads again, until it has `total`
/// deliveries and the answer to its resubscription: the deliveries (with
/// how many came before it was disconnected), and the other events in the
/// order they came.
async fn read_stalled(stalled: &Client, total: u64) -> (Seen, Option<u64>, Vec<Event>) {
    let mut seen = Seen::default();
    let mut cut = None;
    let mut others = Vec::new();
    let deadline = Instant::now() + 2 * TIMEOUT;
    let answered = |others: &[Event]| {
        others
            .iter()
            .any(|e| matches!(e, Event::Subscribed { topic, .. } if topic == TOPIC))
    };
    while (seen.seqs.len() as u64) < total || !answered(&others) {
        let next = smol::future::or(stalled.next_event(), async {
            smol::Timer::at(deadline).await;
            None
        });
        match next.await {
            Some(Event::Delivered(d)) if d.topic == TOPIC => {
                seen.offsets.push(d.offset);
                seen.seqs.push(parse(&d.data).0);
            }
            Some(Event::Delivered(_) | Event::Presence(_) | Event::Phase(_)) => {}
            Some(event) => {
                if let Event::Disconnected { close } = &event {
                    seen.disconnected = Some(close.clone());
                    cut.get_or_insert(seen.seqs.len() as u64);
                }
                others.push(event);
            }
            None => panic!(
                "the stalled client has {} of {total} messages after {:?} and heard {others:?}",
                seen.seqs.len(),
                2 * TIMEOUT
            ),
        }
    }
    (seen, cut, others)
}

/// A client whose socket takes little before the server must hold back,
/// and which buffers few events before it stops reading its socket.
fn stalled_options(addr: SocketAddr) -> onbeat_client::Options {
    let mut stalled = options(addr, "stalled", Codec::Json, 1);
    stalled.recv_buffer = Some(RECV_BUFFER);
    stalled.event_capacity = EVENT_CAPACITY;
    stalled
}

#[test]
fn a_stalled_subscriber_is_cut_off_alone_and_recovers_what_it_missed() {
    let server = Server::start(config()).unwrap();
    let addr = server.local_addr();
    smol::block_on(async {
        let start = Instant::now();
        // Its clock pings go on throughout: some fall due while it catches
        // up on the cut connection, after it has read the server's close.
        let stalled = Client::connect(stalled_options(addr));
        let publisher = Arc::new(client(addr, "publisher", Codec::Json, 2));
        let mut readers = Vec::new();
        let mut tasks = Vec::new();
        for (i, codec) in [Codec::Json, Codec::Postcard].into_iter().enumerate() {
            let reader = Arc::new(client(addr, &format!("reader-{i}"), codec, 10 + i as u64));
            subscribed(&reader, TOPIC).await;
            let seen = Arc::new(Mutex::new(Seen::default()));
            tasks.push(read_into(reader.clone(), seen.clone(), start));
            readers.push((reader, seen));
        }
        subscribed(&stalled, TOPIC).await;
        // From here on nobody reads `stalled`'s events.

        let seens: Vec<_> = readers.iter().map(|(_, s)| s.clone()).collect();
        let total = publish_until_cut(addr, &publisher, &seens, start).await;

        for (i, seen) in seens.iter().enumerate() {
            let seen = seen.lock().unwrap();
            let who = format!("reader {i}");
            assert_exact(&who, &seen.offsets, &seen.seqs, total);
            assert!(seen.disconnected.is_none(), "{who} was disconnected");
            assert!(
                seen.worst <= LATENCY_BOUND,
                "{who} waited {:?} for a message",
                seen.worst
            );
        }

        let (seen, cut, events) = read_stalled(&stalled, total).await;
        assert_exact("the stalled client", &seen.offsets, &seen.seqs, total);
        let close = seen
            .disconnected
            .expect("the stalled client was disconnected");
        let close = close.unwrap_or_else(|| panic!("no close frame; heard {events:?}"));
        assert_eq!((close.code, close.reason.as_str()), (1008, "slow_consumer"));
        // What it missed: published after its queue overflowed, so only in
        // history by the time it reads again.
        let missed = total - cut.unwrap();
        assert!(
            (AFTER..=HISTORY).contains(&missed),
            "missed {missed} of {total}"
        );
        let worst = seens.iter().map(|s| s.lock().unwrap().worst).max();
        println!("published {total}; the stalled client missed {missed}; worst wait {worst:?}");
        // The cut, the resumed session, then its answer to the
        // resubscription from the last offset received.
        let at = |want: &dyn Fn(&Event) -> bool| events.iter().position(want);
        let disconnected = at(&|e| matches!(e, Event::Disconnected { .. }));
        let resumed = at(&|e| matches!(e, Event::Opened { resumed: true, .. }));
        let recovered = at(
            &|e| matches!(e, Event::Subscribed { topic, recovered: true, .. } if topic == TOPIC),
        );
        assert!(
            disconnected < resumed && resumed < recovered && disconnected.is_some(),
            "disconnected, resumed, recovered in order: {events:?}"
        );

        stalled.close().await;
        drop(tasks);
        drop(readers);
    });
    server.shutdown();
}

#[test]
fn a_burst_beyond_one_write_batch_reaches_its_reader() {
    let mut config = Config::loopback(SECRET);
    config.limits.publishes_per_sec = 100_000;
    config.limits.publishes_burst = 100_000;
    config.limits.frames_per_sec = 100_000;
    config.limits.frames_burst = 100_000;
    // Bursts of 64 messages of 4 KB: four times the default write batch.
    let burst = 4 * config.limits.write_batch_bytes as u64 / PAYLOAD as u64;
    let server = Server::start(config).unwrap();
    let addr = server.local_addr();
    smol::block_on(async {
        let start = Instant::now();
        let publisher = Arc::new(client(addr, "publisher", Codec::Json, 1));
        let reader = Arc::new(client(addr, "reader", Codec::Json, 2));
        subscribed(&reader, TOPIC).await;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let task = read_into(reader.clone(), seen.clone(), start);
        let seens = [seen.clone()];
        for round in 0..4 {
            publish(&publisher, round * burst, (round + 1) * burst, start).await;
            readers_have(&seens, (round + 1) * burst).await;
        }
        let seen = seen.lock().unwrap();
        assert_exact("the reader", &seen.offsets, &seen.seqs, 4 * burst);
        assert!(seen.disconnected.is_none(), "the reader was disconnected");
        drop(task);
    });
    server.shutdown();
}

#[test]
fn a_subscriber_that_never_reads_again_is_dropped_once_its_close_times_out() {
    let mut config = config();
    config.limits.close_timeout_ms = 300;
    let server = Server::start(config).unwrap();
    let addr = server.local_addr();
    smol::block_on(async {
        let start = Instant::now();
        let stalled = Client::connect(stalled_options(addr));
        let publisher = Arc::new(client(addr, "publisher", Codec::Json, 2));
        subscribed(&stalled, TOPIC).await;
        // Nobody reads `stalled`'s events, ever: its socket fills.
        publish_until_cut(addr, &publisher, &[], start).await;
        let open = "onbeat_connections_open ";
        let deadline = Instant::now() + Duration::from_secs(3);
        while metric(addr, open).await > 1.0 {
            assert!(
                Instant::now() < deadline,
                "the stalled connection is still held 3 s after its close"
            );
            smol::Timer::after(Duration::from_millis(20)).await;
        }
        assert_eq!(
            metric(addr, "onbeat_hub_pulled_unwritten ").await,
            0.0,
            "what the dropped writer held is off the gauge"
        );
        drop(stalled);
    });
    server.shutdown();
}
