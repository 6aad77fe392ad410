// Replays the core's ClockSync vectors (tests/tests/clock_vectors.rs) through
// the SDK's port. Agreement is exact, to the microsecond: both sides do the
// same IEEE-754 double operations in the same order on integers below 2^53,
// so any difference is a porting error, not rounding.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ClockSync, DEFAULT_CLOCK_CONFIG } from '../public/sdk/clock-sync.js';

const vectors = JSON.parse(readFileSync(new URL('./clock-vectors.json', import.meta.url), 'utf8'));

function eventJson(ev) {
  switch (ev.type) {
    case 'ping':
      return { ping: { seq: ev.seq, t1: ev.t1 } };
    case 'stepped':
      return { stepped: ev.byUs };
    case 'server_restarted':
      return { server_restarted: ev.clock };
    default:
      return 'other';
  }
}

function observe(sync, now) {
  const out = [];
  for (let ev = sync.pollOutput(); ev !== null; ev = sync.pollOutput()) out.push(eventJson(ev));
  const e = sync.estimate(now);
  let estimate = null;
  if (e !== null) {
    estimate = {
      server_time: e.serverTime,
      error_bound: e.errorBound === Infinity ? null : e.errorBound,
      local_time_of_plus_500ms: sync.localTimeOf(e.serverTime + 500_000),
    };
  }
  return { out, estimate, next: sync.pollTimeout() };
}

test('the SDK defaults are the core defaults', () => {
  assert.deepEqual({ ...DEFAULT_CLOCK_CONFIG }, vectors.config);
});

for (const scenario of vectors.scenarios) {
  test(`clock vectors: ${scenario.name}`, () => {
    const sync = new ClockSync(vectors.config, scenario.start);
    scenario.steps.forEach((step, i) => {
      let result;
      if (step.op === 'timeout') {
        sync.handleTimeout(step.now);
      } else if (step.op === 'discontinuity') {
        sync.handleDiscontinuity(step.now);
      } else {
        try {
          sync.handlePong(step.pong, step.now);
          result = 'ok';
        } catch (e) {
          result = e.code;
        }
      }
      const got = observe(sync, step.now);
      const where = `${scenario.name} step ${i} (${step.op} at ${step.now})`;
      if (result !== undefined) assert.equal(result, step.result, where);
      assert.deepEqual(got.out, step.out, `${where}: events`);
      assert.deepEqual(got.estimate, step.estimate, `${where}: estimate`);
      assert.equal(got.next, step.next, `${where}: next wake-up`);
    });
  });
}
