//! Cost of the hub's delivery paths, driven as the server's driver drives
//! them: every `Wake` is answered by one pull of that connection's frames
//! into a reused batch (one write), and by another only when that batch
//! came back full (the driver pulls again once the write is done), so each
//! figure includes the pull. After each measurement every queue is checked
//! empty: nothing is left behind.
//!
//! - `fanout/N`: one publish to a topic with N subscribers (1, 100, 10,000);
//! - `many_topics`: one publish to each of 1,000 topics with 4 subscribers;
//! - `churn`: one session subscribing to and unsubscribing from a topic that
//!   1,000 others follow;
//! - `resume_recover`: a session resuming after missing 1,000 messages and
//!   being caught up from history.
//!
//! Besides criterion's timings (throughput in deliveries), each case prints
//! one line measured outside criterion in steady state: deliveries per second
//! of wall time and, on Linux, per second of the thread's CPU time (the
//! figure that holds on a machine shared with other work), and heap
//! allocations per delivery, counted by the global allocator below.
//!
//! Instructions and cache misses per delivery, which do not depend on what
//! else the machine runs: `valgrind --tool=callgrind --cache-sim=yes
//! --LL=4194304,16,64 --collect-atstart=no --toggle-collect='*Bench*publish*'
//! --dump-before='*fanout_setup*' target/release/deps/dispatch-<hash>
//! --bench 'fanout/10000$' --profile-time 1` counts what `Bench::publish`
//! (the publish and every pull it causes) costs; the fourth dump holds the
//! `fanout/10000` case: divide its totals by its calls of `Bench::publish`
//! times 10,000.

// criterion_group! and criterion_main! generate undocumented items.
#![allow(missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration as WallDuration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use onbeat_core::dispatch::{
    Capabilities, Codec, ConnId, Frame, Hub, HubConfig, HubOutput, TopicConfig,
};
use onbeat_core::proto::codec::decode_postcard;
use onbeat_core::proto::{
    ClientMsg, Hello, MemberId, PROTOCOL_VERSION, Position, ServerMsg, Subscribe, Token, Topic,
    Unsubscribe,
};
use onbeat_core::{Duration, Instant};

/// The system allocator, counting allocations (reallocations included: a
/// growing vector costs as much as a fresh one) and the bytes live.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
/// Bytes requested and not yet freed (the allocator's own overhead aside).
static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

// The one unsafe item of the benchmarks: `GlobalAlloc` is an unsafe trait.
// Every call is forwarded unchanged to `System`, so its contract holds.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout, as `alloc` requires.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by this allocator, hence by `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by this allocator, hence by `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// A 64-byte payload, the size of a typical game move or chat line.
const PAYLOAD: &[u8] = &[b'x'; 64];
/// The shell's write size: everything queued goes in one pull.
const PULL_BYTES: usize = 64 * 1024;
/// More than any frame of these benchmarks takes (deliveries of `PAYLOAD`,
/// answers, `welcome`).
const FRAME_MAX: usize = 1024;

/// An in-process shell around one hub: answers every `Wake` by pulling.
struct Bench {
    hub: Hub,
    now: Instant,
    /// Reused between pulls, as a shell reuses its write buffer.
    batch: Vec<Frame>,
    /// Frames pulled so far.
    pulled: u64,
    /// Connections opened, to check that nothing is left queued.
    conns: Vec<ConnId>,
}

impl Bench {
    fn new(queue_messages: usize) -> Self {
        let config = HubConfig {
            max_sessions: 20_000,
            max_pending: 20_000,
            queue_messages,
            queue_bytes: 1 << 20,
            ..HubConfig::default()
        };
        let now = Instant::from_millis(1_000);
        Bench {
            hub: Hub::new(config, [7; 32], 1, now),
            now,
            batch: Vec::with_capacity(queue_messages),
            pulled: 0,
            conns: Vec::new(),
        }
    }

    /// Connects `conn` as user `u<user>`, allowed every topic, and says
    /// `hello` (resuming `resume` if given); returns the resume token of its
    /// session.
    fn connect(&mut self, conn: u64, user: u64, resume: Option<Token>) -> Token {
        let user = MemberId::try_from(format!("u{user}").as_str()).expect("short id");
        let caps = Capabilities::new(user).subscribe("*").subscribe("*/*");
        let c = ConnId(conn);
        self.hub
            .handle_connect(c, caps, Codec::Postcard, self.now)
            .expect("room for the connection");
        self.conns.push(c);
        let hello = Hello {
            version: PROTOCOL_VERSION,
            resume,
            auth: None,
        };
        self.hub
            .handle_message(c, ClientMsg::Hello(hello), self.now)
            .expect("hello accepted");
        let mut token = None;
        let mut batch = Vec::new();
        self.pulled += self.hub.pull(c, &mut batch, PULL_BYTES) as u64;
        for frame in &batch {
            if let Ok(ServerMsg::Welcome(w)) = decode_postcard::<ServerMsg<'_>>(frame) {
                token = Some(w.resume);
            }
        }
        self.drain();
        token.expect("a welcome answers hello")
    }

    fn subscribe(&mut self, conn: u64, topic: &str, since: Option<Position>) {
        let topic = Topic::try_from(topic).expect("short name");
        self.hub
            .handle_message(
                ConnId(conn),
                ClientMsg::Subscribe(Subscribe { topic, since }),
                self.now,
            )
            .expect("subscription allowed");
        self.drain();
    }

    /// Answers every output as the server's driver does: one pull per
    /// `Wake`, and another after each batch that may have filled the write
    /// (a batch with room for one more frame of this benchmark left nothing
    /// behind; frames are at most `FRAME_MAX` bytes).
    fn drain(&mut self) {
        while let Some(out) = self.hub.poll_output() {
            if let HubOutput::Wake(conn) = out {
                loop {
                    let n = self.hub.pull(conn, &mut self.batch, PULL_BYTES);
                    self.pulled += n as u64;
                    black_box(&self.batch);
                    self.batch.clear();
                    if (n + 1) * FRAME_MAX <= PULL_BYTES {
                        break;
                    }
                }
            }
        }
    }

    /// Panics if any connection still has frames queued.
    fn assert_drained(&self) {
        for &conn in &self.conns {
            let queued = self.hub.queued(conn).unwrap_or((0, 0));
            assert_eq!(queued, (0, 0), "{conn:?} was left with frames queued");
        }
    }

    /// Publishes one message to `topic` and delivers it (pulls included).
    /// Never inlined, so that callgrind can count its calls and costs.
    #[inline(never)]
    fn publish(&mut self, topic: &str) {
        self.now += Duration::from_micros(1);
        self.hub
            .publish(topic, PAYLOAD, None, self.now)
            .expect("open topic");
        self.drain();
    }
}

/// A hub with `subscribers` sessions on one topic keeping 1,024 messages.
fn fanout_setup(subscribers: u64) -> Bench {
    let mut b = Bench::new(64);
    b.hub
        .open_topic("t", TopicConfig::reliable(1024, Duration::from_secs(3600)))
        .expect("fresh topic");
    for conn in 0..subscribers {
        b.connect(conn, conn, None);
        b.subscribe(conn, "t", None);
    }
    b
}

/// A hub with `topics` topics of `per_topic` subscribers each.
fn many_topics_setup(topics: u64, per_topic: u64) -> (Bench, Vec<String>) {
    let mut b = Bench::new(64);
    let names: Vec<String> = (0..topics).map(|t| format!("t{t}")).collect();
    for (t, name) in names.iter().enumerate() {
        b.hub
            .open_topic(name, TopicConfig::reliable(64, Duration::from_secs(3600)))
            .expect("fresh topic");
        for i in 0..per_topic {
            let conn = t as u64 * per_topic + i;
            b.connect(conn, conn, None);
            b.subscribe(conn, name, None);
        }
    }
    (b, names)
}

/// Runs `step` until allocation counts are steady, then measures `rounds`
/// of it outside criterion and prints deliveries per second and allocations
/// per delivery.
fn report(name: &str, b: &mut Bench, rounds: u64, mut step: impl FnMut(&mut Bench)) {
    if !wanted(name) {
        return;
    }
    // Warm-up: the topic history fills to its bound (so each publish also
    // frees the oldest message) and every queue and output buffer reaches
    // its working size.
    for _ in 0..rounds.max(2_048) {
        step(b);
    }
    let (pulled, allocs) = (b.pulled, allocations());
    let (start, cpu) = (std::time::Instant::now(), cpu_time());
    for _ in 0..rounds {
        step(b);
    }
    let (wall, cpu) = (start.elapsed(), cpu_time().zip(cpu).map(|(b, a)| b - a));
    let deliveries = b.pulled - pulled;
    let allocs = allocations() - allocs;
    b.assert_drained();
    assert!(deliveries > 0, "{name}: nothing was delivered");
    println!(
        "{name}: {:.2} M deliveries/s{}, {:.4} allocations/delivery ({:.1} per round of {} deliveries)",
        deliveries as f64 / wall.as_secs_f64() / 1e6,
        per_cpu_second(deliveries, cpu),
        allocs as f64 / deliveries as f64,
        allocs as f64 / rounds as f64,
        deliveries / rounds,
    );
}

/// Whether the steady-state line of case `name` is wanted: not when
/// criterion only profiles (`--profile-time`, as under callgrind, where the
/// warm-up would take minutes), nor when a filter given on the command line
/// does not match it (criterion's rule: a substring of the name).
fn wanted(name: &str) -> bool {
    let mut args = std::env::args().skip(1);
    let mut filter = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--profile-time" => return false,
            // Flags that take a value; `--bench` and the like take none.
            "--save-baseline" | "--baseline" | "--measurement-time" | "--warm-up-time"
            | "--sample-size" | "--output-format" | "--color" => {
                args.next();
            }
            _ if arg.starts_with('-') => {}
            _ => filter = Some(arg),
        }
    }
    filter.is_none_or(|f| name.contains(&f))
}

/// CPU time this thread has run, where the kernel says (Linux): unlike wall
/// time, it does not count the time other processes held the core.
fn cpu_time() -> Option<WallDuration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(WallDuration::from_nanos(nanos))
}

/// ` (N M per CPU-second)`, when the CPU time is known.
fn per_cpu_second(deliveries: u64, cpu: Option<WallDuration>) -> String {
    cpu.filter(|cpu| !cpu.is_zero())
        .map(|cpu| {
            format!(
                " ({:.2} M per CPU-second)",
                deliveries as f64 / cpu.as_secs_f64() / 1e6
            )
        })
        .unwrap_or_default()
}

fn fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout");
    for subscribers in [1u64, 100, 10_000] {
        let mut b = fanout_setup(subscribers);
        let rounds = (2_000_000 / subscribers).clamp(200, 200_000);
        report(&format!("fanout/{subscribers}"), &mut b, rounds, |b| {
            b.publish("t")
        });
        group.throughput(Throughput::Elements(subscribers));
        group.bench_function(subscribers.to_string(), |bencher| {
            bencher.iter(|| b.publish("t"))
        });
    }
    group.finish();
}

fn many_topics(c: &mut Criterion) {
    const TOPICS: u64 = 1_000;
    const PER_TOPIC: u64 = 4;
    let (mut b, names) = many_topics_setup(TOPICS, PER_TOPIC);
    let round = |b: &mut Bench| {
        for name in &names {
            b.publish(name);
        }
    };
    report("many_topics/1000x4", &mut b, 100, round);
    let mut group = c.benchmark_group("many_topics");
    group.throughput(Throughput::Elements(TOPICS * PER_TOPIC));
    group.bench_function("1000x4", |bencher| bencher.iter(|| round(&mut b)));
    group.finish();
}

fn churn(c: &mut Criterion) {
    // 1,000 sessions follow the topic; one more comes and goes.
    let mut b = fanout_setup(1_000);
    let churner = 1_000;
    b.connect(churner, churner, None);
    let topic = Topic::try_from("t").expect("short name");
    let mut cycle = move |b: &mut Bench| {
        b.subscribe(churner, "t", None);
        b.hub
            .handle_message(
                ConnId(churner),
                ClientMsg::Unsubscribe(Unsubscribe {
                    topic: topic.clone(),
                }),
                b.now,
            )
            .expect("unsubscribe accepted");
        b.drain();
    };
    // Each cycle delivers one `subscribed`: "deliveries" here are cycles.
    report("churn/subscribe+unsubscribe", &mut b, 20_000, &mut cycle);
    let mut group = c.benchmark_group("churn");
    group.throughput(Throughput::Elements(1));
    group.bench_function("subscribe_unsubscribe", |bencher| {
        bencher.iter(|| cycle(&mut b))
    });
    group.finish();
}

/// A hub where session 0 subscribed to `t`, then dropped its connection and
/// missed `MISSED` messages, all within the history. Returns its token.
fn missed_setup() -> (Bench, Token) {
    let mut b = Bench::new(256);
    b.hub
        .open_topic("t", TopicConfig::reliable(4096, Duration::from_secs(3600)))
        .expect("fresh topic");
    let token = b.connect(0, 0, None);
    b.subscribe(0, "t", None);
    b.hub.handle_disconnect(ConnId(0), b.now);
    for _ in 0..MISSED {
        b.publish("t");
    }
    (b, token)
}

const MISSED: u64 = 1_000;

/// Resumes session 0 on connection 1 and pulls until it has caught up.
fn resume(b: &mut Bench, token: Token) {
    let before = b.pulled;
    b.connect(1, 0, Some(token));
    b.drain();
    // welcome + 1,000 deliveries.
    assert_eq!(
        b.pulled - before,
        MISSED + 1,
        "every missed message is recovered"
    );
}

fn resume_recover(c: &mut Criterion) {
    // Allocations of one resume (setup excluded), per recovered message.
    let mut samples = Vec::new();
    let samples_wanted = if wanted("resume_recover/1000") { 5 } else { 0 };
    for _ in 0..samples_wanted {
        let (mut b, token) = missed_setup();
        let (allocs, pulled) = (allocations(), b.pulled);
        let (start, cpu) = (std::time::Instant::now(), cpu_time());
        resume(&mut b, token);
        let (wall, cpu) = (start.elapsed(), cpu_time().zip(cpu).map(|(b, a)| b - a));
        assert_eq!(b.pulled - pulled, MISSED + 1);
        samples.push((wall, cpu, allocations() - allocs));
    }
    if let Some((wall, cpu, allocs)) = samples.iter().min().copied() {
        println!(
            "resume_recover/1000: {:.2} M deliveries/s{}, {:.4} allocations/delivery ({allocs} per resume)",
            MISSED as f64 / wall.as_secs_f64() / 1e6,
            per_cpu_second(MISSED, cpu),
            allocs as f64 / MISSED as f64,
        );
    }
    let mut group = c.benchmark_group("resume_recover");
    group.throughput(Throughput::Elements(MISSED));
    group.bench_function("1000", |bencher| {
        bencher.iter_batched(
            missed_setup,
            |(mut b, token)| {
                resume(&mut b, token);
                b
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// Heap bytes the hub holds per idle session, with its default limits: a
/// connection that said `hello`, subscribed to one topic and read
/// everything. Counted as requested from the allocator (its own overhead,
/// typically 8 to 16 bytes per block, aside) and including the shell's
/// capabilities, which the hub keeps.
fn idle_session(_: &mut Criterion) {
    const SESSIONS: u64 = 2_000;
    let name = "idle_session";
    if !wanted(name) {
        return;
    }
    let config = HubConfig {
        max_sessions: 20_000,
        ..HubConfig::default()
    };
    let now = Instant::from_millis(1_000);
    let mut b = Bench {
        hub: Hub::new(config, [7; 32], 1, now),
        now,
        batch: Vec::new(),
        pulled: 0,
        conns: Vec::with_capacity(SESSIONS as usize),
    };
    b.hub
        .open_topic("t", TopicConfig::reliable(1024, Duration::from_secs(3600)))
        .expect("fresh topic");
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    for conn in 0..SESSIONS {
        b.connect(conn, conn, None);
        b.subscribe(conn, "t", None);
    }
    b.assert_drained();
    let bytes = LIVE_BYTES.load(Ordering::Relaxed) - before;
    println!(
        "{name}: {} heap bytes per idle session ({SESSIONS} sessions, default limits)",
        bytes / SESSIONS as i64
    );
}

fn config() -> Criterion {
    // Two cores shared with other work: short, few samples, enough to see
    // the order of magnitude and any regression by a factor.
    Criterion::default()
        .warm_up_time(WallDuration::from_secs(1))
        .measurement_time(WallDuration::from_secs(3))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = idle_session, fanout, many_topics, churn, resume_recover
}
criterion_main!(benches);
