// The SDK against a running server (ONBEAT_URL), from node: resume with
// exact recovery, input outcomes, refused subscriptions and bad tokens.
// Needs a global WebSocket (node ≥ 22, or node 20 with --experimental-websocket).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../public/sdk/onbeat.js';

const BASE = process.env.ONBEAT_URL ?? 'http://127.0.0.1:7700';
const WAIT_MS = 15_000;

async function token(name) {
  const res = await fetch(`${BASE}/demo/token`, { method: 'POST', body: JSON.stringify({ name }) });
  assert.equal(res.status, 200);
  return (await res.json()).token;
}

/** Resolves with the first event of `type` that passes `pick`. */
function next(client, type, pick = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} within ${WAIT_MS} ms`)), WAIT_MS);
    const off = client.on(type, (e) => {
      if (!pick(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

const round = (c) => next(c, 'message', (m) => m.data?.type === 'commit');

/** A dropped connection resumes the session and recovers the topic exactly. */
async function resumes() {
  const client = connect(`${BASE}/ws`, { token: await token('sdk-resume'), seed: 1 });
  try {
    const offsets = [];
    client.subscribe('table/round', { onMessage: (m) => offsets.push(m.offset) });
    await next(client, 'open');
    await round(client);
    const session = client.session.id;
    client.ws.close(); // the network drops it; the client does not know why
    const opened = await next(client, 'open');
    assert.equal(opened.resumed, true);
    assert.equal(client.session.id, session);
    const sub = await next(client, 'subscribed');
    assert.equal(sub.recovered, true);
    await round(client);
    // Every offset once, in order, across the drop.
    offsets.forEach((o, i) => i > 0 && assert.equal(o, offsets[i - 1] + 1, `offsets ${offsets}`));
    assert.equal(client.stats.resumes, 1);
  } finally {
    client.close();
  }
}

/** Inputs: accepted while picks are open, invalid content, late for a past round. */
async function inputs() {
  const client = connect(`${BASE}/ws`, { token: await token('sdk-input'), seed: 2 });
  try {
    client.subscribe('table/round');
    const commit = (await round(client)).data;
    assert.equal(await client.input('table', { pick: 2 }, { round: commit.round }), 'accepted');
    const refused = (data, opts) => client.input('table', data, opts).then(
      () => 'accepted',
      (e) => e.code,
    );
    assert.equal(await refused({ pick: 7 }, { round: commit.round }), 'invalid');
    assert.equal(await refused({ pick: 'x' }, { round: commit.round }), 'invalid');
    const later = (await round(client)).data;
    assert.ok(later.round > commit.round);
    assert.equal(await refused({ pick: 1 }, { round: commit.round }), 'late');
    assert.equal(await refused({ pick: 1 }, { round: later.round }), 'accepted');
  } finally {
    client.close();
  }
}

/** A topic outside the token is refused, naming it. */
async function refusedTopic() {
  const client = connect(`${BASE}/ws`, { token: await token('sdk-forbidden'), seed: 3 });
  try {
    const sub = client.subscribe('elsewhere/secret');
    await assert.rejects(sub.ready, (e) => e.code === 'forbidden');
  } finally {
    client.close();
  }
}

/** A forged token is refused and the client stops. */
async function forgedToken() {
  const [head, body] = (await token('sdk-forged')).split('.');
  const client = connect(`${BASE}/ws`, { token: `${head}.${body}.AAAA`, seed: 4 });
  const closed = await next(client, 'close', (c) => c.reconnectIn === null);
  assert.equal(closed.fatal, 'unauthorized');
  assert.equal(client.state, 'closed');
}

// Independent clients side by side, so the rounds they wait for overlap.
test('the SDK against the server', { concurrency: true }, async (t) => {
  await Promise.all([
    t.test('a dropped connection resumes the session and recovers the topic exactly', resumes),
    t.test('inputs: accepted while picks are open, invalid content, late for a past round', inputs),
    t.test('a topic outside the token is refused, naming it', refusedTopic),
    t.test('a forged token is refused and the client stops', forgedToken),
  ]);
});
