//! Messages from the server, judged and turned into events.

use super::ClientSession;
use super::error::{ClientError, StreamError};
use super::event::{InputStatus, PublishStatus};
use super::note::Note;
use super::session::Link;
use super::stream::{Answer, Verdict};
use crate::proto::{Deliver, ErrorMsg, Gap, InputOutcome, Position, ServerMsg, Subscribed};
use crate::time::Instant;

impl<const SUBS: usize, const PENDING: usize, const PAYLOAD: usize>
    ClientSession<SUBS, PENDING, PAYLOAD>
{
    /// Takes one message from the server, received at `now`.
    ///
    /// A refused message changes nothing, except that a broken stream
    /// ([`StreamError::Skipped`], [`StreamError::EpochChanged`]) also
    /// resubscribes its topic from the last position. Drain
    /// [`poll_output`](Self::poll_output) afterwards either way.
    pub fn handle_message(&mut self, msg: &ServerMsg<'_>, now: Instant) -> Result<(), ClientError> {
        let now = self.advance(now);
        if !self.notes.is_empty() {
            return Err(ClientError::Undrained);
        }
        match (self.link, msg) {
            (Link::Connecting { .. } | Link::Waiting { .. }, _) => {
                return Err(ClientError::NotConnected);
            }
            (Link::Handshake { .. }, ServerMsg::Welcome(w)) => return self.welcome(w, now),
            (Link::Handshake { .. }, ServerMsg::Error(_)) | (Link::Open { .. }, _) => {}
            (Link::Handshake { .. }, _) => return Err(ClientError::UnexpectedMessage),
        }
        match msg {
            ServerMsg::Welcome(_) => Err(ClientError::UnexpectedMessage),
            ServerMsg::Pong(pong) => {
                self.note(Note::Pong(*pong));
                Ok(())
            }
            ServerMsg::Subscribed(s) => self.subscribed(s),
            ServerMsg::Deliver(d) => self.deliver(d),
            ServerMsg::Gap(g) => self.gap(g),
            ServerMsg::PublishAck(ack) => {
                if !self.pending.answer(ack.request, false) {
                    return Err(ClientError::UnknownRequest {
                        request: ack.request,
                    });
                }
                self.note(Note::Published {
                    request: ack.request,
                    outcome: PublishStatus::Acked(ack.position),
                });
                Ok(())
            }
            ServerMsg::InputResult(result) => {
                if !self.pending.answer(result.request, true) {
                    return Err(ClientError::UnknownRequest {
                        request: result.request,
                    });
                }
                let outcome = match result.outcome {
                    InputOutcome::Accepted => InputStatus::Accepted,
                    InputOutcome::Rejected(code) => InputStatus::Rejected(code),
                };
                self.note(Note::Input {
                    request: result.request,
                    outcome,
                });
                Ok(())
            }
            ServerMsg::Phase(phase) => {
                self.note(Note::Phase(phase.clone()));
                Ok(())
            }
            ServerMsg::Presence(presence) => {
                self.presence = Some(presence.clone());
                self.note(Note::Presence);
                Ok(())
            }
            ServerMsg::Error(e) => self.error(e),
        }
    }

    fn subscribed(&mut self, s: &Subscribed) -> Result<(), ClientError> {
        let i = self
            .subs
            .find(&s.topic)
            .ok_or(ClientError::UnexpectedMessage)?;
        let answer = self
            .subs
            .stream(i)
            .subscribed(s.position, s.recovered, s.reason)?;
        let Some(answer) = answer else {
            self.stats.ignored += 1;
            return Ok(());
        };
        let topic = s.topic.clone();
        self.note(match answer {
            Answer::Fresh(position) => Note::Subscribed { topic, position },
            Answer::Recovered(position) => Note::Recovered { topic, position },
            Answer::Lost(position, reason) => Note::NotRecovered {
                topic,
                position,
                reason,
            },
        });
        Ok(())
    }

    fn deliver(&mut self, d: &Deliver<'_>) -> Result<(), ClientError> {
        let verdict = if d.topic == self.config.inbox {
            self.inbox.deliver(d.epoch, d.offset)
        } else {
            let i = self.subs.find(&d.topic).ok_or(StreamError::NotSubscribed)?;
            let verdict = self.subs.stream(i).deliver(d.epoch, d.offset);
            verdict.map_err(|e| self.broken(e))?
        };
        let skipped_from = match verdict {
            Verdict::Deliver { skipped_from } => skipped_from,
            Verdict::Duplicate => {
                self.stats.duplicates += 1;
                return Ok(());
            }
            Verdict::Ignored => {
                self.stats.ignored += 1;
                return Ok(());
            }
        };
        let topic = d.topic.clone();
        if let Some(from) = skipped_from {
            self.note(Note::Gap {
                topic: topic.clone(),
                epoch: d.epoch,
                from,
                to: d.offset,
            });
        }
        let position = Position {
            epoch: d.epoch,
            offset: d.offset,
        };
        let data = d.data.as_bytes();
        self.delivery.clear();
        let note = match self.delivery.extend_from_slice(data) {
            Ok(()) => Note::Delivered {
                topic,
                position,
                at: d.at,
            },
            Err(_) => Note::TooLarge {
                topic,
                position,
                len: data.len(),
            },
        };
        self.note(note);
        Ok(())
    }

    fn gap(&mut self, g: &Gap) -> Result<(), ClientError> {
        let i = self.subs.find(&g.topic).ok_or(StreamError::NotSubscribed)?;
        let lost = self.subs.stream(i).gap(g.epoch, g.from, g.to);
        if let Some((from, to)) = lost.map_err(|e| self.broken(e))? {
            self.note(Note::Gap {
                topic: self.subs.topic(i).clone(),
                epoch: g.epoch,
                from,
                to,
            });
        }
        Ok(())
    }

    fn error(&mut self, e: &ErrorMsg) -> Result<(), ClientError> {
        if let Some(topic) = e.topic.as_ref().filter(|t| self.subs.ended(t)) {
            self.note(Note::SubscriptionEnded {
                topic: topic.clone(),
                code: e.code,
            });
            return Ok(());
        }
        let Some(request) = e.request else {
            self.note(Note::ServerError {
                code: e.code,
                message: e.message.clone(),
            });
            return Ok(());
        };
        let input = self
            .pending
            .refuse(request)
            .ok_or(ClientError::UnknownRequest { request })?;
        self.note(if input {
            Note::Input {
                request,
                outcome: InputStatus::Failed(e.code),
            }
        } else {
            Note::Published {
                request,
                outcome: PublishStatus::Failed(e.code),
            }
        });
        Ok(())
    }

    /// The error for a broken stream, counting the resync it started.
    fn broken(&mut self, e: StreamError) -> ClientError {
        if matches!(
            e,
            StreamError::Skipped { .. } | StreamError::EpochChanged { .. }
        ) {
            self.stats.resyncs += 1;
        }
        ClientError::Stream(e)
    }
}
