// The geometry under the clock estimate: the region of clock models every
// sample allows, the quick-path hulls, and the presented-clock mapping.
//
// A line-for-line port of onbeat-core's `timeline::region`,
// `timeline::clock_sync::hull` and `timeline::mapping`. Every floating-point
// operation is kept in the same order as the Rust, so that the same inputs
// give bit-identical results (shells/web/test/clock-vectors.json checks it).
// Integers stay below 2^53, where JavaScript numbers are exact.

/** Samples kept in the window. */
export const WINDOW = 64;

/** The lowest and highest of `values`, or null when there are none. */
function extent(values) {
  if (values.length === 0) return null;
  let lo = values[0];
  let hi = values[0];
  for (let i = 1; i < values.length; i++) {
    const v = values[i];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  return [lo, hi];
}

/** A convex polygon of (offset at reference µs, drift µs/s) pairs. */
export class Region {
  constructor() {
    /** @type {Array<[number, number]>} */
    this.vertices = [];
  }

  /** All models whose offset at the reference lies in `strip` and whose drift is within ±maxRate. */
  reset(strip, maxRate) {
    this.vertices = [
      [strip.lo + strip.x * maxRate, -maxRate],
      [strip.hi + strip.x * maxRate, -maxRate],
      [strip.hi - strip.x * maxRate, maxRate],
      [strip.lo - strip.x * maxRate, maxRate],
    ];
  }

  /** Keeps only models that satisfy `strip`; false (unchanged) when it contradicts them. */
  clip(strip) {
    const range = this.rangeAt(strip.x);
    if (range === null) return false;
    const [lo, hi] = range;
    if (lo >= strip.lo && hi <= strip.hi) return true;
    if (hi < strip.lo || lo > strip.hi) return false;
    const upper = clipHalfPlane(this.vertices, 1.0, strip.x, strip.hi);
    const both = clipHalfPlane(upper, -1.0, -strip.x, -strip.lo);
    if (both.length === 0) return false;
    this.vertices = both;
    return true;
  }

  /** Lowest and highest offset any model allows at `x` seconds, or null if empty. */
  rangeAt(x) {
    return extent(this.vertices.map(([a, b]) => a + b * x));
  }

  /** Lowest and highest drift any model allows, or null if empty. */
  rateRange() {
    return extent(this.vertices.map(([, b]) => b));
  }
}

// Sutherland–Hodgman against one half-plane `na·a + nb·b ≤ c`; the small
// tolerance keeps a degenerate region alive despite rounding.
function clipHalfPlane(vertices, na, nb, c) {
  const EPS = 1e-9;
  const out = [];
  const n = vertices.length;
  for (let i = 0; i < n; i++) {
    const p = vertices[i];
    const q = vertices[(i + 1) % n];
    const dp = na * p[0] + nb * p[1] - c;
    const dq = na * q[0] + nb * q[1] - c;
    if (dp <= EPS) out.push(p);
    if (dp <= EPS !== dq <= EPS) {
      const t = dp / (dp - dq);
      out.push([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])]);
    }
  }
  return out;
}

/** Indices of the strips on one quick-path hull, in increasing x. */
export class Hull {
  constructor() {
    /** 'upper' (under the upper bounds) or 'lower' (over the lower bounds); null reads as upper. */
    this.side = null;
    /** @type {number[]} */
    this.points = [];
  }

  build(strips, side) {
    this.side = side;
    this.points = [];
    for (let i = 0; i < strips.length; i++) this.push(strips, i);
  }

  point(strips, k) {
    return this.side === 'lower' ? [strips[k].x, -strips[k].lo] : [strips[k].x, strips[k].hi];
  }

  /** Extends the hull with strip `i`, the one with the largest x so far (monotone chain). */
  push(strips, i) {
    const p = this.point(strips, i);
    if (this.points.length > 0) {
      const last = this.point(strips, this.points[this.points.length - 1]);
      if (last[0] === p[0]) {
        if (last[1] <= p[1]) return;
        this.points.pop();
      }
    }
    while (this.points.length >= 2) {
      const a = this.point(strips, this.points[this.points.length - 2]);
      const b = this.point(strips, this.points[this.points.length - 1]);
      if ((b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) <= 0.0) {
        this.points.pop();
      } else {
        break;
      }
    }
    this.points.push(i);
  }

  /** Accounts for strip `k` leaving; `strips` still holds it. Repairs only the stretch around it. */
  remove(strips, k) {
    const pos = this.points.indexOf(k);
    if (pos >= 0) {
      const from = pos > 0 ? this.points[pos - 1] + 1 : 0;
      const rest = this.points.slice(pos + 1);
      const to = rest.length > 0 ? rest[0] : strips.length;
      this.points.length = pos;
      for (let i = from; i < to; i++) if (i !== k) this.push(strips, i);
      for (const i of rest) this.push(strips, i);
    }
    this.points = this.points.map((i) => (i > k ? i - 1 : i));
  }

  /** The hull's slope (µs/s) at x; at a vertex the mean of both sides; 0 with under two points. */
  slopeAt(strips, x) {
    const lower = this.side === 'lower';
    const sign = lower ? -1.0 : 1.0;
    const y = lower ? (s) => -s.lo : (s) => s.hi;
    const p = (k) => strips[this.points[k]];
    const slope = (k) => (y(p(k + 1)) - y(p(k))) / (p(k + 1).x - p(k).x);
    if (this.points.length < 2) return 0.0;
    const last = this.points.length - 2;
    let edge = last;
    for (let k = 0; k <= last; k++) {
      if (p(k + 1).x >= x) {
        edge = k;
        break;
      }
    }
    const s = p(edge + 1).x === x && edge < last ? (slope(edge) + slope(edge + 1)) / 2.0 : slope(edge);
    return sign * s;
  }
}

function signum(v) {
  return v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0;
}

/**
 * The presented clock as a function of local time: from `anchor` on, shared
 * time advances at 1 + rate and closes `gap` at `slew` until it is closed.
 */
export class Mapping {
  constructor({ anchor, origin, rate, gap, slew }) {
    this.anchor = anchor;
    this.origin = origin;
    this.rate = rate;
    this.gap = gap;
    this.slew = slew;
  }

  elapsed(now) {
    return Math.max(0, now - this.anchor);
  }

  slewEnd() {
    return this.slew > 0.0 ? Math.abs(this.gap) / this.slew : 0.0;
  }

  advance(now) {
    const dt = this.elapsed(now);
    const corrected = dt >= this.slewEnd() ? this.gap : signum(this.gap) * this.slew * dt;
    return dt + this.rate * dt + corrected;
  }

  /** Shared time at local `now`, µs; monotonic in `now`. */
  serverAt(now) {
    return this.origin + Math.floor(this.advance(now));
  }

  /** The part of the correction not yet applied at `now`, µs. */
  gapLeft(now) {
    const dt = this.elapsed(now);
    return dt >= this.slewEnd() ? 0.0 : this.gap - signum(this.gap) * this.slew * dt;
  }

  /** The earliest local instant at which shared time reaches `server`, or null. */
  localTimeOf(server) {
    const MAX = Number.MAX_SAFE_INTEGER;
    const d = server - this.origin;
    const fast = 1.0 + this.rate + signum(this.gap) * this.slew;
    const end = this.slewEnd();
    const dt = d <= end * fast ? d / fast : (d - this.gap) / (1.0 + this.rate);
    const guess = Math.min(Math.max(this.anchor + Math.ceil(dt), 0), MAX);
    if (server <= this.origin) return guess;
    const reaches = (t) => this.serverAt(t) >= server;
    let width = 16;
    let lo;
    let hi;
    for (;;) {
      lo = Math.max(guess - width, 0);
      hi = Math.min(guess + width, MAX);
      const below = lo === 0 || !reaches(lo);
      if (below && reaches(hi)) break;
      if (lo === 0 && hi === MAX) return null;
      width *= 16;
    }
    if (lo === 0 && reaches(0)) hi = 0;
    while (lo + 1 < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (reaches(mid)) hi = mid;
      else lo = mid;
    }
    return hi;
  }
}
