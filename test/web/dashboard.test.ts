// The dashboard in a real browser: Chromium driven by playwright-core against a real daemon
// (`tend up --http 127.0.0.1:0`) with real replicas. Every wait has a deadline; nothing sleeps.
// Screenshots of the main views go to test-artifacts/ (and docs/img/ with TEND_SCREENSHOTS=docs).

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixture, specDir, waitFor } from '../helpers/index.js';
import { openBrowser, openDashboard, screenshot, selectService, startHttpDaemon } from './helpers.js';

const forever = (extra = '') => `command: ${JSON.stringify(fixture('forever.mjs'))}\n${extra}`;

test('the token is required: the API answers 401 without it and the page asks for it', async (t) => {
  const { dir, state } = specDir(t, { 'web.yaml': forever('labels: { team: web }\n') });
  const d = await startHttpDaemon(t, dir, state);
  const { page } = await openBrowser(t);

  await page.goto(d.url);
  await page.getByText('This dashboard needs its access token.').waitFor({ timeout: 15_000 });
  const status = await page.evaluate(async () => (await fetch('/v1/status')).status);
  assert.equal(status, 401);
  await screenshot(page, 'dashboard-login');

  await page.getByLabel('Token').fill('not-the-token');
  await page.getByRole('button', { name: 'Open dashboard' }).click();
  await page.getByText('The daemon refused that token (401).').waitFor({ timeout: 10_000 });

  await page.getByLabel('Token').fill(d.token);
  await page.getByRole('button', { name: 'Open dashboard' }).click();
  await page.locator('tr[data-service="web"]').waitFor({ timeout: 10_000 });

  // From `tend dashboard`'s URL: the token is taken out of the address bar at once.
  await page.goto(`${d.url}#token=${d.token}`);
  await page.locator('tr[data-service="web"]').waitFor({ timeout: 10_000 });
  assert.ok(!page.url().includes(d.token), page.url());
});

test('a crash appears in the page within a second', async (t) => {
  const { dir, state } = specDir(t, { 'web.yaml': forever('replicas: 2\n') });
  const d = await startHttpDaemon(t, dir, state);
  const running = await waitFor(async () => {
    const s = await d.api.service('web');
    return s.ready === 2 ? s : undefined;
  }, { what: 'web 2/2 ready', timeoutMs: 15_000, intervalMs: 50 });
  const { page } = await openBrowser(t);
  await openDashboard(page, d);
  await selectService(page, 'web');
  await page.getByTestId('stream-state').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });

  const pid = running.replicas[0]!.pid!;
  process.kill(pid, 'SIGKILL');
  // The deadline is the requirement: the event is on screen within 1 s of the crash.
  await page.locator('.event.t-replica-exited', { hasText: 'web/0' }).first().waitFor({ timeout: 1000 });
  // And the replica row follows: a new pid once restarted.
  await waitFor(async () => {
    const text = await page.locator('[data-replica="0"]').innerText();
    return /running/.test(text) && !text.includes(String(pid));
  }, { what: 'web/0 running again with a new pid', timeoutMs: 15_000, intervalMs: 50 });
});

test('scale from the page: the diff is shown, Apply edits the file and the replicas follow (keyboard only)', async (t) => {
  const text = `# the web tier\n${forever('replicas: 1   # keep this comment\nlabels: { team: web, tier: front }\n')}`;
  const { dir, state } = specDir(t, {
    'web.yaml': text,
    'db.yaml': forever('labels: { team: data }\n'),
    'api.yaml': forever('depends_on: { db: started }\n'),
    'edge.yaml': forever('depends_on: { api: started, web: started }\n'),
  });
  const d = await startHttpDaemon(t, dir, state);
  const { page } = await openBrowser(t);
  await openDashboard(page, d);
  await page.locator('tr[data-service="web"] th button').focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: /^web / }).waitFor({ timeout: 10_000 });

  await page.getByRole('button', { name: 'Scale…' }).focus();
  await page.keyboard.press('Enter');
  const input = page.getByRole('spinbutton', { name: 'Replicas' });
  await input.waitFor({ timeout: 5000 });
  await input.fill('3');
  await page.keyboard.press('Enter');
  const diff = page.locator('pre.diff');
  await diff.waitFor({ timeout: 10_000 });
  assert.match(await diff.innerText(), /-replicas: 1 {3}# keep this comment\n\+replicas: 3 {3}# keep this comment/);
  assert.equal(readFileSync(join(dir, 'web.yaml'), 'utf8'), text, 'nothing is written before Apply');
  await screenshot(page, 'dashboard-scale');

  await page.getByRole('button', { name: 'Apply' }).focus();
  await page.keyboard.press('Enter');
  await page.getByText('web scaled to 3').waitFor({ timeout: 10_000 });
  assert.equal(readFileSync(join(dir, 'web.yaml'), 'utf8'), text.replace('replicas: 1', 'replicas: 3'));
  await page.getByTestId('detail-ready').filter({ hasText: '3/3 ready' }).waitFor({ timeout: 20_000 });
  assert.equal(await page.locator('.replica').count(), 3);
  await page.locator('.graph .edge[data-edge="db->api"] text', { hasText: 'started' }).waitFor({ timeout: 5000 });
  await screenshot(page, 'dashboard');

  // An error from the API is shown in the dialog (a replica that does not exist).
  await page.locator('[data-replica="2"] button', { hasText: 'restart' }).click();
  await page.getByRole('dialog').waitFor();
  writeFileSync(join(dir, 'web.yaml'), text); // back to 1 replica while the dialog is open
  await page.getByTestId('detail-ready').filter({ hasText: '1/1 ready' }).waitFor({ timeout: 20_000 });
  // "1/1 ready" shows while web/2 may still be stopping: the daemon still knows it until it is gone.
  await waitFor(async () => (await d.api.service('web')).replicas.every((r) => r.index !== 2), { what: 'web/2 gone', timeoutMs: 20_000 });
  await page.getByRole('dialog').getByRole('button', { name: 'Restart' }).click();
  await page.getByRole('dialog').getByRole('alert').filter({ hasText: 'no replica 2' }).waitFor({ timeout: 10_000 });
  await page.keyboard.press('Escape');

  await page.getByRole('button', { name: /^theme:/ }).click(); // auto → light
  await page.getByRole('button', { name: /^theme:/ }).click(); // light → dark
  // The click itself sets <html data-theme> (not an effect after the next frame), so it is read at once.
  assert.equal(await page.locator('html').getAttribute('data-theme'), 'dark');
  await screenshot(page, 'dashboard-dark');
});

test('the log tail streams, pauses and resumes, and searches', async (t) => {
  const { dir, state } = specDir(t, { 'talk.yaml': `command: ${JSON.stringify(fixture('print-lines.mjs', 0, 50))}\nreplicas: 2\n` });
  const d = await startHttpDaemon(t, dir, state);
  const { page } = await openBrowser(t);
  await openDashboard(page, d);
  await selectService(page, 'talk');
  const lines = page.locator('.logline');
  const lastNumber = async () => {
    const all = await lines.allInnerTexts();
    const nums = all.map((l) => /^talk\/\d \| line (\d+)$/.exec(l)?.[1]).filter((n) => n !== undefined).map(Number);
    return nums.length > 0 ? Math.max(...nums) : -1;
  };
  const first = await waitFor(async () => ((await lastNumber()) >= 0 ? lastNumber() : undefined), { what: 'a log line', timeoutMs: 15_000, intervalMs: 50 });
  await waitFor(async () => (await lastNumber()) > first + 5, { what: 'newer log lines', timeoutMs: 10_000, intervalMs: 50 });
  assert.ok((await lines.allInnerTexts()).some((l) => l.startsWith('talk/1 | ')), 'both replicas, prefixed');

  await page.getByRole('button', { name: 'Pause tail' }).click();
  const frozen = await lastNumber();
  await page.getByTestId('log-state').filter({ hasText: /paused \(\d+ new\)/ }).waitFor({ timeout: 10_000 });
  assert.equal(await lastNumber(), frozen, 'nothing is added while paused');
  await page.getByRole('button', { name: 'Resume tail' }).click();
  await waitFor(async () => (await lastNumber()) > frozen, { what: 'the held lines after resume', timeoutMs: 10_000, intervalMs: 50 });

  await page.getByLabel('search the log').fill('line 1');
  await waitFor(async () => {
    const shown = await lines.allInnerTexts();
    return shown.length > 0 && shown.every((l) => l.includes('line 1'));
  }, { what: 'only matching lines', timeoutMs: 10_000, intervalMs: 50 });
  assert.ok((await page.locator('.logline mark').count()) > 0);
});

test('a bad spec shows its file:line in the page, live', async (t) => {
  const { dir, state } = specDir(t, { 'web.yaml': forever() });
  const d = await startHttpDaemon(t, dir, state);
  const { page } = await openBrowser(t);
  await openDashboard(page, d);
  writeFileSync(join(dir, 'bad.yaml'), `${forever()}replicas: 1\ncomand: oops\n`);
  const errors = page.locator('.spec-errors');
  await errors.waitFor({ timeout: 15_000 });
  const text = await errors.innerText();
  assert.match(text, /bad\.yaml:3:\d+/);
  assert.match(text, /unknown key "comand"/);
  await screenshot(page, 'dashboard-spec-error');
});

test('a reconnect after a daemon restart loses no event and shows none twice', async (t) => {
  const { dir, state } = specDir(t, { 'web.yaml': forever('replicas: 2\n') });
  let d = await startHttpDaemon(t, dir, state);
  const port = new URL(d.url).port;
  const { page } = await openBrowser(t);
  await openDashboard(page, d);
  await page.getByTestId('stream-state').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });

  await d.stop();
  await page.getByTestId('stream-state').filter({ hasText: 'reconnecting' }).waitFor({ timeout: 10_000 });
  // The same port: the page's origin must not change. Events happen before the page is back.
  d = await startHttpDaemon(t, dir, state, ['--http', `127.0.0.1:${port}`]);
  await waitFor(async () => (await d.api.service('web')).ready === 2, { what: 'web 2/2 ready again', timeoutMs: 15_000, intervalMs: 50 });
  await page.getByTestId('stream-state').filter({ hasText: 'live' }).waitFor({ timeout: 15_000 });

  const logged = () =>
    readFileSync(join(state, 'events.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { id: number; type: string });
  // Every event the daemons recorded, both runs, each once: the count in the page is the file's.
  await waitFor(async () => {
    const shown = await page.getByTestId('event-count').innerText();
    return shown === `${logged().length} events`;
  }, { what: 'the page to show every recorded event', timeoutMs: 10_000, intervalMs: 50 });
  const ids = logged().map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length);
  await page.getByLabel('filter events').fill('spec.loaded');
  await page.getByTestId('event-count').filter({ hasText: `${logged().filter((e) => e.type === 'spec.loaded').length} of` }).waitFor({ timeout: 5000 });
  assert.equal(logged().filter((e) => e.type === 'spec.loaded').length, 2);
});

test('1000 replicas render and the page stays interactive', async (t) => {
  const { dir, state } = specDir(t, { 'many.yaml': 'command: ["sleep", "3600"]\nreplicas: 1\n', 'db.yaml': forever() });
  const d = await startHttpDaemon(t, dir, state);
  writeFileSync(join(dir, 'many.yaml'), 'command: ["sleep", "3600"]\nreplicas: 1000\n');
  await waitFor(async () => (await d.api.service('many')).ready === 1000, { what: 'many 1000/1000 ready', timeoutMs: 180_000, intervalMs: 250 });
  const { page } = await openBrowser(t);
  // Measured, not asserted: main-thread tasks over 50 ms while the page tracks 1000 replicas.
  await page.addInitScript(
    'window.__long = []; new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); }).observe({ type: "longtask", buffered: true });',
  );
  await openDashboard(page, d);
  await selectService(page, 'many');
  await page.getByTestId('replica-count').filter({ hasText: '1000 of 1000' }).waitFor({ timeout: 15_000 });
  // The tail of all 1000 replicas starts when asked; one replica's at once.
  await page.getByRole('button', { name: 'Follow all 1000 replicas' }).waitFor({ timeout: 5000 });
  await page.getByRole('button', { name: 'logs of many/3' }).click();
  await page.getByRole('heading', { name: 'Logs: many/3' }).waitFor({ timeout: 5000 });
  await page.getByTestId('log-state').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });
  const rendered = await page.locator('.replica').count();
  assert.ok(rendered > 0 && rendered < 100, `${rendered} replica rows in the DOM`);

  await page.getByRole('list', { name: 'replicas of many' }).evaluate((el: { scrollTop: number; scrollHeight: number }) => {
    el.scrollTop = el.scrollHeight;
  });
  await page.locator('[data-replica="999"]').waitFor({ timeout: 5000 });
  await page.getByLabel('filter replicas').fill('many/999');
  await page.getByTestId('replica-count').filter({ hasText: '1 of 1000' }).waitFor({ timeout: 5000 });
  await page.getByLabel('filter replicas').fill('');

  // Interactive: sorting, a dialog and its Escape answer while the page tracks 1000 replicas.
  const started = Date.now();
  await page.getByRole('button', { name: 'Restarts' }).click();
  await page.getByRole('button', { name: 'Scale…' }).click();
  await page.getByRole('spinbutton', { name: 'Replicas' }).waitFor({ timeout: 5000 });
  process.stdout.write(`# 1000 replicas: sort + open the scale dialog took ${Date.now() - started} ms\n`);
  await page.keyboard.press('Escape');
  await page.getByRole('dialog').waitFor({ state: 'detached', timeout: 5000 });
  const long = await page.evaluate('window.__long') as number[];
  process.stdout.write(`# 1000 replicas: ${long.length} main-thread tasks over 50 ms, longest ${Math.round(Math.max(0, ...long))} ms\n`);
  await screenshot(page, 'dashboard-1000');
});
