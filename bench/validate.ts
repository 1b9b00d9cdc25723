// Times `tend validate` over a directory of generated service files (goal: 500 files under 1 s).
// Run on its own: node --import tsx bench/validate.ts [files] [runs]

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { validateCommand } from '../src/cli/validate.js';

export interface BenchResult {
  name: string;
  runs: number[];
  median: number;
  min: number;
  max: number;
}

// A realistic file: most fields set, a dependency on an earlier service, a probe and an env.
function serviceFile(i: number): string {
  const dep = i > 0 ? `depends_on:\n  svc-${Math.floor((i - 1) / 2)}: ${i % 3 === 0 ? 'healthy' : 'started'}\n` : '';
  return `# yaml-language-server: $schema=../schemas/service.schema.json
command: ["node", "server.js", "--id", "${i}"]
cwd: .
env:
  NODE_ENV: production
  URL: "http://127.0.0.1:\${PORT}/svc-${i}"
replicas: ${1 + (i % 4)}
ports: { PORT: ${20000 + i * 4} }
${dep}readiness:
  http: { url: "http://127.0.0.1:\${PORT}/healthz" }
  interval: 2s
  timeout: 1s
liveness:
  tcp: { port: "\${PORT}" }
restart: on-failure
backoff: { initial: 100ms, max: 30s, factor: 2, reset_after: 1m }
stop_signal: SIGTERM
stop_timeout: 5s
update: { strategy: rolling, max_unavailable: 1, max_surge: 1 }
limits: { memory: 256Mi, cpu_percent: 100 }
logs: { max_size: 10Mi, max_files: 3 }
labels: { team: team-${i % 7} }
`;
}

// Generates `files` specs in a temp dir and times validateCommand over it `runs` times.
export async function benchValidate(opts: { files?: number; runs?: number } = {}): Promise<BenchResult> {
  const files = opts.files ?? 500;
  const runs = Math.max(5, opts.runs ?? 7);
  const dir = mkdtempSync(join(tmpdir(), 'tend-bench-'));
  try {
    for (let i = 0; i < files; i++) writeFileSync(join(dir, `svc-${i}.yaml`), serviceFile(i));
    const sink = new Writable({ write: (_chunk, _enc, done) => done() });
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const started = performance.now();
      const code = await validateCommand([dir], { json: false }, sink);
      times.push(performance.now() - started);
      if (code !== 0) throw new Error('the generated specs did not validate');
    }
    const sorted = [...times].sort((a, b) => a - b);
    return { name: `validate ${files} files`, runs: times, median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted.at(-1)! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [files, runs] = process.argv.slice(2).map(Number);
  const r = await benchValidate({ ...(files ? { files } : {}), ...(runs ? { runs } : {}) });
  console.log(`${r.name}: median ${r.median.toFixed(1)} ms (min ${r.min.toFixed(1)}, max ${r.max.toFixed(1)}, ${r.runs.length} runs; the first includes compiling the schema)`);
}
