//! The timed cases: fan-out, many topics, churn and resume.

use criterion::{BatchSize, Criterion, Throughput};
use onbeat_core::Duration;
use onbeat_core::dispatch::{ConnId, TopicConfig};
use onbeat_core::proto::{ClientMsg, Token, Topic, Unsubscribe};

use crate::bench::{Bench, fanout_setup, many_topics_setup};
use crate::counting::allocations;
use crate::steady::{cpu_time, per_cpu_second, report, wanted};

pub(crate) fn fanout(c: &mut Criterion) {
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

pub(crate) fn many_topics(c: &mut Criterion) {
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

pub(crate) fn churn(c: &mut Criterion) {
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

pub(crate) fn resume_recover(c: &mut Criterion) {
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
