// The demo's scripts do what services.d says they do: the db answers on its port, the migration
// completes against it, the api serves /healthz on PORT, the worker works, and all stop quickly on
// SIGTERM. Each is launched exactly as tend would launch replica 0 (expandReplica).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { expandReplica } from '../../src/spec/expand.js';
import { loadDirectory } from '../../src/spec/load.js';
import { ROOT, processReaper, waitFor } from '../helpers/index.js';

function launch(t: Parameters<typeof processReaper>[0], svc: Parameters<typeof expandReplica>[0], index = 0) {
  const l = expandReplica(svc, index);
  const child = spawn(l.argv[0]!, l.argv.slice(1), { cwd: l.cwd, env: l.env, stdio: ['ignore', 'pipe', 'pipe'] });
  processReaper(t).track(child.pid);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

async function stopCleanly(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  child.kill('SIGTERM');
  assert.equal(await exited, 0, 'a clean exit on SIGTERM (the test deadline catches one that hangs)');
}

test('the demo services run and stop on SIGTERM', { timeout: 20_000 }, async (t) => {
  const { services, problems } = await loadDirectory(join(ROOT, 'services.d'));
  assert.deepEqual(problems, []);
  const spec = (name: string) => services.find((s) => s.name === name)!;
  // Ports of the demo in a range of their own, so this test does not collide with a running demo.
  const shift = (name: string, port: number) => ({ ...spec(name), env: { ...spec(name).env, DB_PORT: String(port) } });
  const dbPort = 18000 + (process.pid % 400);

  const db = launch(t, shift('db', dbPort));
  await waitFor(() => db.output().includes('listening'), { what: 'db listening' });
  const reply = await new Promise<string>((resolve, reject) => {
    const s = connect(dbPort, '127.0.0.1', () => s.write('ping\n'));
    s.on('data', (d) => { resolve(d.toString()); s.end(); });
    s.on('error', reject);
  });
  assert.equal(reply, 'OK ping\n');

  const migrate = launch(t, shift('migrate', dbPort));
  assert.equal(await migrate.exited, 0);
  assert.match(migrate.output(), /3 steps applied/);

  const apiSpec = { ...spec('api'), ports: { PORT: dbPort + 500 } };
  const api = launch(t, apiSpec, 1);
  await waitFor(() => api.output().includes('listening'), { what: 'api listening' });
  const res = await fetch(`http://127.0.0.1:${dbPort + 501}/healthz`);
  assert.equal(res.status, 200);
  const body = (await (await fetch(`http://127.0.0.1:${dbPort + 501}/x`)).json()) as { replica: string };
  assert.equal(body.replica, '1');

  const worker = launch(t, { ...spec('worker'), env: { WORK_INTERVAL_MS: '10' } }, 2);
  await waitFor(() => worker.output().includes('worker/2: processed job 2'), { what: 'worker output' });

  await stopCleanly(api.child, api.exited);
  await stopCleanly(worker.child, worker.exited);
  await stopCleanly(db.child, db.exited);
});
