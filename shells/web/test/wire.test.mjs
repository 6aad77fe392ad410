// Message encoding and decoding, payloads and `$bytes`, and the backoff.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  Backoff,
  ProtocolError,
  backoffWindow,
  decodePayload,
  decodeServer,
  encodeClient,
  encodePayload,
} from '../public/sdk/onbeat.js';

const bytes = (...b) => new Uint8Array(b);

test('JSON payloads travel verbatim, everything else wrapped as $bytes', () => {
  assert.equal(encodePayload({ text: 'hi' }), '{"text":"hi"}');
  assert.equal(encodePayload(7), '7');
  assert.equal(encodePayload(bytes(0x00, 0xff, 0x10)), '{"$bytes":"AP8Q"}');
  // Bytes that are one JSON value go verbatim, as the server would send them.
  assert.equal(encodePayload(new TextEncoder().encode('{"pick":3}')), '{"pick":3}');
  // Whitespace around a value is not verbatim-safe.
  assert.equal(encodePayload(new TextEncoder().encode(' 1')), `{"$bytes":"${btoa(' 1')}"}`);
  // A JSON value of the reserved shape is wrapped so it reads back as itself.
  const reserved = { $bytes: 'AP8Q' };
  const wrapped = encodePayload(reserved);
  assert.equal(wrapped, `{"$bytes":"${btoa('{"$bytes":"AP8Q"}')}"}`);
  const back = decodePayload(JSON.parse(wrapped));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(back)), reserved);
  // Nesting past 32 cannot be embedded.
  const deep = JSON.parse('['.repeat(33) + ']'.repeat(33));
  assert.match(encodePayload(deep), /^\{"\$bytes":/);
  assert.throws(() => encodePayload(undefined), TypeError);
});

test('received $bytes become bytes; a malformed one is refused', () => {
  assert.deepEqual(decodePayload({ $bytes: 'AP8Q' }), bytes(0, 255, 16));
  assert.deepEqual(decodePayload({ text: 'hi' }), { text: 'hi' });
  for (const bad of ['AP8', '@@@@', 5]) {
    assert.throws(() => decodePayload({ $bytes: bad }), (e) => e instanceof ProtocolError && e.code === 'invalid');
  }
});

test('client messages encode exactly as docs/protocol.md shows them', () => {
  const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');
  const examples = [...doc.matchAll(/```json client\n(.*)\n```/g)].map((m) => m[1]);
  const msgs = [
    { type: 'hello', resume: 'r-7f3a9c', auth: null },
    { type: 'ping', seq: 7, t1: 1000000 },
    { type: 'subscribe', topic: 'table-1/chat', since: { epoch: 3, offset: 42 } },
    { type: 'unsubscribe', topic: 'table-1/chat' },
    { type: 'publish', topic: 'table-1/chat', data: encodePayload({ text: 'hi' }), at: null, request: 11 },
    { type: 'input', room: 'table-1', request: 12, round: 4, data: encodePayload(bytes(0, 255, 16)) },
  ];
  assert.deepEqual(msgs.map(encodeClient), examples);
});

test('every server example of docs/protocol.md decodes', () => {
  const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');
  const examples = [...doc.matchAll(/```json server(?:-extra)?\n(.*)\n```/g)].map((m) => m[1]);
  const types = examples.map((e) => decodeServer(e).type);
  assert.ok(types.includes('welcome') && types.includes('presence') && types.includes('error'));
  const pong = decodeServer(examples.find((e) => e.startsWith('{"pong"')));
  assert.deepEqual(pong, { type: 'pong', seq: 7, t1: 1000000, t2: 5000250, t3: 5000300, clock: 123456789 });
  const snap = decodeServer(examples.find((e) => e.includes('snapshot')));
  assert.deepEqual(snap.event, { kind: 'snapshot', members: ['alice', 'bob'], more: false });
  const rejected = decodeServer(examples.find((e) => e.includes('rejected')));
  assert.equal(rejected.accepted, false);
  assert.equal(rejected.code, 'late');
});

test('an error frame may carry its topic, null, or none', () => {
  const base = { code: 'forbidden', request: null, message: 'no' };
  assert.equal(decodeServer(JSON.stringify({ error: { ...base, topic: 'table/secret' } })).topic, 'table/secret');
  assert.equal(decodeServer(JSON.stringify({ error: { ...base, topic: null } })).topic, null);
  assert.equal(decodeServer(JSON.stringify({ error: base })).topic, null);
});

test('bad frames are refused with the protocol decode error', () => {
  const code = (frame, max) => {
    try {
      decodeServer(frame, max);
    } catch (e) {
      assert.ok(e instanceof ProtocolError);
      return e.code;
    }
    return 'accepted';
  };
  assert.equal(code('{"pong":'), 'malformed');
  assert.equal(code('{"nope":{}}'), 'unknown_variant');
  assert.equal(code(`{"deliver":{"topic":"a","epoch":0,"offset":0,"at":null,"data":${'['.repeat(40)}${']'.repeat(40)}}}`), 'too_deep');
  assert.equal(code('{"gap":{"topic":"a","epoch":0,"from":1,"to":2}}', 10), 'frame_too_large');
  assert.equal(code('{"gap":{"topic":"a","epoch":-1,"from":1,"to":2}}'), 'invalid');
  assert.equal(code(`{"gap":{"topic":"${'x'.repeat(129)}","epoch":0,"from":1,"to":2}}`), 'too_long');
  assert.equal(code('{"subscribed":{"topic":"a","position":{"epoch":0,"offset":0},"recovered":"yes"}}'), 'invalid');
  // Brackets inside strings do not count as nesting.
  assert.equal(code(`{"error":{"code":"x","message":"${'['.repeat(60)}"}}`), 'accepted');
});

test('backoff: full jitter within a doubling window, capped, reproducible by seed', () => {
  assert.equal(backoffWindow(500_000, 30_000_000, 0), 500_000);
  assert.equal(backoffWindow(500_000, 30_000_000, 3), 4_000_000);
  assert.equal(backoffWindow(500_000, 30_000_000, 10), 30_000_000);
  assert.equal(backoffWindow(500_000, 30_000_000, 500), 30_000_000);
  const a = new Backoff(42);
  const b = new Backoff(42);
  const delays = [];
  for (let n = 0; n < 12; n++) {
    const d = a.nextDelay(500_000, 30_000_000);
    assert.equal(d, b.nextDelay(500_000, 30_000_000));
    assert.ok(Number.isInteger(d) && d >= 0 && d <= backoffWindow(500_000, 30_000_000, n), `${n}: ${d}`);
    delays.push(d);
  }
  const other = new Backoff(43);
  assert.notDeepEqual(delays, delays.map(() => other.nextDelay(500_000, 30_000_000)));
  a.reset();
  assert.ok(a.nextDelay(500_000, 30_000_000) <= 500_000);
  // Many clients spread their first retry over the whole window.
  const firsts = [...Array(1000)].map((_, s) => new Backoff(s).nextDelay(1_000_000, 30_000_000));
  const quarters = [0, 0, 0, 0];
  for (const d of firsts) quarters[Math.min(3, Math.floor(d / 250_000))]++;
  for (const q of quarters) assert.ok(q > 200 && q < 300, `uneven spread ${quarters}`);
});
