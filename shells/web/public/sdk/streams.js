// Per-topic stream bookkeeping and the reconnect backoff: the client's pure
// parts, following onbeat-core's ClientSession (dispatch/client/stream.rs,
// backoff.rs).

/**
 * One topic's cursor (the position of the next expected message) and its
 * standing with the server: 'unsent' (a subscribe is due), 'awaiting'
 * (sent from `since`), 'active', 'leaving' (an unsubscribe is due).
 */
export class Stream {
  constructor(lossy) {
    this.lossy = lossy;
    /** @type {{epoch:number, offset:number}|null} */
    this.cursor = null;
    this.state = 'unsent';
    this.since = null;
  }

  /** Marks the subscribe as sent; returns its `since`. */
  sent() {
    this.state = 'awaiting';
    this.since = this.cursor;
    return this.since;
  }

  /**
   * Judges a delivery: `{verdict:'deliver', skippedFrom}`, `{verdict:'duplicate'}`,
   * `{verdict:'ignored'}`, or `{verdict:'resync', error}` after which the
   * stream is unsent (resubscribe from the cursor).
   */
  deliver(epoch, offset) {
    const c = this.cursor;
    if (c === null) return { verdict: 'ignored' };
    if (this.state === 'awaiting') {
      if (epoch === c.epoch && offset < c.offset) return { verdict: 'duplicate' };
      if (epoch !== c.epoch || offset !== c.offset) return { verdict: 'ignored' };
    } else if (this.state !== 'active') {
      return { verdict: 'ignored' };
    }
    if (epoch !== c.epoch) return this.resync('epoch_changed');
    if (offset < c.offset) return { verdict: 'duplicate' };
    const skippedFrom = offset > c.offset ? c.offset : null;
    if (skippedFrom !== null && !this.lossy) return this.resync('skipped');
    this.cursor = { epoch, offset: offset + 1 };
    return { verdict: 'deliver', skippedFrom };
  }

  /** Judges a `gap` of [from, to): returns the newly lost range, null, or a resync. */
  gap(epoch, from, to) {
    if (to <= from) return { verdict: 'invalid' };
    const c = this.cursor;
    if (c === null) return null;
    const inOrder = epoch === c.epoch && from <= c.offset;
    if (!(this.state === 'active' || (this.state === 'awaiting' && inOrder))) return null;
    if (epoch !== c.epoch) return this.resync('epoch_changed');
    if (to <= c.offset) return null;
    if (!inOrder && !this.lossy) return this.resync('skipped');
    this.cursor = { epoch, offset: to };
    return { verdict: 'lost', from: c.offset, to };
  }

  /**
   * Takes a `subscribed`, the new start of the stream. Returns
   * `{kind:'fresh'|'recovered'|'lost', position, reason}`, null for a stale
   * answer, or `{kind:'invalid'}` for a recovery the server cannot claim.
   */
  subscribed(position, recovered, reason) {
    let since;
    if (this.state === 'awaiting') since = this.since;
    else if (this.state === 'active') since = this.cursor;
    else return null;
    let answer;
    if (since === null) {
      this.cursor = position;
      answer = { kind: 'fresh', position, reason: null };
    } else if (recovered) {
      if (position.epoch !== since.epoch || position.offset < since.offset) return { kind: 'invalid' };
      answer = { kind: 'recovered', position, reason: null };
    } else {
      const c = this.cursor;
      const keep = c !== null && c.epoch === position.epoch && c.offset > position.offset;
      if (!keep) this.cursor = position;
      answer = { kind: 'lost', position, reason };
    }
    this.state = 'active';
    return answer;
  }

  resync(error) {
    this.state = 'unsent';
    return { verdict: 'resync', error };
  }
}

/** A small seedable PRNG (mulberry32): reconnect jitter that tests can replay. */
export class Rng {
  constructor(seed) {
    this.state = seed >>> 0;
  }

  nextU32() {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1), 53 bits. */
  next() {
    return (this.nextU32() * 2 ** 21 + (this.nextU32() >>> 11)) / 2 ** 53;
  }
}

/** The largest delay after `attempt` failures in a row: min(cap, base · 2^attempt). */
export function backoffWindow(base, cap, attempt) {
  return Math.min(cap, base * 2 ** Math.min(attempt, 63));
}

/**
 * Exponential backoff with full jitter: after the n-th failure in a row the
 * delay is uniform in [0, min(cap, base · 2^n)] µs, so clients that lost the
 * server together come back spread out rather than as a spike.
 */
export class Backoff {
  constructor(seed) {
    this.rng = new Rng(seed);
    this.attempt = 0;
  }

  reset() {
    this.attempt = 0;
  }

  nextDelay(base, cap) {
    const window = backoffWindow(base, cap, this.attempt);
    this.attempt += 1;
    return Math.floor(this.rng.next() * (window + 1));
  }
}
