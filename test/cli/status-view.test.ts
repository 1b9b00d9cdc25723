// The status views as a person reads them: a job (oneshot) completes, it is never "ready".

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceStatus } from '../../src/api/types.js';
import { serviceView, statusView } from '../../src/cli/status.js';

const job: ServiceStatus = {
  name: 'migrate',
  file: '/srv/app/services.d/migrate.yaml',
  replicas_desired: 1,
  ready: 1,
  state: 'completed',
  waiting_for: null,
  blocked: null,
  restarts: 0,
  cpu: null,
  memory: null,
  started_at: null,
  hash: 'h'.repeat(64),
  oneshot: true,
  held: false,
  replicas: [
    { index: 0, state: 'completed', pid: null, ready: false, restarts: 0, started_at: null, exit_code: 0, signal: null, reason: null, next_start_at: null, cpu: null, memory: null, hash: 'h'.repeat(64), status_text: null },
  ],
} as unknown as ServiceStatus;

test('a completed job: 1/1 in the table, "1/1 completed" over its row, and no READY yes/no in it', () => {
  const plain = { color: false };
  assert.match(statusView(plain, { services: [job], errors: [], converged: true, source: '/srv/app/services.d', pid: 1 }), /^migrate\s+1\/1\s+completed\s/m);
  const view = serviceView(plain, job);
  assert.match(view, /^migrate: 1\/1 completed, completed \(\/srv\/app\/services\.d\/migrate\.yaml\)$/m);
  assert.match(view, /^0\s+completed\s+-\s+-\s+0\s/m);
});
