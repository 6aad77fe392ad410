// onbeat browser SDK: one session with an onbeat server over WebSocket
// (JSON subprotocol), kept across reconnects, with the server's clock.
// No dependencies; types and documentation in onbeat.d.ts.

import { ClockSync } from './clock-sync.js';
import { Rooms } from './rooms.js';
import { Backoff, Stream } from './streams.js';
import { DEFAULT_MAX_FRAME, ProtocolError, SUBPROTOCOL, decodeServer, encodeClient, encodePayload } from './wire.js';

export { ClockSync, ClockError, DEFAULT_CLOCK_CONFIG } from './clock-sync.js';
export { Backoff, Rng, Stream, backoffWindow } from './streams.js';
export { ProtocolError, SUBPROTOCOL, decodePayload, decodeServer, encodeClient, encodePayload } from './wire.js';

/** Error codes after which reconnecting cannot help. */
const FATAL = new Set(['unauthorized', 'unsupported_version']);
/** WebSocket close code for a policy violation (bad token, origin). */
const CLOSE_POLICY = 1008;
/** Wall and monotonic clocks disagreeing by this much (µs) means the device slept. */
const SLEEP_US = 1_000_000;
/** Requests awaiting an answer, at most. */
const MAX_PENDING = 256;

const DEFAULTS = {
  backoffBase: 500_000,
  backoffCap: 30_000_000,
  stableAfter: 5_000_000,
  connectTimeout: 10_000_000,
  inbox: '@inbox',
};

/** A refusal: `code` is the protocol's reject or error code, or `lost`/`closed`. */
export class OnbeatError extends Error {
  constructor(code, message) {
    super(message ?? code);
    this.name = 'OnbeatError';
    this.code = code;
  }
}

function defaultNow() {
  return Math.floor(performance.now() * 1000);
}

function randomSeed() {
  const a = new Uint32Array(1);
  globalThis.crypto.getRandomValues(a);
  return a[0];
}

/** Opens a client; it connects at once and reconnects until `close()`. */
export function connect(url, options = {}) {
  const client = new Client(url, options);
  client.start();
  return client;
}

export class Client {
  constructor(url, options = {}) {
    this.options = { ...DEFAULTS, ...options };
    const u = new URL(url, globalThis.location?.href);
    if (options.token) u.searchParams.set('token', options.token);
    this.url = u.toString();
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.localNow = options.now ?? defaultNow;
    // Wall clock to notice sleeps with; only meaningful beside the real monotonic clock.
    this.wallNow = options.wallNow ?? (options.now ? null : () => Date.now() * 1000);
    this.wallMark = null;
    this.setTimer = options.setTimeout ?? ((f, ms) => setTimeout(f, ms));
    this.clearTimer = options.clearTimeout ?? ((h) => clearTimeout(h));
    this.backoff = new Backoff(options.seed ?? randomSeed());
    this.clock = new ClockSync(options.clock ?? {}, this.localNow());
    this.rooms = new Rooms();
    this.listeners = new Map();
    /** 'connecting' | 'handshake' | 'open' | 'waiting' | 'closed' */
    this.state = 'connecting';
    this.since = this.localNow();
    this.reconnectAt = null;
    this.session = null;
    this.maxFrame = DEFAULT_MAX_FRAME;
    this.ws = null;
    this.fatal = null;
    this.subs = new Map();
    this.pending = new Map();
    this.nextRequest = 0;
    this.inboxNext = 0;
    this.lastRtt = null;
    this.timer = null;
    this.stats = { received: 0, sent: 0, duplicates: 0, sessions: 0, resumes: 0, protocolErrors: 0 };
  }

  // ---- events ----

  /** Adds a listener; returns a function that removes it. */
  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.off(type, fn);
  }

  off(type, fn) {
    this.listeners.get(type)?.delete(fn);
  }

  emit(type, detail) {
    for (const fn of [...(this.listeners.get(type) ?? [])]) {
      try {
        fn(detail);
      } catch (e) {
        // A listener's fault must not break the session's bookkeeping.
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  // ---- clock ----

  /** The server's time now (µs), or null before the first clock sample. */
  now() {
    return this.clock.estimate(this.localNow())?.serverTime ?? null;
  }

  /** Server time minus local time (µs), or null before the first sample. */
  get offset() {
    const local = this.localNow();
    const e = this.clock.estimate(local);
    return e ? e.serverTime - local : null;
  }

  /** The true server time is within now() ± errorBound µs (Infinity right after a sleep). */
  get errorBound() {
    return this.clock.estimate(this.localNow())?.errorBound ?? null;
  }

  /** Round trip of the latest clock sample, µs. */
  get rtt() {
    return this.lastRtt;
  }

  /** Whether the server's clock is known. */
  get synced() {
    return this.clock.estimate(this.localNow()) !== null;
  }

  /**
   * Runs `callback(lateUs)` once the synced clock reads `serverTime` (never
   * earlier: a new estimate re-checks). Returns a function that cancels it.
   */
  at(serverTime, callback) {
    let handle = null;
    let cancelled = false;
    const check = () => {
      if (cancelled) return;
      const now = this.now();
      if (now !== null && now >= serverTime) {
        callback(now - serverTime);
        return;
      }
      const local = now === null ? null : this.clock.localTimeOf(serverTime);
      // Before the first sample, look again shortly.
      const waitUs = local === null ? 50_000 : Math.max(local - this.localNow(), 0);
      handle = this.setTimer(check, Math.ceil(waitUs / 1000));
    };
    check();
    return () => {
      cancelled = true;
      if (handle !== null) this.clearTimer(handle);
    };
  }

  // ---- application requests ----

  /** Follows `topic`; with `since`, from that position (recovery). */
  subscribe(topic, opts = {}) {
    const existing = this.subs.get(topic);
    if (existing && existing.stream.state !== 'leaving') throw new OnbeatError('already_subscribed', topic);
    const stream = existing?.stream ?? new Stream(!!opts.lossy);
    stream.lossy = !!opts.lossy;
    stream.state = 'unsent';
    if (opts.since) stream.cursor = { epoch: opts.since.epoch, offset: opts.since.offset };
    let settle;
    const ready = new Promise((resolve, reject) => {
      settle = { resolve, reject };
    });
    ready.catch(() => {});
    const sub = {
      topic,
      stream,
      settle,
      ready,
      onMessage: opts.onMessage ?? null,
      get position() {
        return stream.cursor;
      },
      unsubscribe: () => this.unsubscribe(topic),
    };
    this.subs.set(topic, sub);
    this.flush();
    return sub;
  }

  /** Stops following `topic`. */
  unsubscribe(topic) {
    const sub = this.subs.get(topic);
    if (!sub || sub.stream.state === 'leaving') return false;
    sub.stream.state = 'leaving';
    this.flush();
    return true;
  }

  /** Publishes `data` (JSON value or Uint8Array); resolves with the position it landed at. */
  publish(topic, data, opts = {}) {
    return this.request({ type: 'publish', topic, data: encodePayload(data), at: opts.at ?? null });
  }

  /** Sends an input to `room`; resolves 'accepted', rejects with an OnbeatError carrying the reject code. */
  input(room, data, opts = {}) {
    return this.request({ type: 'input', room, data: encodePayload(data), round: opts.round ?? null });
  }

  request(msg) {
    if (this.state === 'closed') return Promise.reject(new OnbeatError('closed', 'client closed'));
    if (this.pending.size >= MAX_PENDING) return Promise.reject(new OnbeatError('too_many_pending'));
    let id = this.nextRequest;
    while (this.pending.has(id)) id = (id + 1) >>> 0;
    this.nextRequest = (id + 1) >>> 0;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { msg: { ...msg, request: id }, stage: 'queued', resolve, reject });
      this.flush();
    });
  }

  /** Presence list of `room` (users), as last told. */
  members(room) {
    return this.rooms.members(room);
  }

  /** The phase of `room` in progress now (or the latest/next announced). */
  phase(room) {
    return this.rooms.phaseAt(room, this.now());
  }

  /** Stops for good: closes the socket, rejects what is pending with `closed`. */
  close() {
    this.shutdown('closed', 'client closed');
  }

  // ---- connection ----

  start() {
    this.open();
  }

  open() {
    this.state = 'connecting';
    this.since = this.localNow();
    this.reconnectAt = null;
    let ws;
    try {
      ws = new this.WebSocket(this.url, SUBPROTOCOL);
    } catch (e) {
      this.emit('error', { code: 'connect_failed', message: String(e), request: null, topic: null });
      this.disconnected(null, 0, 'connect failed');
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.state = 'handshake';
      this.send({ type: 'hello', resume: this.session?.resume ?? null, auth: null });
    };
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.frame(ev.data);
    };
    ws.onclose = (ev) => this.disconnected(ws, ev.code, ev.reason);
    ws.onerror = () => {};
    this.arm();
  }

  send(msg) {
    this.ws.send(encodeClient(msg));
    this.stats.sent++;
  }

  disconnected(ws, code, reason) {
    if (ws !== this.ws || this.state === 'closed') return;
    this.ws = null;
    if (code === CLOSE_POLICY && this.fatal === null) this.fatal = 'unauthorized';
    if (this.fatal !== null) {
      this.shutdown(this.fatal, reason || this.fatal);
      return;
    }
    const now = this.localNow();
    if (this.state === 'open' && now - this.since >= this.options.stableAfter) this.backoff.reset();
    const delay = this.backoff.nextDelay(this.options.backoffBase, this.options.backoffCap);
    this.state = 'waiting';
    this.reconnectAt = now + delay;
    for (const sub of this.subs.values()) {
      if (sub.stream.state === 'awaiting' || sub.stream.state === 'active') sub.stream.state = 'unsent';
    }
    for (const p of this.pending.values()) if (p.stage === 'sent') p.stage = 'in_doubt';
    this.emit('close', { code, reason, reconnectIn: delay });
    this.arm();
  }

  shutdown(code, message) {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000);
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new OnbeatError(code, message));
    }
    for (const sub of this.subs.values()) sub.settle.reject(new OnbeatError(code, message));
    this.emit('close', { code: null, reason: message, reconnectIn: null, fatal: code });
  }

  /** Runs what is due (reconnect, handshake timeout, pings) and re-arms the timer. */
  tick() {
    this.timer = null;
    if (this.state === 'closed') return;
    const now = this.localNow();
    if (this.state === 'waiting' && now >= this.reconnectAt) {
      this.open();
      return;
    }
    const handshaking = this.state === 'connecting' || this.state === 'handshake';
    if (handshaking && now >= this.since + this.options.connectTimeout) {
      const ws = this.ws;
      ws.close(4000, 'handshake timeout');
      this.disconnected(ws, 4000, 'handshake timeout');
      return;
    }
    this.noticeSleep(now);
    if (this.state === 'open') {
      this.clock.handleTimeout(now);
      this.drainClock();
    }
    this.arm();
  }

  /**
   * A monotonic clock may stand still while the device sleeps; the wall
   * clock does not. When they disagree the clock samples no longer compare.
   */
  noticeSleep(now) {
    if (this.wallNow === null) return;
    const wall = this.wallNow();
    const mark = this.wallMark;
    this.wallMark = [wall, now];
    if (mark === null) return;
    const drift = wall - mark[0] - (now - mark[1]);
    if (Math.abs(drift) > SLEEP_US) {
      this.clock.handleDiscontinuity(now);
      this.emit('clock', { type: 'discontinuity', byUs: drift });
    }
  }

  arm() {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    let due = null;
    if (this.state === 'waiting') due = this.reconnectAt;
    else if (this.state === 'connecting' || this.state === 'handshake') due = this.since + this.options.connectTimeout;
    else if (this.state === 'open') due = this.clock.pollTimeout();
    if (due === null) return;
    const ms = Math.max(Math.ceil((due - this.localNow()) / 1000), 0);
    this.timer = this.setTimer(() => this.tick(), ms);
  }

  drainClock() {
    for (let ev = this.clock.pollOutput(); ev !== null; ev = this.clock.pollOutput()) {
      if (ev.type === 'ping') {
        if (this.state === 'open') this.send({ type: 'ping', seq: ev.seq, t1: ev.t1 });
      } else {
        this.emit('clock', ev);
      }
    }
  }

  /** Sends what is due once a session is open: subscribes, unsubscribes, requests. */
  flush() {
    if (this.state !== 'open') return;
    for (const [topic, sub] of this.subs) {
      if (sub.stream.state === 'unsent') this.send({ type: 'subscribe', topic, since: sub.stream.sent() });
    }
    for (const [topic, sub] of this.subs) {
      if (sub.stream.state === 'leaving') {
        this.send({ type: 'unsubscribe', topic });
        this.subs.delete(topic);
      }
    }
    for (const p of this.pending.values()) {
      if (p.stage !== 'queued') continue;
      const text = encodeClient(p.msg);
      if (text.length > this.maxFrame && new TextEncoder().encode(text).length > this.maxFrame) {
        this.settle(p.msg.request, false, 'frame_too_large', 'request exceeds the server frame limit');
        continue;
      }
      p.stage = 'sent';
      this.ws.send(text);
      this.stats.sent++;
    }
  }

  settle(id, ok, value, message) {
    const p = this.pending.get(id);
    if (!p) return false;
    this.pending.delete(id);
    if (ok) p.resolve(value);
    else p.reject(new OnbeatError(value, message ?? value));
    return true;
  }

  // ---- incoming ----

  frame(data) {
    this.stats.received++;
    let msg;
    try {
      msg = decodeServer(data, this.maxFrame);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.stats.protocolErrors++;
      this.emit('protocol_error', { code: e.code, message: e.message });
      return;
    }
    const handler = this.handlers[msg.type];
    handler.call(this, msg);
  }
}

Client.prototype.handlers = {
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
    if (m.topic !== null && this.subs.has(m.topic)) {
      const sub = this.subs.get(m.topic);
      this.subs.delete(m.topic);
      sub.settle.reject(new OnbeatError(m.code, m.message));
    }
    if (FATAL.has(m.code)) this.fatal = m.code;
    this.emit('error', { code: m.code, message: m.message, request: m.request, topic: m.topic });
  },
};
