//! What the `hub_ops` and `hub_shards` models know of one session's requests
//! (inputs and publishes with a request id): how often each id was sent and
//! answered, which answers may have been lost, and which sends one answer may
//! serve; and the check that each send got its answer.

use std::collections::BTreeMap;

use onbeat_core::proto::{RequestId, SessionId};
use onbeat_core::time::Instant;

/// Which resends of a request id the hub may answer together with an
/// earlier send (`docs/dispatch.md`, "Requests: exactly one outcome").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fold {
    /// Only a publish resent while an earlier timed send of the id is held:
    /// the release answers both. What one hub promises.
    WhileHeld,
    /// Also any send while an earlier one is unanswered: across shards the
    /// answer of a forwarded request comes back later, and the request
    /// memory may answer both sends with it.
    WhileUnanswered,
}

/// Answers owed for one request id of one session.
#[derive(Debug, Default)]
pub(super) struct Owed {
    pub(super) sent: u32,
    pub(super) answered: u32,
    /// Answers that may have been lost (closed connection, resume).
    pub(super) excused: u32,
    /// Sends an earlier send's answer may serve (see [`Fold`]).
    pub(super) folded: u32,
}

impl Owed {
    fn unanswered(&self) -> bool {
        self.answered + self.excused < self.sent
    }

    fn send(&mut self, folded: bool) {
        self.folded += u32::from(folded);
        self.sent += 1;
    }

    /// Counts one answer to a `kind` request: never more than it was sent.
    fn answer(&mut self, kind: &str, request: RequestId, id: &SessionId) {
        self.answered += 1;
        assert!(
            self.answered <= self.sent,
            "{kind} {request} of {id} sent {} times, answered {} times",
            self.sent,
            self.answered
        );
    }

    /// Every send has its answer, but for the excused and the folded.
    fn check(&self, kind: &str, request: RequestId, id: &SessionId) {
        assert!(
            self.answered + self.excused + self.folded >= self.sent,
            "{kind} {request} of {id} sent {} times ({} folded), answered {} times",
            self.sent,
            self.folded,
            self.answered
        );
    }
}

/// Answers owed for one publish request id of one session.
#[derive(Debug, Default)]
pub(super) struct PublishOwed {
    pub(super) owed: Owed,
    /// The latest `at` of a timed send: until then an answer may be held.
    pub(super) held_until: Option<Instant>,
}

/// One session's requests, by id. Publishes use ids apart from those of
/// inputs, so that an `error` names one or the other.
#[derive(Debug, Default)]
pub(super) struct Requests {
    pub(super) inputs: BTreeMap<RequestId, Owed>,
    pub(super) publishes: BTreeMap<RequestId, PublishOwed>,
}

impl Requests {
    /// An `input` with id `request` is about to be handled.
    pub(super) fn input_sent(&mut self, request: RequestId, fold: Fold) {
        let owed = self.inputs.entry(request).or_default();
        owed.send(fold == Fold::WhileUnanswered && owed.unanswered());
    }

    /// A `publish` with id `request`, timed `at`, is about to be handled.
    pub(super) fn publish_sent(
        &mut self,
        request: RequestId,
        at: Option<Instant>,
        now: Instant,
        fold: Fold,
    ) {
        let p = self.publishes.entry(request).or_default();
        let held = p.held_until.is_some_and(|until| now < until);
        p.owed
            .send(held || (fold == Fold::WhileUnanswered && p.owed.unanswered()));
        if let Some(at) = at.filter(|at| *at > now) {
            p.held_until = p.held_until.max(Some(at));
        }
    }

    /// An `input_result` for `request`.
    pub(super) fn input_answered(&mut self, request: RequestId, id: &SessionId) {
        self.inputs
            .get_mut(&request)
            .unwrap_or_else(|| panic!("answer to input {request}, never sent by {id}"))
            .answer("input", request, id);
    }

    /// A `publish_ack` for `request`.
    pub(super) fn publish_answered(&mut self, request: RequestId, id: &SessionId) {
        self.publishes
            .get_mut(&request)
            .unwrap_or_else(|| panic!("answer to publish {request}, never sent by {id}"))
            .owed
            .answer("publish", request, id);
    }

    /// An `error` naming `request`: it answers the publish or the input of
    /// that id, if any was sent.
    pub(super) fn error_answered(&mut self, request: RequestId, id: &SessionId) {
        if self.publishes.contains_key(&request) {
            self.publish_answered(request, id);
        } else if self.inputs.contains_key(&request) {
            self.input_answered(request, id);
        }
    }

    /// Answers outstanding now may never come.
    pub(super) fn excuse(&mut self) {
        let publishes = self.publishes.values_mut().map(|p| &mut p.owed);
        for owed in self.inputs.values_mut().chain(publishes) {
            owed.excused = owed.sent - owed.answered;
        }
    }

    /// With everything for session `id` read at `now`, every request has
    /// been answered, but for the excused, the folded, and publishes whose
    /// answer may still be held.
    pub(super) fn check_answered(&self, id: &SessionId, now: Instant) {
        for (request, owed) in &self.inputs {
            owed.check("input", *request, id);
        }
        for (request, p) in &self.publishes {
            if p.held_until.is_some_and(|until| now < until) {
                continue;
            }
            p.owed.check("publish", *request, id);
        }
    }
}
