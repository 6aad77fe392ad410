// A fake WebSocket and fake time for driving the SDK's Client in node.

/** Simulated local time (µs) with timers. */
export class FakeTime {
  constructor(start = 1_000_000) {
    this.t = start;
    this.timers = [];
    this.nextId = 1;
    this.now = () => this.t;
    this.setTimeout = (fn, ms) => {
      const id = this.nextId++;
      this.timers.push({ id, at: this.t + Math.max(0, ms) * 1000, fn });
      return id;
    };
    this.clearTimeout = (id) => {
      this.timers = this.timers.filter((x) => x.id !== id);
    };
  }

  /** Advances by `us`, firing due timers in time order. */
  advance(us) {
    const end = this.t + us;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
}

/** Records every socket the client opens; tests play the server. */
export class FakeNet {
  constructor() {
    this.sockets = [];
    const net = this;
    this.WebSocket = class {
      constructor(url, protocol) {
        this.url = url;
        this.protocol = protocol;
        this.sent = [];
        this.closed = null;
        this.onopen = this.onmessage = this.onclose = this.onerror = null;
        net.sockets.push(this);
      }
      send(text) {
        if (this.closed) throw new Error('send on a closed socket');
        this.sent.push(JSON.parse(text));
      }
      close(code = 1000, reason = '') {
        if (this.closed) return;
        this.closed = { code, reason };
      }
      // Server side:
      open() {
        this.onopen?.({});
      }
      recv(msg) {
        this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) });
      }
      drop(code = 1006, reason = '') {
        this.closed = { code, reason };
        this.onclose?.({ code, reason });
      }
      /** Messages sent since the last call, as [name, body]. */
      take() {
        const out = this.sent.map((m) => [Object.keys(m)[0], Object.values(m)[0]]);
        this.sent = [];
        return out;
      }
    };
  }

  get last() {
    return this.sockets[this.sockets.length - 1];
  }
}

/** Lets pending promise callbacks run. */
export const settle = () => new Promise((r) => setImmediate(r));
