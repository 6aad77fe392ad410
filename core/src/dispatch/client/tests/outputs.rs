//! The session's outputs, owned so that tests can keep and compare them.

use super::*;

/// One output, owned so that a test can keep it.
#[expect(
    clippy::large_enum_variant,
    reason = "test values, built and compared whole"
)]
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Out {
    Connect,
    Close,
    Send(ClientMsg<'static>),
    Event(Ev),
}

/// The app-facing events, owned.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Ev {
    Opened {
        session: String,
        resumed: bool,
    },
    Disconnected {
        reconnect_at: Instant,
    },
    Delivered {
        topic: String,
        position: Position,
        data: Vec<u8>,
    },
    TooLarge {
        topic: String,
        position: Position,
        len: usize,
    },
    Gap {
        topic: String,
        from: u64,
        to: u64,
    },
    Subscribed {
        topic: String,
        position: Position,
    },
    Recovered {
        topic: String,
        position: Position,
    },
    NotRecovered {
        topic: String,
        position: Position,
        reason: Option<NotRecovered>,
    },
    Input {
        request: u32,
        outcome: InputStatus,
    },
    Published {
        request: u32,
        outcome: PublishStatus,
    },
    SubscriptionEnded {
        topic: String,
        code: ErrorCode,
    },
    /// Pass-through events, by their debug form.
    Other(String),
}

impl Out {
    pub(super) fn of(output: ClientOutput<'_>) -> Out {
        match output {
            ClientOutput::Connect => Out::Connect,
            ClientOutput::Close => Out::Close,
            ClientOutput::Send(msg) => Out::Send(owned(msg)),
            ClientOutput::Event(e) => Out::Event(Ev::of(e)),
        }
    }
}

impl Ev {
    pub(super) fn of(e: ClientEvent<'_>) -> Ev {
        let s = |t: &str| t.to_string();
        match e {
            ClientEvent::SessionOpened { session, resumed } => Ev::Opened {
                session: s(session),
                resumed,
            },
            ClientEvent::Disconnected { reconnect_at } => Ev::Disconnected { reconnect_at },
            ClientEvent::Delivered {
                topic,
                position,
                data,
                ..
            } => Ev::Delivered {
                topic: s(topic),
                position,
                data: data.to_vec(),
            },
            ClientEvent::TooLarge {
                topic,
                position,
                len,
            } => Ev::TooLarge {
                topic: s(topic),
                position,
                len,
            },
            ClientEvent::Gap {
                topic, from, to, ..
            } => Ev::Gap {
                topic: s(topic),
                from,
                to,
            },
            ClientEvent::Subscribed { topic, position } => Ev::Subscribed {
                topic: s(topic),
                position,
            },
            ClientEvent::Recovered { topic, position } => Ev::Recovered {
                topic: s(topic),
                position,
            },
            ClientEvent::NotRecovered {
                topic,
                position,
                reason,
            } => Ev::NotRecovered {
                topic: s(topic),
                position,
                reason,
            },
            ClientEvent::Input { request, outcome } => Ev::Input { request, outcome },
            ClientEvent::Published { request, outcome } => Ev::Published { request, outcome },
            ClientEvent::SubscriptionEnded { topic, code } => Ev::SubscriptionEnded {
                topic: s(topic),
                code,
            },
            other => Ev::Other(std::format!("{other:?}")),
        }
    }
}

/// `msg` with its payload copied and leaked, so that it outlives the session
/// without needing `alloc` in the crate.
fn owned(msg: ClientMsg<'_>) -> ClientMsg<'static> {
    let keep = |p: Payload<'_>| Payload::new(Box::leak(p.as_bytes().into()));
    match msg {
        ClientMsg::Hello(h) => ClientMsg::Hello(h),
        ClientMsg::Ping(p) => ClientMsg::Ping(p),
        ClientMsg::Subscribe(s) => ClientMsg::Subscribe(s),
        ClientMsg::Unsubscribe(u) => ClientMsg::Unsubscribe(u),
        ClientMsg::Publish(p) => ClientMsg::Publish(Publish {
            topic: p.topic,
            data: keep(p.data),
            at: p.at,
            request: p.request,
        }),
        ClientMsg::Input(i) => ClientMsg::Input(Input {
            room: i.room,
            request: i.request,
            round: i.round,
            data: keep(i.data),
        }),
    }
}
