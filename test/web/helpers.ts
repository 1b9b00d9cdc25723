// For the dashboard's tests: the real CLI's `tend up --http 127.0.0.1:0` as a child (so a test can
// stop and start it again), and Chromium driven by playwright-core with a fresh profile.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ApiClient } from '../../src/api/client.js';
import { HTTP_INFO_NAME, TOKEN_NAME } from '../../src/api/http-token.js';
import { SOCKET_NAME } from '../../src/state/pid-file.js';
import { killAfter } from '../helpers/daemon.js';
import { cleanup, NODE, ROOT, waitFor } from '../helpers/index.js';

export const CLI = join(ROOT, 'dist', 'bin', 'tend.js');
export const CHROMIUM = process.env['TEND_CHROMIUM'] ?? '/usr/bin/chromium';

export interface HttpDaemon {
  url: string;
  token: string;
  api: ApiClient;
  child: ChildProcess;
  /** SIGTERM and wait for the exit (the daemon stops its replicas first). */
  stop(): Promise<void>;
}

/** Runs `tend up DIR --http 127.0.0.1:0` in the foreground; its replicas are killed after the test. */
export async function startHttpDaemon(t: TestContext, dir: string, stateDir: string, extra: string[] = []): Promise<HttpDaemon> {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const out = openSync(join(stateDir, '..', 'daemon.out'), 'a');
  const child = spawn(NODE, [CLI, '--state-dir', stateDir, 'up', dir, '--settle', '50ms', '--http', '127.0.0.1:0', ...extra], {
    cwd: ROOT,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  killAfter(t, child, stateDir);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const api = new ApiClient(join(stateDir, SOCKET_NAME));
  const info = await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`tend up exited with ${child.exitCode}: ${readFileSync(join(stateDir, '..', 'daemon.out'), 'utf8')}`);
      const s = await api.status();
      const i = JSON.parse(readFileSync(join(stateDir, HTTP_INFO_NAME), 'utf8')) as { url: string; pid: number };
      return i.pid === s.pid ? i : undefined;
    },
    { what: 'the daemon and its HTTP listener', timeoutMs: 60_000, intervalMs: 50 },
  );
  const token = readFileSync(join(stateDir, TOKEN_NAME), 'utf8').trim();
  return {
    url: info.url,
    token,
    api,
    child,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Chromium with a fresh profile; closed after the test, pass or fail. */
export async function openBrowser(t: TestContext, viewport = { width: 1400, height: 900 }): Promise<{ context: BrowserContext; page: Page }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium, as .ci/run does) or set TEND_CHROMIUM`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'tend-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  cleanup(t, async () => {
    await context.close().catch(() => undefined);
    rmSync(profile, { recursive: true, force: true });
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  cleanup(t, () => {
    if (errors.length > 0) throw new Error(`errors in the page: ${errors.join('; ')}`);
  });
  return { context, page };
}

/** Where screenshots go: test-artifacts/ always, and docs/img/ with TEND_SCREENSHOTS=docs (unless
 *  the picture is for the test's record only: `docs: false`). */
/** Opens the page with the daemon's token and waits for its services table. */
export async function openDashboard(page: Page, d: HttpDaemon): Promise<void> {
  await page.goto(`${d.url}#token=${d.token}`);
  await page.getByRole('heading', { name: 'Services' }).waitFor({ timeout: 15_000 });
}

/** Opens a service's detail from its row. */
export async function selectService(page: Page, name: string): Promise<void> {
  await page.locator(`tr[data-service="${name}"] th button`).click();
  await page.getByRole('heading', { name: new RegExp(`^${name} `) }).waitFor({ timeout: 10_000 });
}

export async function screenshot(page: Page, name: string, opts: { docs?: boolean } = {}): Promise<void> {
  const dirs = [join(ROOT, 'test-artifacts')];
  if (process.env['TEND_SCREENSHOTS'] === 'docs' && opts.docs !== false) dirs.push(join(ROOT, 'docs', 'img'));
  for (const d of dirs) {
    mkdirSync(d, { recursive: true });
    await page.screenshot({ path: join(d, `${name}.png`) });
  }
}
