// The cost of one status report (buildStatus + JSON) for one service of N running replicas, in
// process, 3 runs: `node --import tsx bench/status-report.ts [N=5000]`. The report was quadratic in
// N (a Math.max over every index in a loop's condition): 350–543 ms at 5000, 28–65 ms after.

import type { StatusInput } from '../src/api/status.js';
import { buildStatus } from '../src/api/status.js';

const n = Number(process.argv[2] ?? 5000);
const spec = { name: 'web', replicas: n, hash: 'h', file: 'web.yaml', oneshot: false, labels: {}, ports: {}, dependsOn: {} };
const now = Date.now();
const instances = Array.from({ length: n }, (_, i) => ({
  id: `web/${i}#1`, service: 'web', index: i, state: 'running', ready: true, pid: 1000 + i, pgid: 1000 + i, startedAt: now, spec, restarts: 0,
}));
const input = {
  loaded: true,
  desired: { services: new Map([['web', spec]]), blocked: new Map(), shuttingDown: false, held: new Set() },
  instances,
  waiting: new Map(),
  problems: [],
  usage: () => undefined,
  source: {},
  pid: 1,
} as unknown as StatusInput;
for (let r = 1; r <= 3; r++) {
  const t = performance.now();
  JSON.stringify(buildStatus(input));
  console.log(`run ${r}: status report of ${n} replicas in ${(performance.now() - t).toFixed(1)} ms`);
}
