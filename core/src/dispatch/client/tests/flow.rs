//! The session's life: hello, welcome, subscriptions, disconnect, resume.

use super::*;
use crate::proto::{Hello, Token, Unsubscribe};

/// A rig welcomed into session `s-1`, subscribed to `chat` live from (1, 0).
fn subscribed_rig() -> Rig {
    let mut rig = Rig::new();
    rig.c.subscribe("chat", rig.now).unwrap();
    rig.open("s-1");
    rig.feed(&subscribed("chat", pos(1, 0), false));
    rig
}

#[test]
fn hello_then_welcome_then_every_subscription_is_sent() {
    let mut rig = Rig::new();
    let auth: Token = "secret".try_into().unwrap();
    rig.c.set_auth(Some(auth.clone()));
    rig.c.subscribe("chat", rig.now).unwrap();
    rig.c.subscribe_lossy("cursor", rig.now).unwrap();
    assert_eq!(rig.drain(), [], "nothing is sent before a connection");

    let hello = rig.connect();
    let expected = Hello {
        version: 1,
        resume: None,
        auth: Some(auth),
    };
    assert_eq!(hello, [Out::Send(ClientMsg::Hello(expected))]);
    assert_eq!(rig.drain(), [], "subscriptions wait for the welcome");

    let after = rig.feed(&welcome("s-1"));
    assert_eq!(
        after,
        [
            Out::Event(Ev::Opened {
                session: "s-1".to_string(),
                resumed: false
            }),
            subscribe_msg("chat", None),
            subscribe_msg("cursor", None),
        ]
    );
    assert!(rig.c.is_open());
    assert_eq!(rig.c.poll_timeout(), None, "an open session needs no timer");

    let answer = rig.feed(&subscribed("chat", pos(1, 5), false));
    let live = Ev::Subscribed {
        topic: "chat".to_string(),
        position: pos(1, 5),
    };
    assert_eq!(events(&answer), [live]);
    assert_eq!(rig.c.position("chat"), Some(pos(1, 5)));
}

#[test]
fn deliveries_reach_the_app_in_order_and_duplicates_are_dropped() {
    let mut rig = subscribed_rig();
    let mut seen = Vec::new();
    for offset in [0, 1, 1, 0, 2, 2, 3] {
        seen.extend(events(&rig.feed(&deliver("chat", 1, offset, b"m"))));
    }
    let expected: Vec<Ev> = (0..4).map(|o| delivered("chat", 1, o, b"m")).collect();
    assert_eq!(seen, expected);
    assert_eq!(rig.c.stats().duplicates, 3);
    assert_eq!(rig.c.position("chat"), Some(pos(1, 4)));
}

#[test]
fn a_dropped_connection_resumes_and_resubscribes_from_the_last_position() {
    let mut rig = subscribed_rig();
    for offset in 0..3 {
        rig.feed(&deliver("chat", 1, offset, b"m"));
    }
    rig.advance(Duration::from_secs(60));
    let gone = rig.disconnect();
    let [Out::Event(Ev::Disconnected { reconnect_at })] = gone[..] else {
        panic!("{gone:?}");
    };
    assert!(reconnect_at <= rig.now + ClientConfig::default().backoff_base);
    assert!(!rig.c.is_open());

    assert_eq!(rig.wait(), [Out::Connect]);
    assert_eq!(rig.now, reconnect_at);
    let hello = rig.connect();
    let resume = Some("token-s-1".try_into().unwrap());
    assert_eq!(
        hello,
        [Out::Send(ClientMsg::Hello(Hello {
            version: 1,
            resume,
            auth: None
        }))]
    );
    let after = rig.feed(&welcome("s-1"));
    assert_eq!(
        after,
        [
            Out::Event(Ev::Opened {
                session: "s-1".to_string(),
                resumed: true
            }),
            subscribe_msg("chat", Some(pos(1, 3))),
        ]
    );

    // The replay of what was missed, then live messages.
    let answer = rig.feed(&subscribed("chat", pos(1, 5), true));
    let recovered = Ev::Recovered {
        topic: "chat".to_string(),
        position: pos(1, 5),
    };
    assert_eq!(events(&answer), [recovered]);
    let mut seen = Vec::new();
    for offset in [2, 3, 4, 5] {
        seen.extend(events(&rig.feed(&deliver("chat", 1, offset, b"r"))));
    }
    let expected: Vec<Ev> = (3..6).map(|o| delivered("chat", 1, o, b"r")).collect();
    assert_eq!(seen, expected);
    assert_eq!(rig.c.stats().resumes, 1);
}

#[test]
fn not_recovered_tells_the_app_why_and_live_messages_follow() {
    let mut rig = subscribed_rig();
    rig.feed(&deliver("chat", 1, 0, b"m"));
    rig.disconnect();
    rig.wait();
    let after = rig.open("s-1");
    assert_eq!(
        sends(&after),
        [ClientMsg::Subscribe(Subscribe {
            topic: "chat".try_into().unwrap(),
            since: Some(pos(1, 1)),
        })]
    );

    too_old_then_live(&mut rig);
}

#[test]
fn a_new_epoch_after_a_server_restart_is_followed_from_its_start() {
    let mut rig = subscribed_rig();
    rig.feed(&deliver("chat", 1, 0, b"m"));
    rig.disconnect();
    rig.wait();
    rig.open("s-2");
    let answer = rig.feed(&not_recovered(
        "chat",
        pos(7, 0),
        NotRecovered::EpochChanged,
    ));
    assert!(matches!(
        events(&answer)[..],
        [Ev::NotRecovered {
            reason: Some(NotRecovered::EpochChanged),
            ..
        }]
    ));
    let live = rig.feed(&deliver("chat", 7, 0, b"fresh"));
    assert_eq!(events(&live), [delivered("chat", 7, 0, b"fresh")]);
    assert_eq!(rig.c.position("chat"), Some(pos(7, 1)));
}

#[test]
fn a_handshake_that_never_ends_is_closed_and_retried() {
    let mut rig = Rig::new();
    rig.connect();
    let deadline = rig.c.poll_timeout().unwrap();
    assert_eq!(deadline, rig.now + ClientConfig::default().connect_timeout);
    let gone = rig.wait();
    assert!(
        matches!(gone[..], [Out::Close, Out::Event(Ev::Disconnected { .. })]),
        "{gone:?}"
    );
    rig.c.handle_disconnected(rig.now);
    assert_eq!(rig.drain(), [], "a late close report changes nothing");
    assert_eq!(rig.wait(), [Out::Connect]);
}

#[test]
fn unsubscribing_while_away_is_sent_only_to_a_resumed_session() {
    let mut rig = subscribed_rig();
    rig.c.subscribe("news", rig.now).unwrap();
    rig.drain();
    rig.disconnect();
    rig.c.unsubscribe("chat", rig.now).unwrap();
    rig.wait();
    let after = rig.open("s-1");
    let unsubscribe = ClientMsg::Unsubscribe(Unsubscribe {
        topic: "chat".try_into().unwrap(),
    });
    assert!(sends(&after).contains(&unsubscribe), "{after:?}");
    assert_eq!(rig.c.subscriptions(), 1);

    // A new session holds no subscription: nothing to leave.
    rig.c.unsubscribe("news", rig.now).unwrap();
    rig.disconnect();
    rig.wait();
    let after = rig.open("s-2");
    assert_eq!(sends(&after), []);
    assert_eq!(rig.c.subscriptions(), 0);
}

#[test]
fn subscribing_again_before_leaving_continues_from_the_position() {
    let mut rig = subscribed_rig();
    rig.feed(&deliver("chat", 1, 0, b"m"));
    rig.c.unsubscribe("chat", rig.now).unwrap();
    rig.c.subscribe("chat", rig.now).unwrap();
    assert_eq!(rig.drain(), [subscribe_msg("chat", Some(pos(1, 1)))]);
}

#[test]
fn a_position_kept_from_an_earlier_run_is_asked_for_and_replayed() {
    let mut rig = Rig::new();
    rig.c.subscribe_since("chat", pos(1, 2), rig.now).unwrap();
    let sent = rig.open("s-1");
    assert_eq!(
        sends(&sent),
        sends(&[subscribe_msg("chat", Some(pos(1, 2)))])
    );
    let answer = rig.feed(&subscribed("chat", pos(1, 4), true));
    let recovered = Ev::Recovered {
        topic: "chat".to_string(),
        position: pos(1, 4),
    };
    assert_eq!(events(&answer), [recovered]);
    let mut seen = Vec::new();
    for offset in [1, 2, 3] {
        seen.extend(events(&rig.feed(&deliver("chat", 1, offset, b"r"))));
    }
    let expected: Vec<Ev> = [2, 3].map(|o| delivered("chat", 1, o, b"r")).into();
    assert_eq!(seen, expected, "what the app had is not delivered again");
}
