// onbeat browser SDK: one session with an onbeat server over WebSocket
// (JSON subprotocol), kept across reconnects, with the server's clock.
// No dependencies; types and documentation in onbeat.d.ts.

import { ClockSync } from './clock-sync.js';
import { OnbeatError } from './errors.js';
import { connection } from './connection.js';
import { handlers } from './incoming.js';
import { Rooms } from './rooms.js';
import { Backoff, Stream } from './streams.js';
import { DEFAULT_MAX_FRAME, ProtocolError, decodeServer, encodeClient, encodePayload } from './wire.js';

export { OnbeatError } from './errors.js';
export { ClockSync, ClockError, DEFAULT_CLOCK_CONFIG } from './clock-sync.js';
export { Backoff, Rng, Stream, backoffWindow } from './streams.js';
export { ProtocolError, SUBPROTOCOL, decodePayload, decodeServer, encodeClient, encodePayload } from './wire.js';

/** Requests awaiting an answer, at most. */
const MAX_PENDING = 256;

const DEFAULTS = {
  backoffBase: 500_000,
  backoffCap: 30_000_000,
  stableAfter: 5_000_000,
  connectTimeout: 10_000_000,
  inbox: '@inbox',
};

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
    // A page-relative '/ws' resolves to http(s); the socket wants ws(s).
    if (u.protocol === 'http:' || u.protocol === 'https:') u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
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
    /** Topics whose subscribe awaits its answer, in the order sent: answers come in that order. */
    this.asked = [];
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

  /**
   * Follows `topic`; with `since`, from that position (recovery). Subscribing
   * again with `since` to a topic already followed (and answered) restarts
   * it from there: the server replays what it still holds.
   */
  subscribe(topic, opts = {}) {
    const existing = this.subs.get(topic);
    const restart = existing?.stream.state === 'active' && opts.since;
    if (existing && existing.stream.state !== 'leaving' && !restart) {
      throw new OnbeatError('already_subscribed', topic);
    }
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

  // ---- sending (the connection's life is in connection.js) ----

  /** Sends what is due once a session is open: subscribes, unsubscribes, requests. */
  flush() {
    if (this.state !== 'open') return;
    for (const [topic, sub] of this.subs) {
      if (sub.stream.state === 'unsent') {
        this.send({ type: 'subscribe', topic, since: sub.stream.sent() });
        this.asked.push(topic);
      }
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

Client.prototype.handlers = handlers;
// Installed as a class's own methods are: not enumerable.
for (const [name, method] of Object.entries(connection)) {
  Object.defineProperty(Client.prototype, name, { value: method, writable: true, configurable: true });
}
