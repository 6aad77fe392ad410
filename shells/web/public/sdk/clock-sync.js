// Client-side estimate of the server's clock, with an honest error bound.
//
// A port of onbeat-core's `timeline::clock_sync` (ClockSync and its Window):
// same window, same estimate and bound, same rules for the presented clock
// (slew at max_slew_ppm, step past step_threshold, never run backwards).
// Times are whole microseconds as JavaScript numbers (exact below 2^53);
// floating-point steps follow the Rust order so results agree bit for bit.

import { Hull, Mapping, Region, WINDOW } from './clock-geometry.js';

const OUTSTANDING = 8;
const EVENTS = 8;
const RETIRED = 4;
const QUANTUM_US = 2.0;
const QUEUEING_FAST = 5_000.0;
const DRIFT_DOUBT = 0.5;
const F64_MAX = Number.MAX_VALUE;
/** An error bound too large to state (Rust's `Duration::MAX`). */
const UNBOUNDED = Infinity;

/** The defaults of the core's `ClockConfig`, in µs and ppm. */
export const DEFAULT_CLOCK_CONFIG = Object.freeze({
  interval: 1_000_000,
  fastInterval: 125_000,
  fastSamples: 16,
  settled: 500,
  pingTimeout: 5_000_000,
  maxDriftPpm: 500,
  wanderPpm: 1,
  stepThreshold: 200_000,
  maxSlewPpm: 10_000,
});

function secsBetween(at, reference) {
  return (at - reference) * 1e-6;
}

/** Rust's `i64 / 2`: truncates toward zero. */
function half(v) {
  return Math.trunc(v / 2);
}

/** The samples, oldest first, with their intersection (the core's `Window`). */
class Window {
  constructor(maxDriftPpm, wanderPpm) {
    this.samples = [];
    this.strips = [];
    this.ceiling = new Hull();
    this.floor = new Hull();
    this.region = new Region();
    this.reference = 0;
    this.base = 0;
    this.maxDrift = maxDriftPpm;
    this.wander = wanderPpm;
    /** The last estimate: [local instant, base, centre, drift µs/s]. */
    this.line = null;
  }

  clear() {
    this.samples = [];
    this.strips = [];
    this.ceiling = new Hull();
    this.floor = new Hull();
    this.region = new Region();
    this.line = null;
  }

  /** Adds a sample; a full window first forgets the one that pins the offset least. */
  add(sample, now) {
    if (this.samples.length === WINDOW) {
      const evict = this.leastUseful(now);
      this.ceiling.remove(this.strips, evict);
      this.floor.remove(this.strips, evict);
      this.samples.splice(evict, 1);
      this.strips.splice(evict, 1);
    }
    this.samples.push(sample);
    return this.rebuild();
  }

  /** Returns 'agreed', or 'contradicted' when a clock stepped and only the newest sample is kept. */
  rebuild() {
    const newest = this.samples[this.samples.length - 1];
    this.reference = newest.at;
    this.base = half(newest.lo) + half(newest.hi);
    this.strips = this.samples.map((s) => this.stripOf(s));
    const newestIndex = this.strips.length - 1;
    if (newestIndex === 0) {
      this.ceiling.build(this.strips, 'upper');
      this.floor.build(this.strips, 'lower');
    } else {
      this.ceiling.push(this.strips, newestIndex);
      this.floor.push(this.strips, newestIndex);
    }
    const newestStrip = this.strips[newestIndex];
    this.region.reset(newestStrip, this.maxDrift);
    const binding = this.ceiling.points.concat(this.floor.points);
    if (binding.every((i) => this.region.clip(this.strips[i]))) return 'agreed';
    this.samples = [newest];
    this.strips = [newestStrip];
    this.ceiling.build(this.strips, 'upper');
    this.floor.build(this.strips, 'lower');
    this.region.reset(newestStrip, this.maxDrift);
    return 'contradicted';
  }

  stripOf(s) {
    const x = secsBetween(s.at, this.reference);
    const slack = s.slack + this.wander * Math.abs(x);
    return { x, lo: s.lo - this.base - slack, hi: s.hi - this.base + slack };
  }

  leastUseful(now) {
    const worth = (s) => {
      const age = secsBetween(now, s.at);
      let side;
      if (this.line !== null) {
        const [at, base, centre, rate] = this.line;
        const here = centre + rate * secsBetween(s.at, at);
        side = Math.min(s.hi - base - here, here - (s.lo - base));
      } else {
        side = s.hi - s.lo;
      }
      return side + s.slack + this.wander * age;
    };
    let worst = 0;
    for (let i = 0; i < this.samples.length; i++) {
      if (worth(this.samples[i]) > worth(this.samples[worst])) worst = i;
    }
    return worst;
  }

  /** The median round trip in the window less the quickest, µs. */
  queueing() {
    const widths = this.samples.map((s) => s.hi - s.lo).sort((a, b) => a - b);
    if (widths.length === 0) return 0.0;
    return widths[Math.floor(widths.length / 2)] - widths[0];
  }

  /** [base, lo, hi]: the true offset lies in base + [lo, hi] µs at `now`, or null. */
  offsetRange(now) {
    const x = secsBetween(now, this.reference);
    const range = this.region.rangeAt(x);
    if (range === null) return null;
    const wander = this.wander * Math.abs(x);
    return [this.base, range[0] - wander, range[1] + wander];
  }

  /** [base, centre, drift µs per µs]: the best point estimate at `now`, or null. */
  target(now) {
    const rates = this.region.rateRange();
    if (rates === null) return null;
    const [rate, doubt] = this.envelopeRate(rates[0], rates[1]);
    let aLo = -F64_MAX;
    let aHi = F64_MAX;
    for (const strip of this.strips) {
      const loosen = doubt * Math.abs(strip.x);
      aLo = Math.max(aLo, strip.lo - loosen - rate * strip.x);
      aHi = Math.min(aHi, strip.hi + loosen - rate * strip.x);
    }
    const x = secsBetween(now, this.reference);
    let centre;
    if (aLo <= aHi) {
      centre = (aLo + aHi) / 2.0;
    } else {
      const range = this.region.rangeAt(0.0);
      if (range === null) return null;
      centre = (range[0] + range[1]) / 2.0;
    }
    this.line = [this.reference, this.base, centre, rate];
    return [this.base, centre + rate * x, rate * 1e-6];
  }

  envelopeRate(lo, hi) {
    const n = this.strips.length;
    let sum = -0.0;
    for (const s of this.strips) sum += s.x;
    const meanX = sum / n;
    const clamp = (v) => Math.min(Math.max(v, lo), hi);
    const forward = clamp(this.ceiling.slopeAt(this.strips, meanX));
    const back = clamp(this.floor.slopeAt(this.strips, meanX));
    const rate = (forward + back) / 2.0;
    return [rate, DRIFT_DOUBT * Math.abs(forward - back)];
  }
}

/** Why a pong was refused; a refused pong changes nothing. */
export class ClockError extends Error {
  /** @param {'unknown_ping'|'echo_mismatch'|'invalid_timestamps'|'retired_clock'} code */
  constructor(code) {
    super(`pong refused: ${code}`);
    this.name = 'ClockError';
    this.code = code;
  }
}

/**
 * Sans-IO clock synchronisation, as the core's `ClockSync`: `handleTimeout`
 * sends pings when due, `handlePong` digests answers, `pollOutput` drains
 * `{type:'ping', seq, t1}`, `{type:'stepped', byUs}` and
 * `{type:'server_restarted', clock}`; `estimate(now)` presents the server's
 * clock. `now` is a monotonic local clock in whole microseconds.
 */
export class ClockSync {
  constructor(config, now) {
    this.config = { ...DEFAULT_CLOCK_CONFIG, ...config };
    this.clock = null;
    this.retired = [];
    this.window = new Window(this.config.maxDriftPpm, this.config.wanderPpm);
    this.provisional = false;
    this.accepted = 0;
    this.unsettled = F64_MAX;
    this.mapping = null;
    this.hold = null;
    this.outstanding = [];
    this.nextSeq = 0;
    this.nextPing = now;
    this.events = [];
    this.lastNow = now;
  }

  /** Samples accepted since the server's clock was last (re)learned. */
  samples() {
    return this.accepted;
  }

  /** The server clock id the estimate refers to, once known. */
  serverClock() {
    return this.clock;
  }

  pollOutput() {
    return this.events.length > 0 ? this.events.shift() : null;
  }

  pollTimeout() {
    return this.nextPing;
  }

  handleTimeout(now) {
    now = this.advance(now);
    const timeout = this.config.pingTimeout;
    this.outstanding = this.outstanding.filter(([, t1]) => now < t1 + timeout);
    if (now < this.nextPing) return;
    if (this.outstanding.length === OUTSTANDING) this.outstanding.shift();
    const ping = { type: 'ping', seq: this.nextSeq, t1: now };
    this.nextSeq = (this.nextSeq + 1) >>> 0;
    this.outstanding.push([ping.seq, now]);
    this.emit(ping);
    this.nextPing = now + this.pace();
  }

  /** Digests a pong `{seq, t1, t2, t3, clock}` received at local `now`; throws a ClockError if refused. */
  handlePong(pong, now) {
    now = this.advance(now);
    const pos = this.outstanding.findIndex(([seq]) => seq === pong.seq);
    if (pos < 0) throw new ClockError('unknown_ping');
    const t1 = this.outstanding[pos][1];
    if (pong.t1 !== t1) throw new ClockError('echo_mismatch');
    const rtt = Math.max(0, now - t1);
    if (rtt > this.config.pingTimeout) throw new ClockError('unknown_ping');
    const hold = pong.t3 - pong.t2;
    if (hold < 0 || hold > rtt) throw new ClockError('invalid_timestamps');
    const lo = pong.t3 - now;
    const hi = pong.t2 - t1;
    if (this.retired.includes(pong.clock)) throw new ClockError('retired_clock');
    this.outstanding.splice(pos, 1);

    const restarted = this.clock !== null && this.clock !== pong.clock;
    if (restarted) {
      if (this.retired.length === RETIRED) this.retired.shift();
      this.retired.push(this.clock);
      this.window.clear();
      this.accepted = 0;
      this.hold = null;
      this.emit({ type: 'server_restarted', clock: pong.clock });
    }
    this.clock = pong.clock;
    if (this.provisional) {
      this.window.clear();
      this.accepted = 0;
      this.provisional = false;
    }
    const sample = {
      at: t1 + Math.floor(rtt / 2),
      lo,
      hi,
      slack: QUANTUM_US + this.config.maxDriftPpm * 1e-6 * rtt,
    };
    if (this.window.add(sample, now) === 'agreed') {
      this.accepted += 1;
    } else {
      this.provisional = true;
      this.outstanding = [];
      this.accepted = 1;
    }
    this.retarget(now, restarted);
    return rtt;
  }

  /** The local clock jumped or stood still (sleep): drop samples, ping at once. */
  handleDiscontinuity(now) {
    now = this.advance(now);
    this.window.clear();
    this.accepted = 0;
    this.provisional = false;
    this.unsettled = F64_MAX;
    this.outstanding = [];
    this.nextPing = now;
  }

  /** `{serverTime, errorBound}` at local `now` (errorBound Infinity when unbounded), or null before the first sample. */
  estimate(now) {
    if (this.mapping === null) return null;
    now = Math.max(now, this.lastNow);
    let server = Math.max(this.mapping.serverAt(now), 0);
    if (this.hold !== null) server = Math.max(server, this.hold[1]);
    const range = this.window.offsetRange(now);
    if (range === null) return { serverTime: server, errorBound: UNBOUNDED };
    const [base, lo, hi] = range;
    const s = server - now - base;
    const bound = Math.max(s - lo, hi - s);
    const whole = Math.max(Math.ceil(bound), 0.0);
    return { serverTime: server, errorBound: whole >= 2 ** 64 ? UNBOUNDED : whole + 1 };
  }

  /** The earliest local instant at which the estimate reads at least `serverTime`, or null. */
  localTimeOf(serverTime) {
    if (this.mapping === null) return null;
    if (this.hold !== null && serverTime <= this.hold[1]) return this.hold[0];
    return this.mapping.localTimeOf(serverTime);
  }

  advance(now) {
    this.lastNow = Math.max(this.lastNow, now);
    return this.lastNow;
  }

  emit(event) {
    if (this.events.length === EVENTS) this.events.shift();
    this.events.push(event);
  }

  pace() {
    const settled = this.unsettled <= this.config.settled;
    const jittery = this.window.queueing() > QUEUEING_FAST;
    if (this.accepted < this.config.fastSamples || !settled || jittery) return this.config.fastInterval;
    return this.config.interval;
  }

  retarget(now, restarted) {
    const target = this.window.target(now);
    if (target === null) return;
    const [base, centre, rate] = target;
    const slew = this.config.maxSlewPpm * 1e-6;
    const aim = now + base;
    const fresh = { anchor: now, origin: aim + Math.floor(centre), rate, gap: 0.0, slew };
    const current = this.mapping;
    if (current === null) {
      this.mapping = new Mapping(fresh);
      return;
    }
    const presented = current.serverAt(now);
    const gap = aim - presented + centre;
    const moved = Math.abs(gap - current.gapLeft(now));
    this.unsettled = this.unsettled === F64_MAX ? moved : Math.max(moved, (this.unsettled * 7.0) / 8.0);
    const acquiring = this.accepted <= this.config.fastSamples;
    const jump = restarted || Math.abs(gap) > this.config.stepThreshold;
    if (jump) this.unsettled = F64_MAX;
    if (jump || acquiring) {
      if (gap < 0.0 && !restarted) {
        const e = this.estimate(now);
        if (e !== null) {
          const held = this.hold === null ? e.serverTime : Math.max(this.hold[1], e.serverTime);
          this.hold = [now, held];
        }
      }
      this.mapping = new Mapping(fresh);
      this.emit({ type: 'stepped', byUs: Math.trunc(gap) });
    } else {
      this.mapping = new Mapping({ ...fresh, origin: presented, gap });
    }
  }
}
