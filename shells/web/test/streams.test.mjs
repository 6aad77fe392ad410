// Recovery bookkeeping of one topic's stream (the rules of the core's
// dispatch/client/stream.rs).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Stream } from '../public/sdk/onbeat.js';

const pos = (epoch, offset) => ({ epoch, offset });

function active(lossy, epoch = 1, offset = 10) {
  const s = new Stream(lossy);
  s.sent();
  s.subscribed(pos(epoch, offset), false, null);
  return s;
}

test('a first subscribe starts at the live position; later ones resume from the cursor', () => {
  const s = new Stream(false);
  assert.equal(s.sent(), null);
  assert.deepEqual(s.subscribed(pos(1, 10), false, null), { kind: 'fresh', position: pos(1, 10), reason: null });
  assert.equal(s.deliver(1, 10).verdict, 'deliver');
  s.state = 'unsent';
  assert.deepEqual(s.sent(), pos(1, 11), 'since = last received + 1');
});

test('while a subscribe is outstanding only the very next message is taken', () => {
  const s = active(false);
  s.deliver(1, 10);
  s.state = 'unsent';
  s.sent();
  assert.equal(s.deliver(1, 11).verdict, 'deliver');
  assert.equal(s.deliver(1, 13).verdict, 'ignored', 'the replay brings it in order');
  assert.equal(s.deliver(1, 5).verdict, 'duplicate');
  assert.equal(s.deliver(2, 0).verdict, 'ignored');
});

test('recovered keeps the cursor; an impossible recovery is refused', () => {
  const s = active(false);
  s.deliver(1, 10);
  s.state = 'unsent';
  s.sent();
  assert.equal(s.subscribed(pos(1, 15), true, null).kind, 'recovered');
  assert.deepEqual(s.cursor, pos(1, 11), 'the replay continues from the cursor');
  assert.equal(s.deliver(1, 11).verdict, 'deliver');
  s.state = 'unsent';
  s.sent();
  assert.equal(s.subscribed(pos(2, 0), true, null).kind, 'invalid', 'recovered into another epoch');
});

test('not recovered: jump to the live position, never back over what was taken', () => {
  const s = active(false);
  s.state = 'unsent';
  s.sent();
  const a = s.subscribed(pos(3, 0), false, 'epoch_changed');
  assert.deepEqual(a, { kind: 'lost', position: pos(3, 0), reason: 'epoch_changed' });
  assert.deepEqual(s.cursor, pos(3, 0));
  // A message taken ahead of the answer already moved the cursor past it.
  const t = active(false, 1, 10);
  t.state = 'unsent';
  t.sent();
  t.deliver(1, 10);
  t.subscribed(pos(1, 10), false, 'too_old');
  assert.deepEqual(t.cursor, pos(1, 11));
});

test('an unasked too_old during a replay restarts the stream at the live position', () => {
  const s = active(false);
  s.deliver(1, 10);
  assert.equal(s.subscribed(pos(1, 50), false, 'too_old').kind, 'lost');
  assert.deepEqual(s.cursor, pos(1, 50));
});

test('reliable streams never skip; lossy ones report what was skipped', () => {
  const r = active(false);
  assert.deepEqual(r.deliver(1, 12), { verdict: 'resync', error: 'skipped' });
  assert.equal(r.state, 'unsent');
  assert.deepEqual(active(false).deliver(2, 10), { verdict: 'resync', error: 'epoch_changed' });
  const l = active(true);
  assert.deepEqual(l.deliver(1, 12), { verdict: 'deliver', skippedFrom: 10 });
  assert.deepEqual(l.cursor, pos(1, 13));
});

test('gaps: newly lost range only, stale gaps ignored, empty gaps refused', () => {
  const l = active(true);
  assert.deepEqual(l.gap(1, 8, 12), { verdict: 'lost', from: 10, to: 12 });
  assert.equal(l.gap(1, 8, 11), null, 'already past');
  assert.deepEqual(l.gap(1, 5, 5), { verdict: 'invalid' });
  assert.deepEqual(l.gap(1, 20, 25), { verdict: 'lost', from: 12, to: 25 }, 'lossy: an unannounced hole before it too');
  const r = active(false);
  assert.deepEqual(r.gap(1, 20, 25), { verdict: 'resync', error: 'skipped' });
});
