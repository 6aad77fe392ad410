// The connection's life, as methods of the Client (`this`): opening the
// socket and saying hello, losing it and waiting to reconnect, closing for
// good, and the one timer that drives reconnects, handshake timeouts, clock
// pings and sleep detection.

import { OnbeatError } from './errors.js';
import { SUBPROTOCOL, encodeClient } from './wire.js';

/** WebSocket close code for a policy violation (bad token, origin). */
const CLOSE_POLICY = 1008;
/** Wall and monotonic clocks disagreeing by this much (µs) means the device slept. */
const SLEEP_US = 1_000_000;

export const connection = {
  start() {
    this.open();
  },

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
    // Browsers follow an error with a close, but not every WebSocket does
    // (node's fails a refused connection with an error alone).
    ws.onerror = () => {
      if (this.ws !== ws) return;
      this.disconnected(ws, 1006, 'socket error');
      ws.close();
    };
    this.arm();
  },

  send(msg) {
    this.ws.send(encodeClient(msg));
    this.stats.sent++;
  },

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
    this.asked = [];
    this.emit('close', { code, reason, reconnectIn: delay });
    this.arm();
  },

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
  },

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
  },

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
  },

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
  },

  drainClock() {
    for (let ev = this.clock.pollOutput(); ev !== null; ev = this.clock.pollOutput()) {
      if (ev.type === 'ping') {
        if (this.state === 'open') this.send({ type: 'ping', seq: ev.seq, t1: ev.t1 });
      } else {
        this.emit('clock', ev);
      }
    }
  },
};
