// The live-table demo: join with a name, pick 1–6 before the shared
// countdown ends, and watch the committed outcome revealed to everyone at
// the same server instant.

import { connect } from '/sdk/onbeat.js';

const ROOM = 'table';
const TOPIC = 'table/round';
const $ = (id) => document.getElementById(id);

const state = {
  client: null,
  me: null,
  round: null,
  commitment: null,
  picksCloseAt: null,
  revealAt: null,
  pick: null,
  lastPick: null,
  lastReveal: null,
  commitmentOk: null,
  scores: {},
  members: [],
  received: [],
};

/** Read-only view for tests and the curious. */
window.onbeatDemo = Object.freeze({
  get connected() {
    return state.client?.state === 'open';
  },
  get me() {
    return state.me;
  },
  get serverNow() {
    return state.client?.now() ?? null;
  },
  get countdownMs() {
    return countdownMs();
  },
  get round() {
    return state.round;
  },
  get phase() {
    return state.client?.phase(ROOM) ?? null;
  },
  get commitment() {
    return state.commitment;
  },
  get picksCloseAt() {
    return state.picksCloseAt;
  },
  get lastPick() {
    return state.lastPick;
  },
  get presence() {
    return [...state.members];
  },
  get lastReveal() {
    return state.lastReveal;
  },
  get commitmentOk() {
    return state.commitmentOk;
  },
  get scores() {
    return { ...state.scores };
  },
  get clock() {
    const c = state.client;
    return c ? { offset: c.offset, errorBound: c.errorBound, rtt: c.rtt } : null;
  },
});

/** Milliseconds until picks close, by the synced clock; null when unknown. */
function countdownMs() {
  const now = state.client?.now();
  if (now == null || state.picksCloseAt == null) return null;
  return (state.picksCloseAt - now) / 1000;
}

async function sha256Hex(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function join(name) {
  const res = await fetch('/demo/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ?? `the server said ${res.status}`);
  state.me = body.user;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const client = connect(`${scheme}//${location.host}/ws`, { token: body.token });
  state.client = client;
  wire(client);
  client.subscribe(TOPIC);
  $('join').hidden = true;
  $('table').hidden = false;
  $('stat-session').textContent = name;
  requestAnimationFrame(frame);
  setInterval(stats, 500);
}

function wire(client) {
  const status = () => {
    const s = client.state;
    const label = { open: 'live', waiting: 'reconnecting…', closed: 'disconnected' }[s] ?? 'connecting…';
    $('status').textContent = label;
    $('status').dataset.state = s;
  };
  client.on('open', status);
  client.on('close', status);
  client.on('error', (e) => {
    if (e.code === 'unauthorized') $('join-error').textContent = e.message;
  });
  client.on('message', (m) => {
    if (m.topic === TOPIC && m.data && typeof m.data === 'object') onRound(m);
  });
  client.on('presence', (p) => {
    if (p.room !== ROOM) return;
    state.members = [...p.members];
    renderPlayers();
  });
  client.on('phase', renderPhase);
  status();
}

function onRound(m) {
  const d = m.data;
  if (d.type === 'commit') {
    state.round = d.round;
    state.commitment = d.commitment;
    state.picksCloseAt = d.picks_close_at;
    state.revealAt = d.reveal_at;
    state.pick = null;
    state.commitmentOk = null;
    $('round').textContent = d.round;
    $('commitment').textContent = d.commitment;
    $('commitment-check').textContent = 'committed before any pick; revealed at the end';
    $('commitment-check').dataset.ok = '';
    $('outcome').textContent = '?';
    $('outcome').dataset.round = '';
    $('winners').textContent = '';
    $('pick-result').textContent = 'Pick a number.';
    $('pick-result').dataset.outcome = '';
    renderPicks();
  } else if (d.type === 'reveal') {
    // Released by the server at the reveal instant; show it on that instant
    // of the synced clock, so every screen flips together.
    const at = m.at ?? d.reveal_at ?? state.revealAt;
    const show = () => reveal(d);
    if (at == null) show();
    else state.client.at(at, show);
  }
}

async function reveal(d) {
  const hex = await sha256Hex(`${d.round}:${d.outcome}:${d.salt}`);
  const expected = state.round === d.round && state.commitment ? state.commitment : d.commitment;
  const ok = hex === expected && hex === d.commitment;
  state.commitmentOk = ok;
  state.scores = { ...d.scores };
  state.lastReveal = {
    round: d.round,
    outcome: d.outcome,
    salt: d.salt,
    winners: [...d.winners],
    shownAt: state.client.now(),
  };
  const out = $('outcome');
  out.textContent = d.outcome;
  out.dataset.round = d.round;
  out.classList.remove('fresh');
  void out.offsetWidth;
  out.classList.add('fresh');
  const check = $('commitment-check');
  check.dataset.ok = String(ok);
  check.textContent = ok
    ? `✓ SHA-256("${d.round}:${d.outcome}:${d.salt.slice(0, 8)}…") matches the commitment`
    : '✗ the reveal does not match the commitment';
  $('winners').textContent = d.winners.length ? `Winners: ${d.winners.join(', ')} (+5)` : 'No winners this round.';
  renderPlayers();
}

async function pick(k) {
  const client = state.client;
  if (!client) return;
  state.pick = k;
  renderPicks();
  const phase = client.phase(ROOM);
  const round = state.round ?? phase?.round ?? null;
  const result = $('pick-result');
  result.textContent = `Sending ${k}…`;
  result.dataset.outcome = '';
  try {
    await client.input(ROOM, { pick: k }, { round });
    state.lastPick = { pick: k, round, outcome: 'accepted', code: null };
    result.textContent = `Your pick ${k} is in.`;
    result.dataset.outcome = 'accepted';
  } catch (e) {
    const code = e.code ?? 'error';
    state.lastPick = { pick: k, round, outcome: 'rejected', code };
    const why = { late: 'too late: picks had closed', not_open: 'picks are not open yet' }[code] ?? code;
    result.textContent = `Pick ${k} rejected (${code}): ${why}.`;
    result.dataset.outcome = 'rejected';
  }
}

function renderPhase() {
  const p = state.client.phase(ROOM);
  const el = $('phase');
  el.textContent = p ? p.name : 'waiting';
  el.dataset.phase = p?.name ?? '';
  if (p && state.round == null) $('round').textContent = p.round;
}

function renderPicks() {
  for (const b of document.querySelectorAll('#picks button')) {
    b.classList.toggle('chosen', Number(b.dataset.pick) === state.pick);
  }
}

function renderPlayers() {
  const ul = $('presence');
  ul.replaceChildren(
    ...state.members.map((m) => {
      const li = document.createElement('li');
      li.dataset.member = m;
      li.className = m === state.me ? 'me' : '';
      const name = document.createElement('span');
      name.textContent = m;
      const score = document.createElement('b');
      score.textContent = String(state.scores[m] ?? 0);
      li.append(name, score);
      return li;
    }),
  );
  $('player-count').textContent = state.members.length;
}

/** What the big clock counts down to now: picks closing, the reveal, or the next round. */
function countdownTarget(now) {
  if (state.picksCloseAt != null && now < state.picksCloseAt) return ['picks close in', state.picksCloseAt];
  if (state.revealAt != null && now < state.revealAt) return ['outcome revealed in', state.revealAt];
  const phase = state.client.phase(ROOM);
  if (phase && phase.name !== 'picks' && now < phase.endsAt) return ['next round in', phase.endsAt];
  return ['waiting for the next round', null];
}

/** Redraws the countdown every animation frame from the synced clock. */
function frame() {
  const now = state.client?.now();
  const ms = countdownMs();
  const open = ms != null && ms > 0;
  if (now != null) {
    const [label, at] = countdownTarget(now);
    $('countdown-label').textContent = label;
    const left = at == null ? null : (at - now) / 1e6;
    $('countdown').textContent = left == null ? '–' : `${left.toFixed(1)} s`;
    $('countdown').classList.toggle('idle', !open);
  }
  const phase = state.client?.phase(ROOM);
  const total = phase && phase.name === 'picks' ? (phase.endsAt - phase.startsAt) / 1000 : null;
  $('countdown-bar').style.width = open && total ? `${Math.min(100, (100 * ms) / total)}%` : '0%';
  $('picks').classList.toggle('closed', !open);
  if (phase && $('phase').dataset.phase !== phase.name) renderPhase();
  requestAnimationFrame(frame);
}

function stats() {
  const c = state.client;
  // Frames received per second, over the last five seconds.
  state.received.push(c.stats.received);
  if (state.received.length > 11) state.received.shift();
  const span = (state.received.length - 1) / 2;
  const rate = span > 0 ? (state.received[state.received.length - 1] - state.received[0]) / span : 0;
  $('stat-rate').textContent = rate.toFixed(1);
  if (c.rtt != null) $('stat-rtt').textContent = `${(c.rtt / 1000).toFixed(1)} ms`;
  // The server's clock against this device's wall clock, read together.
  const server = c.now();
  const bound = c.errorBound;
  if (server != null) {
    const offset = server / 1000 - Date.now();
    const b = bound === Infinity ? '∞' : `${(bound / 1000).toFixed(1)} ms`;
    $('stat-offset').textContent = `${offset >= 0 ? '+' : ''}${offset.toFixed(1)} ms ± ${b}`;
  }
}

$('join-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = $('name').value.trim();
  $('join-error').textContent = '';
  $('join-button').disabled = true;
  try {
    await join(name);
  } catch (e) {
    $('join-error').textContent = e.message;
    $('join-button').disabled = false;
  }
});

for (const b of document.querySelectorAll('#picks button')) {
  b.addEventListener('click', () => pick(Number(b.dataset.pick)));
}
