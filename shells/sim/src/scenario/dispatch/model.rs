//! What one client should have seen, checked against what its app hears.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use onbeat_core::Instant;
use onbeat_core::dispatch::{ClientEvent, InputStatus, PublishStatus};
use onbeat_core::proto::{MemberId, NotRecovered, Position, PresenceEvent, RequestId};

use super::checks::{Check, Violations};
use super::logic::{Ledger, payload_id};
use super::report::Counters;
use super::witness::{Witness, topic_index};

/// What the checker needs besides the client's own model.
pub struct Cx<'a> {
    pub seed: u64,
    pub client: usize,
    /// True time, for the report.
    pub now: Instant,
    pub witness: &'a Witness,
    pub ledger: &'a Ledger,
    pub v: &'a mut Violations,
    pub n: &'a mut Counters,
}

impl Cx<'_> {
    fn fail(&mut self, check: Check, what: impl FnOnce() -> String) {
        self.v
            .add(check, self.seed, Some(self.client), self.now, what);
    }
}

/// One client's expected state.
#[derive(Debug, Default)]
pub struct Model {
    /// Per topic, the next position the app should hear.
    cursors: [Option<Position>; 4],
    /// Per topic, the `recovered` flag each `subscribe` the hub took must
    /// be answered with, oldest first.
    pub expect: [VecDeque<bool>; 4],
    /// The hub session the expectations belong to.
    pub hub_session: Option<String>,
    /// Requests made and not yet answered: id → (input, sequence).
    pub outstanding: BTreeMap<RequestId, (bool, u32)>,
    /// The room's members as the app knows them.
    pub presence: BTreeSet<MemberId>,
    /// Members of a snapshot that spans several frames.
    snapshot: Vec<MemberId>,
    /// The next inbox offset expected in this session.
    inbox_next: u64,
}

impl Model {
    /// The hub took a `subscribe` for topic `t` of this client's session
    /// `session`; it must answer `recovered: expect`.
    pub fn expect(&mut self, session: &str, t: usize, expect: bool) {
        if self.hub_session.as_deref() != Some(session) {
            // A new session: the old one's answers are gone with its queue.
            self.expect = Default::default();
            self.hub_session = Some(session.to_string());
        }
        self.expect[t].push_back(expect);
    }

    /// The hub sent this client a `subscribed` for topic `t`.
    pub fn answered(
        &mut self,
        t: usize,
        recovered: bool,
        reason: Option<NotRecovered>,
        cx: &mut Cx,
    ) {
        // A subscription catching up from history (after a `since`, a
        // resume or a slow-consumer close) that the history overtakes is
        // told so unasked; it claims nothing, so it can never lie.
        let unasked = !recovered && reason == Some(NotRecovered::TooOld);
        match self.expect[t].front().copied() {
            None if unasked => {}
            None => cx.fail(Check::Recovery, || {
                format!("topic {t}: subscribed (recovered {recovered}, {reason:?}) answers nothing")
            }),
            // Said unasked before the answer; a true answer wrongly refused
            // would be left over in `expect`, which the end checks.
            Some(true) if unasked => {}
            Some(expected) => {
                self.expect[t].pop_front();
                if recovered != expected {
                    cx.fail(Check::Recovery, || {
                        format!("topic {t}: recovered {recovered} ({reason:?}), the history says {expected}")
                    });
                }
            }
        }
    }

    /// The app heard `e`.
    pub fn event(&mut self, e: &ClientEvent<'_>, cx: &mut Cx) {
        match *e {
            ClientEvent::SessionOpened { resumed, .. } => {
                cx.n.sessions += 1;
                cx.n.resumes += u64::from(resumed);
                if !resumed {
                    self.inbox_next = 0;
                }
            }
            ClientEvent::Subscribed { topic, position } => {
                if let Some(t) = topic_index(topic) {
                    self.cursors[t] = Some(position);
                }
            }
            ClientEvent::Recovered { topic, .. } => {
                cx.n.recovered += 1;
                if let Some(t) = topic_index(topic).filter(|&t| self.cursors[t].is_none()) {
                    cx.fail(Check::Order, || {
                        format!("topic {t} recovered with no cursor")
                    });
                }
            }
            ClientEvent::NotRecovered {
                topic, position, ..
            } => {
                cx.n.not_recovered += 1;
                if let Some(t) = topic_index(topic) {
                    let c = &mut self.cursors[t];
                    let keep =
                        c.filter(|c| c.epoch == position.epoch && c.offset > position.offset);
                    *c = Some(keep.unwrap_or(position));
                }
            }
            ClientEvent::Delivered {
                topic,
                position,
                data,
                ..
            } => match topic_index(topic) {
                Some(t) => self.delivered(t, position, payload_id(data), cx),
                None => self.inbox(position.offset, cx),
            },
            ClientEvent::Gap {
                topic, from, to, ..
            } => {
                cx.n.gaps += 1;
                match topic_index(topic) {
                    Some(t) => self.gap(t, from, to, cx),
                    None => self.inbox_next = self.inbox_next.max(to),
                }
            }
            ClientEvent::Input { request, outcome } => self.outcome(request, true, cx, || {
                matches!(
                    outcome,
                    InputStatus::Accepted
                        | InputStatus::Rejected(onbeat_core::proto::RejectCode::Invalid)
                )
            }),
            ClientEvent::Published { request, outcome } => {
                self.outcome(request, false, cx, || false);
                cx.n.lost += u64::from(outcome == PublishStatus::Lost);
            }
            ClientEvent::Presence(p) => self.presence(&p.event),
            _ => {}
        }
        if let ClientEvent::Input {
            outcome: InputStatus::Lost,
            ..
        } = e
        {
            cx.n.lost += 1;
        }
    }

    fn delivered(&mut self, t: usize, at: Position, id: Option<u64>, cx: &mut Cx) {
        cx.n.deliveries += 1;
        let Some(cursor) = self.cursors[t] else {
            return cx.fail(Check::Order, || {
                format!("topic {t}: offset {} before any start", at.offset)
            });
        };
        if at.epoch != cursor.epoch || at.offset != cursor.offset {
            let what = if at.offset < cursor.offset {
                "duplicate"
            } else {
                "unsignalled gap"
            };
            cx.fail(Check::Order, || {
                format!(
                    "topic {t}: {what}: offset {} where {} was due",
                    at.offset, cursor.offset
                )
            });
        }
        if at.offset >= cursor.offset {
            self.cursors[t] = Some(Position {
                epoch: at.epoch,
                offset: at.offset + 1,
            });
        }
        let truth = cx.witness.at(t, at.offset);
        if truth != id {
            cx.fail(Check::Content, || {
                format!(
                    "topic {t} offset {}: payload {id:?}, the hub appended {truth:?}",
                    at.offset
                )
            });
        }
    }

    fn gap(&mut self, t: usize, from: u64, to: u64, cx: &mut Cx) {
        let cursor = self.cursors[t];
        if !Witness::lossy(t) || cursor.is_none_or(|c| c.offset != from) {
            return cx.fail(Check::Order, || {
                format!("topic {t}: gap [{from}, {to}) at cursor {cursor:?}")
            });
        }
        self.cursors[t] = cursor.map(|c| Position { offset: to, ..c });
    }

    fn inbox(&mut self, offset: u64, cx: &mut Cx) {
        cx.n.deliveries += 1;
        if offset != self.inbox_next {
            let due = self.inbox_next;
            cx.fail(Check::Order, || {
                format!("inbox offset {offset} where {due} was due")
            });
        }
        self.inbox_next = offset + 1;
    }

    /// One outcome for a request; `judged` says whether the hub's logic must
    /// have judged it (an accepted or invalid input).
    fn outcome(&mut self, id: RequestId, input: bool, cx: &mut Cx, judged: impl FnOnce() -> bool) {
        let Some((was_input, seq)) = self.outstanding.remove(&id) else {
            return cx.fail(Check::Requests, || {
                format!("a second outcome for request {id}")
            });
        };
        if was_input != input {
            return cx.fail(Check::Requests, || {
                format!("request {id} answered as the wrong kind")
            });
        }
        let client = cx.client as u16;
        if judged() && !cx.ledger.judged.contains_key(&(client, seq)) {
            cx.fail(Check::Requests, || {
                format!("input {seq} answered but never judged")
            });
        }
    }

    fn presence(&mut self, event: &PresenceEvent) {
        match event {
            PresenceEvent::Join(m) => {
                self.presence.insert(m.clone());
            }
            PresenceEvent::Leave(m) => {
                self.presence.remove(m);
            }
            PresenceEvent::Snapshot { members, more } => {
                self.snapshot.extend(members.iter().cloned());
                if !more {
                    self.presence = self.snapshot.drain(..).collect();
                }
            }
            _ => {}
        }
    }

    /// Whether the app's copy of topic `t` ends at `head`.
    pub fn cursor(&self, t: usize) -> Option<Position> {
        self.cursors[t]
    }
}
