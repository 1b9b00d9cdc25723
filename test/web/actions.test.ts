// The dashboard's actions in a real browser, each checked by its effect on real processes and on
// `tend status -o json` (the real CLI): pause, resume, restart, stop (a held service) and start;
// firing alerts from a real crash loop appear and resolve; the table sorts, filters and charts; the
// light and dark themes keep text readable. Every wait has a deadline; nothing sleeps.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import type { StatusReport } from '../../src/api/types.js';
import { NODE, ROOT, fixture, isAlive, procState, specDir, waitFor } from '../helpers/index.js';
import { CLI, openBrowser, openDashboard, screenshot, selectService, startHttpDaemon, type HttpDaemon } from './helpers.js';

const run = promisify(execFile);
/** A script run in the page (test/web/low-contrast.js): the text below WCAG AA contrast. */
const LOW_CONTRAST = readFileSync(join(ROOT, 'test', 'web', 'low-contrast.js'), 'utf8');
const forever = (extra = '') => `command: ${JSON.stringify(fixture('forever.mjs'))}\n${extra}`;

/** `tend status -o json`, as a user would run it. */
async function statusJson(state: string): Promise<StatusReport> {
  const { stdout } = await run(NODE, [CLI, '--state-dir', state, 'status', '-o', 'json'], { cwd: ROOT });
  return JSON.parse(stdout) as StatusReport;
}

/** Opens an action's dialog from the keyboard: focus its button, Enter. */
async function openAction(page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name, exact: true }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('dialog').waitFor({ timeout: 5000 });
}

/** Confirms the open dialog from the keyboard and waits for the page's report of it. */
async function confirm(page: Page, verb: string, report: string): Promise<void> {
  if ((await focusedInDialog(page)) !== verb) await page.keyboard.press('Tab');
  assert.equal(await focusedInDialog(page), verb, 'the focus is on the confirming button');
  await page.keyboard.press('Enter');
  await page.getByRole('dialog').waitFor({ state: 'detached', timeout: 10_000 });
  await page.getByRole('status').filter({ hasText: report }).waitFor({ timeout: 10_000 });
}

/** The text of the focused element when it is in the dialog. */
async function focusedInDialog(page: Page): Promise<string | null> {
  return (await page.evaluate("document.activeElement && document.activeElement.closest('dialog') ? document.activeElement.textContent.trim() : null")) as string | null;
}

async function livePids(d: HttpDaemon, service: string, n: number): Promise<number[]> {
  return waitFor(async () => {
    const s = await d.api.service(service);
    const pids = s.replicas.filter((r) => r.state === 'running' && r.ready && r.pid !== null).map((r) => r.pid!);
    return s.ready === n && pids.length === n ? pids : undefined;
  }, { what: `${service} ${n}/${n} ready`, timeoutMs: 20_000, intervalMs: 50 });
}

test('pause, resume, restart, stop and start from the page, by keyboard, act on the real processes', async (t) => {
  const { dir, state } = specDir(t, { 'web.yaml': forever('replicas: 2\n'), 'db.yaml': forever() });
  const d = await startHttpDaemon(t, dir, state);
  const pids = await livePids(d, 'web', 2);
  const { page } = await openBrowser(t);
  await openDashboard(page, d);
  await selectService(page, 'web');

  // Pause: every replica of web is stopped by SIGSTOP (state T), and the page says so.
  await openAction(page, 'Pause');
  await confirm(page, 'Pause', 'pause: every replica of web');
  await waitFor(() => pids.every((p) => procState(p) === 'T'), { what: 'both replicas stopped (T)', timeoutMs: 10_000, intervalMs: 50 });
  await page.locator('[data-replica="1"] .badge', { hasText: 'paused' }).waitFor({ timeout: 10_000 });
  assert.deepEqual((await statusJson(state)).services.find((s) => s.name === 'web')!.replicas.map((r) => r.state), ['paused', 'paused']);

  // Resume: they run again, the same processes.
  await openAction(page, 'Resume');
  await confirm(page, 'Resume', 'resume: every replica of web');
  await waitFor(() => pids.every((p) => procState(p) !== 'T' && isAlive(p)), { what: 'both replicas continued', timeoutMs: 10_000, intervalMs: 50 });
  await page.locator('[data-replica="1"] .badge', { hasText: 'running' }).waitFor({ timeout: 10_000 });
  assert.deepEqual((await statusJson(state)).services.find((s) => s.name === 'web')!.replicas.map((r) => [r.state, r.pid]), pids.map((p) => ['running', p]));

  // Restart one replica from its row: a new process for web/1, web/0 untouched.
  await page.getByRole('button', { name: 'restart web/1' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('dialog').waitFor({ timeout: 5000 });
  await confirm(page, 'Restart', 'restart: web/1');
  await waitFor(() => !isAlive(pids[1]!), { what: 'the old web/1 gone', timeoutMs: 15_000, intervalMs: 50 });
  const restarted = await livePids(d, 'web', 2);
  assert.equal(restarted[0], pids[0]);
  assert.notEqual(restarted[1], pids[1]);
  await waitFor(async () => (await page.locator('[data-replica="1"]').innerText()).includes(String(restarted[1])), { what: 'the new pid of web/1 in the page', timeoutMs: 10_000, intervalMs: 50 });

  // Stop is confirmed, and the dialog starts on Cancel: Enter there does nothing.
  await openAction(page, 'Stop');
  await page.keyboard.press('Enter');
  await page.getByRole('dialog').waitFor({ state: 'detached', timeout: 5000 });
  assert.ok(restarted.every(isAlive), 'Cancel stopped nothing');
  assert.equal((await statusJson(state)).services.find((s) => s.name === 'web')!.held, false);

  // Stop: the processes end, the service is held, and the page shows it held.
  await openAction(page, 'Stop');
  await confirm(page, 'Stop', 'stop: web');
  await waitFor(() => restarted.every((p) => !isAlive(p)), { what: 'every web process gone', timeoutMs: 15_000, intervalMs: 50 });
  await waitFor(async () => {
    const web = (await statusJson(state)).services.find((s) => s.name === 'web')!;
    return web.held && web.state === 'held' && web.replicas.every((r) => r.pid === null || !isAlive(r.pid));
  }, { what: 'web held in `tend status -o json`', timeoutMs: 15_000, intervalMs: 100 });
  await page.locator('tr[data-service="web"] td[data-col="state"] .badge.warn', { hasText: 'held' }).waitFor({ timeout: 10_000 });
  await page.getByTestId('held-note').waitFor({ timeout: 5000 });
  await page.locator('.graph .node.warn', { hasText: 'held' }).waitFor({ timeout: 5000 });
  assert.equal((await statusJson(state)).services.find((s) => s.name === 'db')!.state, 'running', 'db is not touched');
  await screenshot(page, 'dashboard-held');

  // Start: the hold is lifted, new processes run, the page shows it running.
  await openAction(page, 'Start');
  await confirm(page, 'Start', 'start: web');
  const started = await livePids(d, 'web', 2);
  assert.ok(started.every((p) => !restarted.includes(p)));
  const web = (await statusJson(state)).services.find((s) => s.name === 'web')!;
  assert.equal(web.held, false);
  assert.equal(web.state, 'running');
  await page.locator('tr[data-service="web"] td[data-col="state"] .badge', { hasText: 'running' }).waitFor({ timeout: 10_000 });
  await page.getByTestId('held-note').waitFor({ state: 'detached', timeout: 5000 });

  // An error from the API is shown in the dialog: the service's file is removed while it is open.
  await openAction(page, 'Stop');
  rmSync(join(dir, 'web.yaml'));
  await waitFor(async () => !(await statusJson(state)).services.some((s) => s.name === 'web'), { what: 'web gone', timeoutMs: 15_000, intervalMs: 100 });
  await page.getByRole('dialog').getByRole('button', { name: 'Stop', exact: true }).click();
  await page.getByRole('dialog').getByRole('alert').filter({ hasText: /web/ }).waitFor({ timeout: 10_000 });
  await page.keyboard.press('Escape');
  await page.getByRole('dialog').waitFor({ state: 'detached', timeout: 5000 });
});

test('a real crash loop fires an alert that the page shows, and it resolves from the page', async (t) => {
  const { root, dir, state } = specDir(t, { 'api.yaml': forever('depends_on: { crash: started }\n') });
  const okFile = join(root, 'ok');
  // Crashes until the file `ok` exists; gives up (failed: a crash loop) after two restarts.
  writeFileSync(
    join(dir, 'crash.yaml'),
    `command: ["sh", "-c", ${JSON.stringify(`test -f '${okFile}' && exec sleep 1000; echo no ok file; exit 3`)}]\nbackoff: { initial: 10ms, max: 20ms }\nmax_restarts: 2\nrestart_window: 1m\n`,
  );
  writeFileSync(join(root, 'tend.yaml'), 'alerts:\n  crash_loop: { for: 0s }\n');
  const d = await startHttpDaemon(t, dir, state);
  const { page } = await openBrowser(t);
  await openDashboard(page, d);

  const alert = page.locator('.alerts [data-alert="crash_loop:crash/0"]');
  await alert.waitFor({ timeout: 30_000 });
  assert.match(await alert.innerText(), /crash_loop crash\/0 .*crash\/0 is failed: crash loop: /);
  const firing = (await statusJson(state)).alerts ?? [];
  assert.deepEqual(firing.map((a) => [a.alert, a.service, a.replica]), [['crash_loop', 'crash', 0]]);
  await page.locator('tr[data-service="crash"] .alert-mark', { hasText: 'crash_loop' }).waitFor({ timeout: 5000 });
  await page.locator('.event.t-alert-firing', { hasText: 'crash/0' }).first().waitFor({ timeout: 5000 });
  await page.locator('.graph .node.bad', { hasText: 'failed' }).waitFor({ timeout: 5000 });
  await screenshot(page, 'dashboard-alert');

  // Fixed: the file appears, Restart from the page lifts the crash loop, the alert resolves.
  writeFileSync(okFile, '');
  await alert.getByRole('button', { name: 'crash/0' }).click();
  await page.getByRole('heading', { name: /^crash / }).waitFor({ timeout: 5000 });
  await openAction(page, 'Restart');
  await confirm(page, 'Restart', 'restart: every replica of crash');
  await livePids(d, 'crash', 1);
  await page.locator('.event.t-alert-resolved', { hasText: 'crash/0' }).first().waitFor({ timeout: 15_000 });
  await page.locator('.alerts').waitFor({ state: 'detached', timeout: 10_000 });
  await page.locator('tr[data-service="crash"] .alert-mark').waitFor({ state: 'detached', timeout: 5000 });
  assert.deepEqual((await statusJson(state)).alerts ?? [], []);
});

test('the table sorts and filters, and charts CPU and memory over time', async (t) => {
  const { dir, state } = specDir(t, {
    'alpha.yaml': forever('labels: { team: web }\n'),
    'beta.yaml': forever('replicas: 2\nlabels: { team: data }\n'),
    'gamma.yaml': forever('labels: { team: web, tier: edge }\n'),
  });
  const d = await startHttpDaemon(t, dir, state);
  await livePids(d, 'beta', 2);
  const { page } = await openBrowser(t);
  await openDashboard(page, d);
  const order = () => page.locator('table.services tbody tr').evaluateAll((rows: { getAttribute(n: string): string | null }[]) => rows.map((r) => r.getAttribute('data-service')));
  await waitFor(async () => (await order()).length === 3, { what: 'three rows', timeoutMs: 10_000, intervalMs: 50 });
  assert.deepEqual(await order(), ['alpha', 'beta', 'gamma']);

  await page.getByRole('button', { name: 'Service', exact: true }).click(); // name, descending
  assert.deepEqual(await order(), ['gamma', 'beta', 'alpha']);
  assert.equal(await page.locator('th[aria-sort="descending"]').innerText(), 'Service ▼');
  await page.getByRole('button', { name: 'Ready', exact: true }).focus();
  await page.keyboard.press('Enter'); // by READY n/m; beta has the most replicas, all ready: 1 each
  assert.equal(await page.locator('th[aria-sort="ascending"]').innerText(), 'Ready ▲');

  await page.getByLabel('filter services').fill('team=web');
  await waitFor(async () => JSON.stringify((await order()).sort()) === JSON.stringify(['alpha', 'gamma']), { what: 'only team=web', timeoutMs: 5000, intervalMs: 50 });
  await page.getByLabel('filter services').fill('tier=edge');
  await waitFor(async () => JSON.stringify(await order()) === JSON.stringify(['gamma']), { what: 'only tier=edge', timeoutMs: 5000, intervalMs: 50 });
  await page.getByLabel('filter services').fill('');

  // The graph's nodes are buttons too: Enter on one opens its service.
  await page.getByRole('button', { name: 'gamma: running' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: /^gamma / }).waitFor({ timeout: 5000 });

  // The charts gather a sample per service every few seconds, 15 minutes' worth: a line needs two.
  const chart = page.locator('tr[data-service="beta"] td[data-col="memory"] svg.spark path');
  await waitFor(async () => ((await chart.count()) > 0 && (await chart.getAttribute('d'))?.includes('L')) === true, {
    what: 'a memory line of two samples',
    timeoutMs: 20_000,
    intervalMs: 200,
  });
  // Until the page has 15 minutes of samples, the line spans what it has, not one pixel of 90.
  const xs = [...((await chart.getAttribute('d')) ?? '').matchAll(/[ML]([\d.]+),/g)].map((m) => Number(m[1]));
  assert.ok(Math.max(...xs) - Math.min(...xs) > 45, `the line spans the chart: x ${xs.join(' ')}`);
  assert.equal(await page.locator('tr[data-service="beta"] td[data-col="cpu"] svg.spark').getAttribute('aria-label'), 'CPU of beta, last 15 minutes');
});

test('light and dark themes: all text is readable (WCAG AA contrast), and the choice is kept', async (t) => {
  const { dir, state } = specDir(t, {
    'talk.yaml': `command: ${JSON.stringify(fixture('print-lines.mjs', 0, 20))}\nreplicas: 6\nlabels: { team: web }\n`,
    'db.yaml': forever('depends_on: { talk: started }\n'),
  });
  writeFileSync(join(dir, 'bad.yaml'), `${forever()}comand: oops\n`);
  const d = await startHttpDaemon(t, dir, state);
  await livePids(d, 'talk', 6);
  const { page } = await openBrowser(t);
  await openDashboard(page, d);
  await selectService(page, 'talk');
  await page.locator('.prefix[data-hue="5"]').first().waitFor({ timeout: 15_000 });
  await page.locator('.spec-errors').waitFor({ timeout: 10_000 });
  await page.getByRole('button', { name: 'Pause tail' }).click();
  await page.getByLabel('search the log').fill('line');

  const background = () => page.evaluate('getComputedStyle(document.body).backgroundColor');
  // "auto" follows the system's preference.
  assert.equal(await page.getByRole('button', { name: /^theme:/ }).innerText(), 'Theme: auto');
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.equal(await background(), 'rgb(15, 19, 25)');
  assert.deepEqual(await page.evaluate(LOW_CONTRAST), [], 'system dark: text below 4.5:1');
  await page.emulateMedia({ colorScheme: 'light' });
  assert.equal(await background(), 'rgb(246, 247, 249)');
  // A chosen theme wins over the system's: light while the system is dark, and the other way round.
  for (const [theme, system, bg] of [['light', 'dark', 'rgb(246, 247, 249)'], ['dark', 'light', 'rgb(15, 19, 25)']] as const) {
    await page.emulateMedia({ colorScheme: system });
    while ((await page.locator('html').getAttribute('data-theme')) !== theme) await page.getByRole('button', { name: /^theme:/ }).click();
    assert.equal(await background(), bg);
    assert.deepEqual(await page.evaluate(LOW_CONTRAST), [], `${theme}: text below 4.5:1`);
    await screenshot(page, `dashboard-theme-${theme}`, { docs: false });
    // A dialog, and its danger button.
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.getByRole('dialog').waitFor({ timeout: 5000 });
    assert.deepEqual(await page.evaluate(LOW_CONTRAST), [], `${theme}, a dialog open: text below 4.5:1`);
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached', timeout: 5000 });
  }
  // The choice is kept across a reload.
  await page.reload();
  await page.getByRole('heading', { name: 'Services' }).waitFor({ timeout: 15_000 });
  assert.equal(await page.locator('html').getAttribute('data-theme'), 'dark');
  assert.equal(await page.getByRole('button', { name: /^theme:/ }).innerText(), 'Theme: dark');
});

test("a replica's last STATUS text (sd_notify) is shown on its row, and follows the next one", async (t) => {
  const { root, dir, state } = specDir(t, {});
  const next = join(root, 'next');
  writeFileSync(
    join(dir, 'idx.yaml'),
    [
      `command: 'systemd-notify --ready --status="indexing 3/10"; while [ ! -f ${next} ]; do sleep 0.05; done; systemd-notify --status="indexing 10/10"; exec sleep 1000'`,
      'notify: systemd',
      'readiness: { notify: true, timeout: 60s }',
      'stop_timeout: 2s',
    ].join('\n'),
  );
  const d = await startHttpDaemon(t, dir, state);
  const { page } = await openBrowser(t);
  await openDashboard(page, d);
  await selectService(page, 'idx');
  const row = page.locator('[data-replica="0"]');
  await waitFor(async () => ((await row.innerText()).includes('indexing 3/10') ? true : undefined), { what: 'the first STATUS text on the row', timeoutMs: 20_000, intervalMs: 100 });
  writeFileSync(next, '');
  await waitFor(async () => ((await row.innerText()).includes('indexing 10/10') ? true : undefined), { what: 'the next STATUS text on the row', timeoutMs: 20_000, intervalMs: 100 });
});
