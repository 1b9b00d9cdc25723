// restart, pause, resume, kill, stop and start as a compose or PM2 user types them: several
// services at once with a typo among them, and verbs aimed at a service `tend stop` stopped.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StatusReport } from '../../src/api/types.js';
import { tempDir, waitFor, writeFiles } from '../helpers/index.js';
import { runCli, upDetached } from './run-cli.js';

const SLEEP = 'command: ["sleep", "1000"]\nstop_timeout: 2s\n';

async function status(root: string): Promise<StatusReport> {
  const r = await runCli(root, ['status', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as StatusReport;
}
const pids = (s: StatusReport) => s.services.flatMap((x) => x.replicas.map((r) => `${x.name}/${r.index}:${r.pid}:${r.state}`)).sort();

test('a typo among several targets: nothing is done, whichever verb', { timeout: 120_000 }, async (t) => {
  const root = tempDir(t);
  writeFiles(root, { 'services.d/web.yaml': `${SLEEP}replicas: 2\n`, 'services.d/db.yaml': SLEEP });
  await upDetached(t, root);
  const before = pids(await status(root));
  for (const args of [['stop', 'db', 'wbe'], ['restart', 'db', 'nope'], ['kill', 'db', 'web/7'], ['pause', 'web/0', 'dbb'], ['resume', 'db', 'x']]) {
    const r = await runCli(root, args);
    assert.equal(r.code, 4, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout, '', `${args.join(' ')}: nothing reported done`);
    assert.match(r.stderr, /^tend: (no service named|service "web" has no replica 7)/, args.join(' '));
  }
  assert.deepEqual(pids(await status(root)), before, 'every replica as it was');
  assert.deepEqual((await status(root)).services.map((s) => s.held), [false, false]);
});

test('verbs aimed at a stopped service: restart starts it again (as compose and PM2 do); pause, resume and kill say there is nothing to act on', { timeout: 120_000 }, async (t) => {
  const root = tempDir(t);
  writeFiles(root, { 'services.d/web.yaml': `${SLEEP}replicas: 2\n`, 'services.d/db.yaml': SLEEP });
  await upDetached(t, root);
  const stop = await runCli(root, ['stop', 'web', '--wait']);
  assert.equal(stop.code, 0, stop.stderr);
  for (const verb of ['pause', 'resume', 'kill']) {
    const r = await runCli(root, [verb, 'db', 'web']);
    assert.equal(r.code, 1, `${verb}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout, '', `${verb}: nothing reported done, db included`);
    assert.equal(r.stderr, `tend: web has no running process to ${verb === 'kill' ? 'signal' : verb}: it is stopped (\`tend stop\`); \`tend start web\` starts it\n`);
  }
  const restart = await runCli(root, ['restart', 'web', '--wait']);
  assert.equal(restart.code, 0, restart.stdout + restart.stderr);
  assert.match(restart.stdout, /^restart requested for web \(it was stopped by `tend stop`: started again\)$/m);
  const s = await waitFor(async () => {
    const now = await status(root);
    const web = now.services.find((x) => x.name === 'web')!;
    return !web.held && web.ready === 2 ? now : undefined;
  }, { what: 'web running again' });
  assert.ok(s.services.find((x) => x.name === 'web')!.replicas.every((r) => r.pid !== null));
});

test('no target means every service, as docker compose has it: stop holds them all, dependents first; start lifts every hold; restart restarts all', { timeout: 120_000 }, async (t) => {
  const root = tempDir(t);
  writeFiles(root, {
    'services.d/db.yaml': SLEEP,
    'services.d/api.yaml': `${SLEEP}depends_on: [db]\n`,
    'services.d/lone.yaml': SLEEP,
  });
  await upDetached(t, root);
  const stop = await runCli(root, ['stop', '--wait']);
  assert.equal(stop.code, 0, stop.stdout + stop.stderr);
  const held = await status(root);
  assert.deepEqual(held.services.map((s) => [s.name, s.held, s.replicas.filter((r) => r.pid !== null).length]), [['api', true, 0], ['db', true, 0], ['lone', true, 0]]);
  // api depends on db: it was told to stop first, and db only once api was gone.
  const events = (await runCli(root, ['events', '-o', 'json'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; service?: string; id: number });
  const at = (type: string, service: string) => events.find((e) => e.type === type && e.service === service)!.id;
  assert.ok(at('replica.stopped', 'api') < at('replica.stopping', 'db'), 'api stopped before db was asked to stop');
  const kill = await runCli(root, ['kill']);
  assert.equal(kill.code, 1);
  assert.equal(kill.stderr, 'tend: no service has a running process to signal\n');

  const start = await runCli(root, ['start', '--wait']);
  assert.equal(start.code, 0, start.stdout + start.stderr);
  const before = await status(root);
  assert.ok(before.services.every((s) => !s.held && s.ready === 1));
  const again = await runCli(root, ['start', 'db']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, 'db was not stopped by `tend stop`: nothing to start\n');
  const restart = await runCli(root, ['restart', '--wait']);
  assert.equal(restart.code, 0, restart.stdout + restart.stderr);
  const after = await status(root);
  for (const s of after.services) {
    const old = before.services.find((x) => x.name === s.name)!.replicas[0]!.pid;
    assert.notEqual(s.replicas[0]!.pid, old, `${s.name} restarted`);
  }
});
