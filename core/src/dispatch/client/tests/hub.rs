//! The session against the real [`Hub`](crate::dispatch::Hub): resume,
//! recovery, request memory and backpressure as the two halves meet.

use std::string::ToString;
use std::vec::Vec;

use super::net::Net;
use super::*;

#[test]
fn a_resumed_session_sees_every_message_once_in_order() {
    let mut net = Net::new();
    net.client.subscribe("room/chat", net.now).unwrap();
    net.run_until(at(100));
    for n in 0..3 {
        net.publish("room/chat", n);
    }
    net.cut();
    for n in 3..6 {
        net.publish("room/chat", n);
    }
    net.run_until(net.later(5));
    for n in 6..8 {
        net.publish("room/chat", n);
    }
    assert_eq!(net.offsets("room/chat"), (0..8).collect::<Vec<_>>());
    let opened = |e: &&Ev| matches!(e, Ev::Opened { resumed: true, .. });
    assert_eq!(net.events.iter().filter(opened).count(), 1);
    assert_eq!(net.errors, []);
}

#[test]
fn an_input_judged_before_a_drop_is_answered_once_and_judged_once() {
    let mut net = Net::new();
    net.client.subscribe("room/moves", net.now).unwrap();
    net.run_until(at(100));
    let id = net.client.input("room", None, b"go", net.now).unwrap();
    // The input reaches the hub; the connection drops before the answer leaves.
    net.drain_client();
    net.cut();
    net.run_until(net.later(5));

    let outcomes: Vec<&Ev> = net
        .events
        .iter()
        .filter(|e| matches!(e, Ev::Input { .. }))
        .collect();
    let accepted = Ev::Input {
        request: id,
        outcome: InputStatus::Accepted,
    };
    assert_eq!(outcomes, [&accepted]);
    assert_eq!(net.offsets("room/moves"), [0], "judged once");
    let resent_answer = ClientError::UnknownRequest { request: id };
    assert!(
        net.errors.iter().all(|e| *e == resent_answer),
        "{:?}",
        net.errors
    );
}

#[test]
fn after_the_grace_a_new_session_reports_the_input_lost_once() {
    let mut net = Net::new();
    net.run_until(at(100));
    let id = net.client.input("room", None, b"go", net.now).unwrap();
    net.drain_client();
    net.cut();
    net.up = false;
    net.run_until(net.later(60));
    net.up = true;
    net.run_until(net.later(60));

    let lost = Ev::Input {
        request: id,
        outcome: InputStatus::Lost,
    };
    let outcomes: Vec<&Ev> = net
        .events
        .iter()
        .filter(|e| matches!(e, Ev::Input { .. }))
        .collect();
    assert_eq!(outcomes, [&lost]);
    assert!(net.client.is_open());
    assert_eq!(net.client.stats().resumes, 0);
}

#[test]
fn a_slow_consumer_of_a_reliable_topic_is_cut_off_and_misses_nothing() {
    let mut net = Net::new();
    net.flood("room/chat", TopicKind::Reliable, 40);
    assert!(net.conn.is_none(), "the hub closed the lagging connection");
    net.unstall();
    net.run_until(net.later(5));
    assert_eq!(net.offsets("room/chat"), (0..40).collect::<Vec<_>>());
    assert_eq!(
        net.client.stats().resumes,
        1,
        "one resume: the hub keeps room for the welcome"
    );
    assert_eq!(net.client.stats().sessions, 1 + net.client.stats().resumes);
    assert_eq!(net.errors, []);
}

#[test]
fn a_slow_consumer_of_a_lossy_topic_sees_each_offset_delivered_or_in_a_gap() {
    let mut net = Net::new();
    net.flood("room/cursor", TopicKind::Lossy, 40);
    net.unstall();
    let mut covered = Vec::new();
    for e in &net.events {
        match e {
            Ev::Delivered { position, .. } => covered.push(position.offset),
            Ev::Gap { from, to, .. } => covered.extend(*from..*to),
            _ => {}
        }
    }
    assert_eq!(covered, (0..40).collect::<Vec<_>>());
    assert!(net.events.iter().any(|e| matches!(e, Ev::Gap { .. })));
    assert_eq!(net.offsets("room/cursor").last(), Some(&39));
    assert!(net.client.is_open(), "lossy topics never disconnect");
    assert_eq!(net.errors, []);
}

#[test]
fn a_refused_subscription_ends_and_is_reported_instead_of_waiting_forever() {
    let mut net = Net::new();
    net.client.subscribe("secret/plans", net.now).unwrap();
    net.client.subscribe("room/nothing", net.now).unwrap();
    net.client.subscribe("room/chat", net.now).unwrap();
    net.run_until(at(100));
    let ended = |topic: &str, code| Ev::SubscriptionEnded {
        topic: topic.to_string(),
        code,
    };
    let ends: Vec<&Ev> = net
        .events
        .iter()
        .filter(|e| matches!(e, Ev::SubscriptionEnded { .. }))
        .collect();
    assert_eq!(
        ends,
        [
            &ended("secret/plans", ErrorCode::Forbidden),
            &ended("room/nothing", ErrorCode::UnknownTopic),
        ]
    );
    assert_eq!(net.client.subscriptions(), 1, "only room/chat is followed");
    // A reconnect does not resend what was refused.
    net.cut();
    net.run_until(net.later(5));
    assert_eq!(net.client.subscriptions(), 1);
    assert_eq!(net.errors, []);
}

#[test]
fn a_subscription_whose_topic_closes_ends() {
    let mut net = Net::new();
    net.client.subscribe("room/chat", net.now).unwrap();
    net.run_until(at(100));
    net.hub.close_topic("room/chat", net.now).unwrap();
    net.settle();
    let ended = Ev::SubscriptionEnded {
        topic: "room/chat".to_string(),
        code: ErrorCode::UnknownTopic,
    };
    assert_eq!(net.events.last(), Some(&ended));
    assert_eq!(net.client.subscriptions(), 0);
}
