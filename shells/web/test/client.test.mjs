// The Client against a scripted server: handshake, recovery, resume,
// request outcomes, presence, reconnect backoff and the synced clock.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, connect } from '../public/sdk/onbeat.js';
import { FakeNet, FakeTime, settle } from './fake.mjs';

const SEED = 7;

function setup(extra = {}) {
  const time = new FakeTime();
  const net = new FakeNet();
  const client = connect('ws://127.0.0.1:7700/ws', {
    token: 'jwt.x.y',
    seed: SEED,
    WebSocket: net.WebSocket,
    now: time.now,
    setTimeout: time.setTimeout,
    clearTimeout: time.clearTimeout,
    ...extra,
  });
  return { time, net, client };
}

function welcome(ws, session = 's-1', resume = 'r-1') {
  ws.open();
  const hello = ws.take();
  ws.recv({ welcome: { version: 1, session, resume, clock: 5, max_frame: 65536 } });
  return hello;
}

const deliver = (topic, epoch, offset, data) => ({ deliver: { topic, epoch, offset, at: null, data } });
const sent = (ws, name) => ws.take().filter(([n]) => n === name).map(([, b]) => b);

test('connects with the token and subprotocol, says hello, then subscribes', () => {
  const { net, client } = setup();
  const ws = net.last;
  assert.equal(ws.url, 'ws://127.0.0.1:7700/ws?token=jwt.x.y');
  assert.equal(ws.protocol, 'onbeat.json.v1');
  client.subscribe('table/round');
  assert.deepEqual(ws.take(), [], 'nothing before the session opens');
  const hello = welcome(ws);
  assert.deepEqual(hello, [['hello', { version: 1, resume: null, auth: null }]]);
  assert.equal(client.state, 'open');
  assert.deepEqual(sent(ws, 'subscribe'), [{ topic: 'table/round', since: null }]);
});

test('each message once, in order; a skip on a reliable topic resubscribes from the cursor', () => {
  const { net, client } = setup();
  const got = [];
  const sub = client.subscribe('table/round', { onMessage: (m) => got.push(m.offset) });
  const ws = net.last;
  welcome(ws);
  ws.take();
  ws.recv({ subscribed: { topic: 'table/round', position: { epoch: 9, offset: 4 }, recovered: false, reason: null } });
  ws.recv(deliver('table/round', 9, 4, { n: 4 }));
  ws.recv(deliver('table/round', 9, 4, { n: 4 }));
  ws.recv(deliver('table/round', 9, 5, { n: 5 }));
  assert.deepEqual(got, [4, 5]);
  assert.equal(client.stats.duplicates, 1);
  assert.deepEqual(sub.position, { epoch: 9, offset: 6 });
  ws.recv(deliver('table/round', 9, 8, { n: 8 }));
  assert.deepEqual(got, [4, 5], 'an unannounced skip is not delivered');
  assert.deepEqual(sent(ws, 'subscribe'), [{ topic: 'table/round', since: { epoch: 9, offset: 6 } }]);
});

test('a lossy topic reports gaps, announced or not', () => {
  const { net, client } = setup();
  const gaps = [];
  client.on('gap', (g) => gaps.push([g.from, g.to]));
  client.subscribe('table/cursor', { lossy: true });
  const ws = net.last;
  welcome(ws);
  ws.recv({ subscribed: { topic: 'table/cursor', position: { epoch: 1, offset: 0 }, recovered: false, reason: null } });
  ws.recv({ gap: { topic: 'table/cursor', epoch: 1, from: 0, to: 3 } });
  ws.recv(deliver('table/cursor', 1, 5, 1));
  assert.deepEqual(gaps, [
    [0, 3],
    [3, 5],
  ]);
});

test('after a drop: backoff, hello with the resume token, resubscribe with since, in-doubt input resent', async () => {
  const { time, net, client } = setup();
  const events = [];
  client.on('subscribed', (s) => events.push(s));
  client.subscribe('table/round');
  let ws = net.last;
  welcome(ws, 's-1', 'r-1');
  ws.take();
  ws.recv({ subscribed: { topic: 'table/round', position: { epoch: 3, offset: 10 }, recovered: false, reason: null } });
  ws.recv(deliver('table/round', 3, 10, 'a'));
  const pick = client.input('table', { pick: 4 }, { round: 2 });
  const [input] = sent(ws, 'input');
  assert.deepEqual(input, { room: 'table', request: 0, round: 2, data: { pick: 4 } });

  let closed;
  client.on('close', (c) => (closed = c));
  ws.drop(1006);
  assert.equal(client.state, 'waiting');
  // The delay is the seeded backoff's first draw, within [0, 500 ms].
  const expected = new Backoff(SEED).nextDelay(500_000, 30_000_000);
  assert.equal(closed.reconnectIn, expected);
  time.advance(expected - 1);
  assert.equal(net.sockets.length, 1, 'not before the backoff is over');
  time.advance(1_000); // timers have millisecond resolution
  assert.equal(net.sockets.length, 2);
  ws = net.last;
  const hello = welcome(ws, 's-1', 'r-2');
  assert.deepEqual(hello, [['hello', { version: 1, resume: 'r-1', auth: null }]]);
  const out = ws.take();
  assert.deepEqual(out.find(([n]) => n === 'subscribe')[1], { topic: 'table/round', since: { epoch: 3, offset: 11 } });
  assert.deepEqual(out.find(([n]) => n === 'input')[1], input, 'same request id: the server answers, not rejudges');
  ws.recv({ subscribed: { topic: 'table/round', position: { epoch: 3, offset: 12 }, recovered: true, reason: null } });
  assert.equal(events.at(-1).recovered, true);
  ws.recv({ input_result: { request: 0, outcome: 'accepted' } });
  assert.equal(await pick, 'accepted');
  // A second answer to the same request (queued and resent both arriving) is ignored.
  ws.recv({ input_result: { request: 0, outcome: { rejected: 'late' } } });
  assert.equal(client.stats.resumes, 1);
});

test('a new session rejects in-doubt requests as lost and says why recovery failed', async () => {
  const { time, net, client } = setup();
  const events = [];
  client.on('subscribed', (s) => events.push(s));
  client.subscribe('table/round');
  let ws = net.last;
  welcome(ws, 's-1');
  ws.recv({ subscribed: { topic: 'table/round', position: { epoch: 3, offset: 0 }, recovered: false, reason: null } });
  const pick = client.input('table', { pick: 1 });
  ws.drop();
  time.advance(1_000_000);
  ws = net.last;
  welcome(ws, 's-2');
  await assert.rejects(pick, (e) => e.code === 'lost');
  assert.deepEqual(sent(ws, 'input'), [], 'a lost request is not sent to a session that never saw it');
  ws.recv({ subscribed: { topic: 'table/round', position: { epoch: 4, offset: 0 }, recovered: false, reason: 'epoch_changed' } });
  assert.equal(events.at(-1).reason, 'epoch_changed');
  assert.equal(events.at(-1).recovered, false);
});

test('input outcomes: accepted, each reject code, and error frames', async () => {
  const { net, client } = setup();
  const ws = net.last;
  welcome(ws);
  const codes = ['late', 'not_open', 'rate_limited', 'forbidden', 'invalid'];
  const asks = codes.map((_, i) => client.input('table', { pick: i + 1 }));
  const ok = client.input('table', { pick: 6 });
  const inputs = sent(ws, 'input');
  assert.equal(inputs.length, 6);
  codes.forEach((code, i) => ws.recv({ input_result: { request: inputs[i].request, outcome: { rejected: code } } }));
  ws.recv({ input_result: { request: inputs[5].request, outcome: 'accepted' } });
  for (const [i, code] of codes.entries()) await assert.rejects(asks[i], (e) => e.code === code);
  assert.equal(await ok, 'accepted');
  const room = client.input('nowhere', 1);
  const [req] = sent(ws, 'input');
  ws.recv({ error: { code: 'unknown_room', request: req.request, message: 'no such room' } });
  await assert.rejects(room, (e) => e.code === 'unknown_room');
  const pub = client.publish('table/chat', { text: 'hi' });
  const [p] = sent(ws, 'publish');
  ws.recv({ publish_ack: { request: p.request, position: { epoch: 2, offset: 7 } } });
  assert.deepEqual(await pub, { epoch: 2, offset: 7 });
});

test('a refused subscribe rejects its ready promise with the error naming its topic', async () => {
  const { net, client } = setup();
  const ws = net.last;
  welcome(ws);
  const sub = client.subscribe('table/secret');
  ws.recv({ error: { code: 'forbidden', request: null, message: 'not yours', topic: 'table/secret' } });
  await assert.rejects(sub.ready, (e) => e.code === 'forbidden');
});

test('presence: snapshots over several frames, joins and leaves', () => {
  const { net, client } = setup();
  const ws = net.last;
  welcome(ws);
  const seen = [];
  client.on('presence', (p) => seen.push(p.members));
  const snap = (members, more) => ({ presence: { room: 'table', event: { snapshot: { members, more } } } });
  ws.recv(snap(['a', 'b'], true));
  assert.deepEqual(seen, [], 'incomplete until the last frame');
  ws.recv(snap(['c'], false));
  ws.recv({ presence: { room: 'table', event: { join: 'd' } } });
  ws.recv({ presence: { room: 'table', event: { leave: 'a' } } });
  assert.deepEqual(seen, [
    ['a', 'b', 'c'],
    ['a', 'b', 'c', 'd'],
    ['b', 'c', 'd'],
  ]);
  assert.deepEqual(client.members('table'), ['b', 'c', 'd']);
});

test('a policy close (bad token) stops reconnecting and rejects what is pending', async () => {
  const { time, net, client } = setup();
  const ws = net.last;
  ws.open();
  const pick = client.input('table', 1);
  ws.recv({ error: { code: 'unauthorized', request: null, message: 'token expired' } });
  ws.drop(1008, 'unauthorized');
  assert.equal(client.state, 'closed');
  await assert.rejects(pick, (e) => e.code === 'unauthorized');
  time.advance(120_000_000);
  assert.equal(net.sockets.length, 1);
});

test('the clock syncs from pongs, and at() fires when the synced clock reaches a server time', async () => {
  const { time, net, client } = setup();
  const ws = net.last;
  const offset = 7_000_000_000;
  // The server answers each ping as it is sent: 10 ms each way, its clock
  // reading local + offset.
  const send = ws.send.bind(ws);
  ws.send = (text) => {
    send(text);
    const ping = JSON.parse(text).ping;
    if (!ping) return;
    const t2 = time.t + 10_000 + offset;
    time.setTimeout(() => ws.recv({ pong: { seq: ping.seq, t1: ping.t1, t2, t3: t2, clock: 5 } }), 20);
  };
  welcome(ws);
  assert.equal(client.now(), null);
  time.advance(5_000_000);
  assert.ok(client.synced);
  assert.ok(Math.abs(client.now() - (time.t + offset)) <= 2, `${client.now() - time.t - offset}`);
  // Half the round trip, plus 500 ppm of drift allowance since the last sample.
  assert.ok(client.errorBound >= 10_000 && client.errorBound <= 11_000, `${client.errorBound}`);
  assert.equal(client.rtt, 20_000);
  const target = client.now() + 300_000;
  let firedAt = null;
  client.at(target, () => (firedAt = client.now()));
  time.advance(299_000);
  assert.equal(firedAt, null, 'never early');
  time.advance(2_000);
  assert.ok(firedAt >= target && firedAt - target < 2_000, `${firedAt - target}`);
  await settle();
});

test('a sleep (monotonic clock stood still while the wall clock ran) drops the clock samples', () => {
  let wall = 0;
  const { time, net, client } = setup({ wallNow: () => wall });
  const ws = net.last;
  const send = ws.send.bind(ws);
  ws.send = (text) => {
    send(text);
    const ping = JSON.parse(text).ping;
    if (!ping) return;
    const t2 = time.t + 5_000 + 1_000_000;
    time.setTimeout(() => ws.recv({ pong: { seq: ping.seq, t1: ping.t1, t2, t3: t2, clock: 5 } }), 10);
  };
  welcome(ws);
  const step = (us) => {
    wall += us;
    time.advance(us);
  };
  for (let i = 0; i < 30; i++) step(100_000);
  assert.ok(client.errorBound < 10_000);
  const events = [];
  client.on('clock', (e) => events.push(e.type));
  // Asleep for a minute: the wall clock moves, the monotonic one does not.
  wall += 60_000_000;
  step(1_005_000);
  assert.ok(events.includes('discontinuity'), `${events}`);
  assert.equal(client.errorBound, Infinity, 'unknown until a fresh sample');
  step(20_000);
  assert.ok(client.errorBound < 10_000, 'resampled at once after waking');
  assert.equal(client.clock.samples() > 0, true);
});
