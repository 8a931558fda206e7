// The stats page in a real browser (Debian's Chromium driven by playwright-core): it
// loads with no external asset, shows the numbers /metrics shows, and the chart has
// points. Takes a screenshot; `WARMSHAKE_UPDATE_SCREENSHOT=1 npm test` refreshes the one
// kept in docs/ (otherwise the test leaves the checkout as it found it).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { tempDir } from '../helpers/certs.ts';
import { freePort } from '../../bench/ports.ts';
import { eventually, handshake, startHarness } from './helpers.ts';
import { parsePrometheus, sumOf } from './prom-parser.ts';

const CHROMIUM = '/usr/bin/chromium';
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../docs/stats-page.png', import.meta.url));
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

test('the stats page shows the handshake counts of /metrics and a chart with data', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing` }, async (t) => {
  // A second server nobody listens on: the page must say it is DOWN, since when and why.
  const h = await startHarness(t, {
    tickets: { enabled: false }, servers: [{ name: 's2', address: `127.0.0.1:${await freePort()}` }],
    backend: { health_check: { interval: '200ms', rise: 1, fall: 1, timeout: '500ms' } },
  });
  const first = await handshake(h.port);
  await handshake(h.port);
  for (let i = 0; i < 5; i++) assert.equal((await handshake(h.port, first.session)).resumed, true);
  const metrics = await eventually(async () => {
    const m = parsePrometheus((await h.get('/metrics')).body);
    return sumOf(m, 'warmshake_handshakes_total') === 7 ? m : undefined;
  }, '/metrics counting 7 handshakes');
  const resumed = sumOf(metrics, 'warmshake_handshakes_total', { frontend: 'https', result: 'resumed' });
  const full = sumOf(metrics, 'warmshake_handshakes_total', { frontend: 'https', result: 'full' });
  assert.deepEqual([full, resumed], [2, 5]);

  const context = await chromium.launchPersistentContext(tempDir(t, 'warmshake-chromium-'), {
    executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 },
  });
  t.after(() => context.close());
  const page = context.pages()[0] ?? await context.newPage();
  const external: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => { if (!r.url().startsWith(h.base)) external.push(r.url()); });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`${h.base}/`);

  const card = page.locator('section[data-frontend="https"]');
  await card.locator('[data-metric="resumed"]').filter({ hasText: String(resumed) }).waitFor({ timeout: 15_000 });
  assert.equal((await card.locator('[data-metric="resumed"]').textContent())?.trim(), String(resumed));
  assert.equal((await card.locator('[data-metric="full"]').textContent())?.trim(), String(full));
  assert.equal((await card.locator('[data-metric="reuse"]').textContent())?.trim(), `${Math.round(resumed / (full + resumed) * 1000) / 10}%`);
  // The history samples once a second; the chart's points come from it.
  await card.locator('svg.chart circle.point').first().waitFor({ timeout: 15_000 });
  const points = Number(await card.locator('svg.chart polyline.ratio').getAttribute('data-points'));
  assert.ok(points >= 1, `chart points: ${points}`);
  const after = parsePrometheus((await h.get('/metrics')).body);
  const entries = sumOf(after, 'warmshake_session_cache_entries');
  assert.match((await page.locator('[data-metric="cache-fill"]').textContent()) ?? '', new RegExp(`^${entries} of 1,000 sessions`));
  assert.match((await page.locator('#alert').textContent()) ?? '', /Resumption OK/);
  assert.equal(await page.locator('#keys td[data-metric="key-age"]').count(), sumOf(after, 'warmshake_ticket_keys'));
  const down = page.locator('td[data-server="app/s2"]');
  await down.filter({ hasText: /^DOWN/ }).waitFor({ timeout: 15_000 });
  assert.match((await down.textContent()) ?? '', /^DOWN for [^:]+: 1 failures in a row, last: .*ECONNREFUSED/);
  assert.match((await page.locator('td[data-server="app/s1"]').textContent()) ?? '', /^UP for [^:]+$/);
  await page.screenshot({ path: process.env.WARMSHAKE_UPDATE_SCREENSHOT === '1' ? DOCS_SCREENSHOT : join(tempDir(t), 'stats-page.png'), fullPage: true });
  assert.deepEqual(external, [], 'no request leaves the admin server');
  assert.deepEqual(errors, []);
});
