// The TCP listener from the outside, with real HTTP against a real daemon (`tend up --http`):
// the token (file mode, 401 without it or with a wrong one), Origin on state-changing requests,
// rate-limited failures, the refusal of a non-loopback address, the page's headers, the scale
// route's diff-then-apply, and `tend dashboard`.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { TOKEN_NAME } from '../../src/api/http-token.js';
import { parseConfig } from '../../src/hooks/config.js';
import { markedGroups } from '../helpers/daemon.js';
import { cleanup, fixture, NODE, processReaper, specDir, waitFor } from '../helpers/index.js';
import { CLI, startHttpDaemon } from './helpers.js';

const WEB = `# the web tier\ncommand: ${JSON.stringify(fixture('forever.mjs'))}\nreplicas: 1 # scaled by hand\nlabels: { team: web }\n`;

test('every API request needs the token; the page itself does not, and carries a strict CSP', async (t) => {
  const { dir, state } = specDir(t, { 'web.yaml': WEB });
  const d = await startHttpDaemon(t, dir, state);
  assert.equal(statSync(join(state, TOKEN_NAME)).mode & 0o777, 0o600);

  const none = await fetch(new URL('/v1/status', d.url));
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
  const wrong = await fetch(new URL('/v1/status', d.url), { headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.status, 401);
  for (const path of ['/metrics', '/v1/events?follow=0', '/v1/logs/web']) {
    assert.equal((await fetch(new URL(path, d.url))).status, 401, path);
  }
  const ok = await fetch(new URL('/v1/status', d.url), { headers: { authorization: `Bearer ${d.token}` } });
  assert.equal(ok.status, 200);
  const status = (await ok.json()) as { services: { name: string; labels?: Record<string, string> }[] };
  assert.deepEqual(status.services.map((s) => [s.name, s.labels]), [['web', { team: 'web' }]]);

  const page = await fetch(d.url);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
  assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  const html = await page.text();
  // No external asset: every src and href is a path on this listener.
  for (const m of html.matchAll(/(?:src|href)="([^"]+)"/g)) assert.match(m[1]!, /^\/[a-z]/, m[1]);
  assert.equal((await fetch(new URL('/app.js', d.url))).status, 200);
});

test('a state-changing request from another origin is refused even with the token', async (t) => {
  const { dir, state } = specDir(t, { 'web.yaml': WEB });
  const d = await startHttpDaemon(t, dir, state);
  const auth = { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' };
  const host = new URL(d.url).host;
  const evil = await fetch(new URL('/v1/services/web/restart', d.url), { method: 'POST', headers: { ...auth, origin: 'http://evil.example' }, body: '{}' });
  assert.equal(evil.status, 403);
  assert.match(((await evil.json()) as { error: { message: string } }).error.message, /cross-origin POST refused/);
  const sameSite = await fetch(new URL('/v1/services/web/restart', d.url), {
    method: 'POST',
    headers: { ...auth, origin: 'http://localhost:1', 'sec-fetch-site': 'same-site' },
    body: '{}',
  });
  assert.equal(sameSite.status, 403);
  const own = await fetch(new URL('/v1/services/web/pause', d.url), { method: 'POST', headers: { ...auth, origin: `http://${host}` }, body: '{}' });
  assert.equal(own.status, 200);
  // A tool without Origin (curl, scripts) is not a browser and is let through.
  const tool = await fetch(new URL('/v1/services/web/resume', d.url), { method: 'POST', headers: auth, body: '{}' });
  assert.equal(tool.status, 200);
});

test('behind a TLS reverse proxy the dashboard\'s own requests are let through: https Origin, Host passed on or rewritten to the upstream', async (t) => {
  const { dir, state } = specDir(t, { 'web.yaml': WEB });
  const d = await startHttpDaemon(t, dir, state);
  const auth = { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' };
  const upstream = new URL(d.url).host;
  // node:http, not fetch: fetch sets Host itself.
  const post = (action: string, headers: Record<string, string>) =>
    new Promise<number | undefined>((resolve, reject) => {
      const req = request(new URL(`/v1/services/web/${action}`, d.url), { method: 'POST', headers: { ...auth, ...headers } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end('{}');
    });
  // What a browser sends from https://tend.example.com, through a proxy that passes Host on
  // (nginx `proxy_set_header Host $host`, Caddy) and one that sets the upstream's (nginx's default).
  assert.equal(await post('pause', { host: 'tend.example.com', origin: 'https://tend.example.com', 'sec-fetch-site': 'same-origin' }), 200);
  assert.equal(await post('resume', { host: upstream, origin: 'https://tend.example.com', 'sec-fetch-site': 'same-origin' }), 200);
  // A browser too old for Sec-Fetch-Site: the Origin's host must still be the Host.
  assert.equal(await post('pause', { host: 'tend.example.com', origin: 'https://tend.example.com' }), 200);
  // Still refused: another site, whatever its scheme.
  assert.equal(await post('resume', { host: 'tend.example.com', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }), 403);
  assert.equal(await post('resume', { host: 'tend.example.com', origin: 'https://evil.example' }), 403);
  assert.equal(await post('resume', { host: upstream, origin: 'https://evil.example' }), 403);
});

test('requests without any token (any web page can make a browser send them) are not guesses: they do not lock the user out', async (t) => {
  const { dir, state } = specDir(t, { 'web.yaml': WEB });
  const d = await startHttpDaemon(t, dir, state);
  // What `fetch('http://127.0.0.1:PORT/x', { mode: 'no-cors' })` from any open tab sends: no
  // Authorization header (a browser sends none across origins without CORS approval).
  for (let i = 0; i < 30; i++) {
    const r = await fetch(new URL(i % 2 ? '/favicon.ico' : '/v1/status', d.url), { headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
    assert.equal(r.status, 401, `request ${i}`);
  }
  const own = await fetch(new URL('/v1/status', d.url), { headers: { authorization: `Bearer ${d.token}` } });
  assert.equal(own.status, 200, 'the dashboard\'s own request still answered');
});

test('failed attempts are rate-limited: after the burst a client gets 429 with Retry-After, then may try again', async (t) => {
  const { dir, state } = specDir(t, { 'web.yaml': WEB });
  const d = await startHttpDaemon(t, dir, state);
  // The bucket refills while the requests run (1 per second), so count up to the first 429: at
  // least the burst (10) are answered 401 before it. Exact timing is FailureLimiter's unit test.
  let refusedAfter = -1;
  let retryAfter = 0;
  for (let i = 0; i < 40 && refusedAfter < 0; i++) {
    const r = await fetch(new URL('/v1/status', d.url), { headers: { authorization: `Bearer guess-${i}` } });
    if (r.status === 429) {
      refusedAfter = i;
      retryAfter = Number(r.headers.get('retry-after'));
    } else assert.equal(r.status, 401);
  }
  assert.ok(refusedAfter >= 10, `429 after ${refusedAfter} failures`);
  assert.ok(retryAfter >= 1);
  await waitFor(async () => (await fetch(new URL('/v1/status', d.url), { headers: { authorization: `Bearer ${d.token}` } })).status === 200, {
    what: 'the rate limit to let the token in',
    timeoutMs: 10_000,
    intervalMs: 500,
  });
});

test('a non-loopback --http is refused unless --http-allow-remote; a malformed one is a usage error', (t) => {
  const { dir, state } = specDir(t, { 'web.yaml': WEB });
  const remote = spawnSync(NODE, [CLI, '--state-dir', state, 'up', dir, '--http', '0.0.0.0:0'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(remote.status, 5, remote.stderr);
  assert.match(remote.stderr, /0\.0\.0\.0:0 is not a loopback address; pass --http-allow-remote/);
  const bad = spawnSync(NODE, [CLI, '--state-dir', state, 'up', dir, '--http', 'localhost'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(bad.status, 5, bad.stderr);
  assert.match(bad.stderr, /--http expects HOST:PORT/);
});

test('scale over the API: a dry run returns the diff; applying it edits only the number; a stale base is refused', async (t) => {
  const { dir, state } = specDir(t, { 'web.yaml': WEB });
  const d = await startHttpDaemon(t, dir, state);
  const post = (body: unknown) =>
    fetch(new URL('/v1/services/web/scale', d.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const dry = await post({ replicas: 3, dry_run: true });
  assert.equal(dry.status, 200);
  const plan = (await dry.json()) as { diff: string; base: string; applied: boolean; replicas_before: number };
  assert.equal(plan.applied, false);
  assert.equal(plan.replicas_before, 1);
  assert.match(plan.diff, /^-replicas: 1 # scaled by hand$/m);
  assert.match(plan.diff, /^\+replicas: 3 # scaled by hand$/m);
  assert.equal(readFileSync(join(dir, 'web.yaml'), 'utf8'), WEB, 'a dry run writes nothing');

  const stale = await post({ replicas: 3, base: '0'.repeat(64) });
  assert.equal(stale.status, 409);
  assert.equal(readFileSync(join(dir, 'web.yaml'), 'utf8'), WEB);

  const applied = await post({ replicas: 3, base: plan.base });
  assert.equal(applied.status, 200);
  assert.equal(readFileSync(join(dir, 'web.yaml'), 'utf8'), WEB.replace('replicas: 1', 'replicas: 3'));
  await waitFor(async () => (await d.api.service('web')).ready === 3, { what: 'web 3/3 ready', timeoutMs: 15_000, intervalMs: 50 });

  const bad = await post({ replicas: -1 });
  assert.equal(bad.status, 400);
  const missing = await fetch(new URL('/v1/services/nope/scale', d.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' },
    body: '{"replicas":1}',
  });
  assert.equal(missing.status, 404);
});

test('tend dashboard prints the URL with the token in its fragment, and says so when no listener runs', async (t) => {
  const { dir, state } = specDir(t, { 'web.yaml': WEB });
  const d = await startHttpDaemon(t, dir, state);
  const r = spawnSync(NODE, [CLI, '--state-dir', state, 'dashboard', '--no-open'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${d.url}#token=${d.token}\n`);
  // With a browser ($BROWSER), it is handed a 0600 redirect file, never the token on its argv.
  const opened = spawnSync(NODE, [CLI, '--state-dir', state, 'dashboard'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, BROWSER: 'true' } });
  assert.equal(opened.status, 0, opened.stderr);
  assert.match(opened.stderr, /opened in true/);
  assert.equal(statSync(join(state, 'dashboard-open.html')).mode & 0o777, 0o600);
  assert.match(readFileSync(join(state, 'dashboard-open.html'), 'utf8'), new RegExp(`url=${d.url.replace(/[.]/g, '\\.')}#token=${d.token}`));
  await d.stop();
  const gone = spawnSync(NODE, [CLI, '--state-dir', state, 'dashboard', '--no-open'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(gone.status, 3, gone.stderr);
});

test('up -d passes --http to the detached daemon; down closes the listener', async (t) => {
  const { dir, state } = specDir(t, { 'web.yaml': WEB });
  const reaper = processReaper(t);
  const up = spawnSync(NODE, [CLI, '--state-dir', state, 'up', dir, '-d', '--wait', '--http', '127.0.0.1:0'], { encoding: 'utf8', timeout: 60_000 });
  cleanup(t, () => {
    // Whatever happened, no replica of this state dir outlives the test.
    for (const g of markedGroups(state)) {
      try {
        process.kill(-g, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
  assert.equal(up.status, 0, up.stderr);
  const pid = Number(readFileSync(join(state, 'tend.pid'), 'utf8').split(/\s/)[0]);
  reaper.track(pid);
  const url = spawnSync(NODE, [CLI, '--state-dir', state, 'dashboard', '--no-open'], { encoding: 'utf8', timeout: 20_000 }).stdout.trim();
  const [base, fragment] = url.split('#token=');
  const res = await fetch(new URL('/v1/status', base), { headers: { authorization: `Bearer ${fragment}` } });
  assert.equal(res.status, 200);
  const down = spawnSync(NODE, [CLI, '--state-dir', state, 'down'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(down.status, 0, down.stderr);
  await assert.rejects(fetch(new URL('/v1/status', base)));
});

test('up -d --http on a port in use: the services run, and up and tend dashboard say why there is no dashboard', async (t) => {
  const { dir, state } = specDir(t, { 'web.yaml': WEB });
  const reaper = processReaper(t);
  const taken = createServer((_req, res) => res.end('someone else')).listen(0, '127.0.0.1');
  await once(taken, 'listening');
  cleanup(t, () => void taken.close());
  const address = `127.0.0.1:${(taken.address() as AddressInfo).port}`;
  cleanup(t, () => {
    for (const g of markedGroups(state)) {
      try {
        process.kill(-g, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
  const up = spawnSync(NODE, [CLI, '--state-dir', state, 'up', dir, '-d', '--wait', '--http', address], { encoding: 'utf8', timeout: 60_000 });
  reaper.track(Number(readFileSync(join(state, 'tend.pid'), 'utf8').split(/\s/)[0]));
  assert.equal(up.status, 0, up.stderr);
  assert.match(up.stdout, /converged/);
  assert.match(up.stderr, new RegExp(`^tend: warning: no dashboard: cannot listen on ${address}: .*EADDRINUSE`, 'm'));
  const dash = spawnSync(NODE, [CLI, '--state-dir', state, 'dashboard', '--no-open'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(dash.status, 3, dash.stderr);
  assert.match(dash.stderr, new RegExp(`serves no dashboard: it could not listen on ${address} .*EADDRINUSE.*tend up -d --http ${address}`));
  const down = spawnSync(NODE, [CLI, '--state-dir', state, 'down'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(down.status, 0, down.stderr);
});

test('tend.yaml can turn the listener on (`http:`) when `tend up` has no --http; a bad or remote address is a file:line error', async (t) => {
  const problems = (text: string) => parseConfig(text, '/srv/tend.yaml', 'tend.yaml').problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`);
  assert.deepEqual(parseConfig('http: 127.0.0.1:7070\n', '/srv/tend.yaml').config!.http, { address: '127.0.0.1:7070', allowRemote: false });
  assert.deepEqual(parseConfig('http: { address: "0.0.0.0:7070", allow_remote: true }\n', '/srv/tend.yaml').config!.http, { address: '0.0.0.0:7070', allowRemote: true });
  assert.equal(parseConfig('alerts: {}\n', '/srv/tend.yaml').config!.http, undefined);
  assert.deepEqual(problems('hooks: {}\nhttp: 0.0.0.0:7070\n'), [
    'tend.yaml:2:7: http: 0.0.0.0:7070 is not a loopback address; the listener has no TLS, so say allow_remote: true to serve it anyway (see docs/dashboard.md#threat-model)',
  ]);
  assert.deepEqual(problems('http:\n  address: "localhost:99999"\n'), ['tend.yaml:2:12: http expects HOST:PORT such as 127.0.0.1:7070 or [::1]:7070, got "localhost:99999"']);
  assert.deepEqual(problems('http: { address: "127.0.0.1:1", tls: true }\n'), ['tend.yaml:1:33: unknown key "tls" in http (expected address, allow_remote)']);

  const { root, dir, state } = specDir(t, { 'web.yaml': WEB });
  writeFileSync(join(root, 'tend.yaml'), '# the dashboard, for this host only\nhttp: 127.0.0.1:0\n');
  const reaper = processReaper(t);
  const up = spawnSync(NODE, [CLI, '--state-dir', state, 'up', dir, '-d', '--wait'], { encoding: 'utf8', timeout: 60_000 });
  cleanup(t, () => {
    for (const g of markedGroups(state)) {
      try {
        process.kill(-g, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
  assert.equal(up.status, 0, up.stderr);
  reaper.track(Number(readFileSync(join(state, 'tend.pid'), 'utf8').split(/\s/)[0]));
  const shown = spawnSync(NODE, [CLI, '--state-dir', state, 'dashboard', '--no-open'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(shown.status, 0, shown.stderr);
  const [base, token] = shown.stdout.trim().split('#token=');
  assert.match(base!, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.equal((await fetch(new URL('/v1/status', base))).status, 401);
  const res = await fetch(new URL('/v1/status', base), { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  assert.deepEqual(((await res.json()) as { services: { name: string }[] }).services.map((s) => s.name), ['web']);
  const down = spawnSync(NODE, [CLI, '--state-dir', state, 'down'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(down.status, 0, down.stderr);
});
