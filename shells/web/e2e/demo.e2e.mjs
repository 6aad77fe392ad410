// Two Chromium pages play the live-table demo against a running server
// (ONBEAT_URL) with short rounds: they see each other, their countdowns
// agree, a late pick is refused, and both see the same verified outcome.
// Run by scripts/test-browser, which starts the server.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const BASE = process.env.ONBEAT_URL ?? 'http://127.0.0.1:7700';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOT = process.env.SCREENSHOT ?? '';
/** The countdowns of two pages, taken at the same instant, differ by less than this. */
const AGREE_MS = 50;
const WAIT = { timeout: 20_000, polling: 20 };

async function join(browser, name) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(BASE);
  await page.fill('#name', name);
  await page.click('#join-button');
  await page.waitForFunction(() => window.onbeatDemo.connected, null, WAIT);
  return { page, name, problems };
}

/**
 * Samples an expression in both pages and brings the results to one instant:
 * each page reports its value with the wall clock (ms) it read it at, and a
 * countdown shrinks by exactly the time that passed between the two readings.
 */
async function sampleBoth(a, b, expr) {
  const read = (p) =>
    p.page.evaluate((e) => ({ value: eval(e), wall: performance.timeOrigin + performance.now() }), expr);
  const [x, y] = await Promise.all([read(a), read(b)]);
  return { a: x.value, b: y.value, skew: y.wall - x.wall };
}

test('two players share one table: presence, countdown, late pick, verified reveal', async () => {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const alice = await join(browser, 'alice');
    const bob = await join(browser, 'bob');
    const both = [alice, bob];

    // Presence: each sees both.
    for (const p of both) {
      await p.page.waitForFunction(
        () => ['alice', 'bob'].every((n) => window.onbeatDemo.presence.includes(n)),
        null,
        WAIT,
      );
      const listed = await p.page.$$eval('#presence li', (lis) => lis.map((li) => li.dataset.member));
      assert.deepEqual([...listed].sort(), ['alice', 'bob'], `${p.name}'s player list`);
    }

    // Wait for a round whose picks are open with time to spare.
    for (const p of both) {
      await p.page.waitForFunction(
        () => window.onbeatDemo.clock?.rtt != null && window.onbeatDemo.countdownMs > 1200,
        null,
        WAIT,
      );
    }
    const round = await alice.page.evaluate(() => window.onbeatDemo.round);
    assert.equal(await bob.page.evaluate(() => window.onbeatDemo.round), round);

    // Countdowns agree when read at the same instant.
    let worst = 0;
    for (let i = 0; i < 5; i++) {
      const s = await sampleBoth(alice, bob, 'window.onbeatDemo.countdownMs');
      const diff = Math.abs(s.a - (s.b + s.skew));
      worst = Math.max(worst, diff);
      assert.ok(diff < AGREE_MS, `countdowns differ by ${diff.toFixed(1)} ms`);
    }
    console.log(`countdowns agree within ${worst.toFixed(2)} ms`);

    // Both pick while picks are open.
    await alice.page.click('#pick-3');
    await bob.page.click('#pick-5');
    for (const p of both) {
      await p.page.waitForFunction(() => window.onbeatDemo.lastPick?.outcome === 'accepted', null, WAIT);
    }

    // After the deadline (by the synced clock, with the error bound to spare)
    // the server refuses a pick as late.
    await alice.page.waitForFunction(
      () => window.onbeatDemo.countdownMs < -(window.onbeatDemo.clock.errorBound / 1000) - 50,
      null,
      WAIT,
    );
    await alice.page.click('#pick-4');
    await alice.page.waitForFunction(() => window.onbeatDemo.lastPick?.outcome === 'rejected', null, WAIT);
    const late = await alice.page.evaluate(() => window.onbeatDemo.lastPick);
    assert.equal(late.code, 'late');
    assert.equal(late.round, round);
    assert.match(await alice.page.textContent('#pick-result'), /late/);

    // The reveal: same outcome on both, committed hash verified, shown together.
    for (const p of both) {
      await p.page.waitForFunction((r) => window.onbeatDemo.lastReveal?.round === r, round, WAIT);
    }
    const reveals = await Promise.all(both.map((p) => p.page.evaluate(() => window.onbeatDemo.lastReveal)));
    assert.equal(reveals[0].outcome, reveals[1].outcome);
    assert.ok(reveals[0].outcome >= 1 && reveals[0].outcome <= 6);
    assert.equal(reveals[0].salt, reveals[1].salt);
    for (const p of both) {
      assert.equal(await p.page.evaluate(() => window.onbeatDemo.commitmentOk), true, `${p.name}'s check`);
      assert.match(await p.page.textContent('#commitment-check'), /✓/);
      assert.equal(await p.page.textContent('#outcome'), String(reveals[0].outcome));
    }
    const apart = Math.abs(reveals[0].shownAt - reveals[1].shownAt) / 1000;
    assert.ok(apart < 100, `reveal shown ${apart} ms apart (server time)`);
    console.log(`outcome ${reveals[0].outcome} shown ${apart.toFixed(1)} ms apart`);
    // Scoring: a correct pick is worth 5 points.
    const scores = await alice.page.evaluate(() => window.onbeatDemo.scores);
    assert.equal(scores.alice ?? 0, reveals[0].outcome === 3 ? 5 : 0);
    assert.equal(scores.bob ?? 0, reveals[0].outcome === 5 ? 5 : 0);

    if (SCREENSHOT) {
      await alice.page.waitForTimeout(600); // let the outcome's entrance settle
      await alice.page.screenshot({ path: SCREENSHOT });
      console.log(`screenshot: ${SCREENSHOT}`);
    }
    for (const p of both) assert.deepEqual(p.problems, [], `${p.name}'s page errors`);
  } finally {
    await browser.close();
  }
});
