// What the client does with each server message; `this` is the Client.

import { OnbeatError } from './errors.js';

/** Error codes after which reconnecting cannot help. */
const FATAL = new Set(['unauthorized', 'unsupported_version']);
/** Error codes that refuse a subscribe. */
const REFUSALS = new Set(['forbidden', 'unknown_topic']);

export const handlers = {
  welcome(m) {
    if (this.state !== 'handshake') return;
    const resumed = this.session !== null && this.session.id === m.session;
    this.session = { id: m.session, resume: m.resume };
    this.maxFrame = m.maxFrame;
    this.state = 'open';
    this.since = this.localNow();
    this.stats.sessions++;
    if (resumed) this.stats.resumes++;
    if (!resumed) {
      for (const [topic, sub] of this.subs) if (sub.stream.state === 'leaving') this.subs.delete(topic);
      this.inboxNext = 0;
      this.rooms.reset();
    }
    for (const [id, p] of this.pending) {
      if (p.stage !== 'in_doubt') continue;
      if (resumed) p.stage = 'queued';
      else this.settle(id, false, 'lost', 'the session ended before an answer came');
    }
    this.emit('open', { session: m.session, resumed, clock: m.clock });
    this.flush();
    this.clock.handleTimeout(this.localNow());
    this.drainClock();
    this.arm();
  },

  pong(m) {
    try {
      this.lastRtt = this.clock.handlePong(m, this.localNow());
    } catch (e) {
      this.emit('protocol_error', { code: e.code, message: e.message });
    }
    this.drainClock();
    this.emit('sync', { offset: this.offset, errorBound: this.errorBound, rtt: this.lastRtt });
    this.arm();
  },

  subscribed(m) {
    const i = this.asked.indexOf(m.topic);
    if (i >= 0) this.asked.splice(i, 1);
    const sub = this.subs.get(m.topic);
    if (!sub) return;
    const answer = sub.stream.subscribed(m.position, m.recovered, m.reason);
    if (answer === null) return;
    if (answer.kind === 'invalid') {
      this.emit('protocol_error', { code: 'invalid_recovery', message: `impossible recovery of ${m.topic}` });
      sub.stream.state = 'unsent';
      this.flush();
      return;
    }
    const detail = {
      topic: m.topic,
      position: m.position,
      recovered: answer.kind === 'recovered',
      reason: answer.reason,
      fresh: answer.kind === 'fresh',
    };
    sub.settle.resolve(detail);
    this.emit('subscribed', detail);
  },

  deliver(m) {
    if (m.topic === this.options.inbox && !this.subs.has(m.topic)) {
      if (m.offset < this.inboxNext) {
        this.stats.duplicates++;
        return;
      }
      if (m.offset > this.inboxNext) {
        this.emit('gap', { topic: m.topic, epoch: m.epoch, from: this.inboxNext, to: m.offset });
      }
      this.inboxNext = m.offset + 1;
      this.emit('message', m);
      return;
    }
    const sub = this.subs.get(m.topic);
    if (!sub) return;
    const v = sub.stream.deliver(m.epoch, m.offset);
    if (v.verdict === 'duplicate') {
      this.stats.duplicates++;
    } else if (v.verdict === 'resync') {
      this.emit('protocol_error', { code: v.error, message: `${m.topic}: stream broken, resubscribing` });
      this.flush();
    } else if (v.verdict === 'deliver') {
      if (v.skippedFrom !== null) this.emit('gap', { topic: m.topic, epoch: m.epoch, from: v.skippedFrom, to: m.offset });
      if (sub.onMessage) sub.onMessage(m);
      this.emit('message', m);
    }
  },

  gap(m) {
    const sub = this.subs.get(m.topic);
    if (!sub) return;
    const r = sub.stream.gap(m.epoch, m.from, m.to);
    if (r === null) return;
    if (r.verdict === 'resync') {
      this.emit('protocol_error', { code: r.error, message: `${m.topic}: gap out of order, resubscribing` });
      this.flush();
    } else if (r.verdict === 'lost') {
      this.emit('gap', { topic: m.topic, epoch: m.epoch, from: r.from, to: r.to });
    } else {
      this.emit('protocol_error', { code: 'invalid_gap', message: `${m.topic}: empty gap` });
    }
  },

  publish_ack(m) {
    const p = this.pending.get(m.request);
    if (p?.msg.type === 'publish') this.settle(m.request, true, m.position);
  },

  input_result(m) {
    const p = this.pending.get(m.request);
    if (p?.msg.type !== 'input') return;
    if (m.accepted) this.settle(m.request, true, 'accepted');
    else this.settle(m.request, false, m.code, `input rejected: ${m.code}`);
  },

  phase(m) {
    this.rooms.phase(m.room, m.phase);
    this.emit('phase', { room: m.room, phase: m.phase });
  },

  presence(m) {
    const members = this.rooms.presence(m.room, m.event);
    if (members !== null) this.emit('presence', { room: m.room, members, event: m.event });
  },

  error(m) {
    if (m.request !== null && this.settle(m.request, false, m.code, m.message)) return;
    // A refused subscribe names its topic; without the name, it answers the
    // oldest subscribe still unanswered.
    let topic = m.topic;
    if (topic === null && m.request === null && REFUSALS.has(m.code)) topic = this.asked[0] ?? null;
    const i = topic === null ? -1 : this.asked.indexOf(topic);
    if (i >= 0) {
      this.asked.splice(i, 1);
      const sub = this.subs.get(topic);
      this.subs.delete(topic);
      sub?.settle.reject(new OnbeatError(m.code, m.message));
      m = { ...m, topic };
    }
    if (FATAL.has(m.code)) this.fatal = m.code;
    this.emit('error', { code: m.code, message: m.message, request: m.request, topic: m.topic });
  },
};
