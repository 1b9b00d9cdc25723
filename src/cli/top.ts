// `tend top [-s cpu|mem|restarts|name]`: a live per-replica view of CPU, memory and restarts.
//
// On a terminal it is drawn with terminal-kit: a ScreenBuffer is filled each refresh and drawn with
// `delta: true`, so only the cells that changed are written (no clearing, no flicker); the
// alternate screen keeps the user's scrollback; keys sort (c m r n) and quit (q, Esc, Ctrl-C).
// Not on a terminal, it prints one snapshot, sorted, and exits: a pipe gets a table, not escapes.

import { createRequire } from 'node:module';
import type { ReplicaStatus, StatusReport } from '../api/types.js';
import { TendError } from '../errors.js';
import { delay, parseDuration, type Cli } from './context.js';
import { EXIT } from './exit-codes.js';
import { age, bytes, cpu, stateColour, table } from './format.js';

export type SortKey = 'cpu' | 'mem' | 'restarts' | 'name';
const SORT_KEYS: Record<string, SortKey> = { c: 'cpu', m: 'mem', r: 'restarts', n: 'name' };

export interface TopOptions {
  sort?: string;
  interval?: string;
}

export interface TopRow {
  name: string;
  state: string;
  pid: number | null;
  cpu: number | null;
  memory: number | null;
  restarts: number;
  started_at: string | null;
}

export async function topCommand(cli: Cli, opts: TopOptions): Promise<number> {
  let sort = parseSort(opts.sort ?? 'cpu');
  const every = parseDuration(opts.interval ?? '1s', '--interval');
  const client = cli.client();
  if (!cli.out.isTTY || !process.stdin.isTTY) {
    cli.out.write(snapshot(cli.out, rowsOf(await client.status()), sort));
    return EXIT.OK;
  }
  // Loaded only here: every other command stays as quick to start as before. With require, not
  // import(): the bundle runs from a code cache that cannot import() (src/util/code-cache.ts).
  const { terminal: term, ScreenBuffer } = createRequire(import.meta.url)('terminal-kit') as typeof import('terminal-kit');
  let quit!: () => void;
  const done = new Promise<void>((r) => (quit = r));
  let report: StatusReport | undefined;
  let error = '';
  let screen = ScreenBuffer.create({ dst: term, width: term.width, height: term.height });
  const draw = () => {
    screen.fill({ attr: { defaultColor: true, bgDefaultColor: true }, char: ' ' });
    const rows = report ? sortRows(rowsOf(report), sort) : [];
    const head = `tend top · ${rows.length} replicas · sorted by ${sort} · c m r n: sort · q: quit${error ? ` · ${error}` : ''}`;
    screen.put({ x: 0, y: 0, attr: { bold: true }, wrap: false, dx: 1, dy: 0 }, clip(head, screen.width));
    const lines = tableLines(rows);
    lines.slice(0, Math.max(0, screen.height - 2)).forEach((line, i) => {
      const row = i === 0 ? undefined : rows[i - 1];
      const colour = row ? termColour(stateColour(row.state)) : undefined;
      screen.put({ x: 0, y: i + 2, attr: i === 0 ? { inverse: true } : colour ? { color: colour } : {}, wrap: false, dx: 1, dy: 0 }, clip(line.padEnd(screen.width), screen.width));
    });
    screen.draw({ delta: true });
  };
  const onKey = (name: string) => {
    if (name === 'q' || name === 'Q' || name === 'ESCAPE' || name === 'CTRL_C') quit();
    else if (SORT_KEYS[name]) {
      sort = SORT_KEYS[name];
      draw();
    }
  };
  const onResize = (width: number, height: number) => {
    screen = ScreenBuffer.create({ dst: term, width, height });
    term.clear();
    draw();
  };
  term.fullscreen(true);
  term.hideCursor(true);
  term.grabInput(true);
  term.on('key', onKey);
  term.on('resize', onResize);
  try {
    let stop = false;
    void done.then(() => (stop = true));
    while (!stop) {
      try {
        report = await client.status();
        error = '';
      } catch (err) {
        error = err instanceof TendError ? err.message : String(err);
      }
      draw();
      await Promise.race([delay(every), done]);
    }
  } finally {
    term.off('key', onKey);
    term.off('resize', onResize);
    term.grabInput(false);
    term.hideCursor(false);
    term.fullscreen(false);
  }
  return EXIT.OK;
}

export function parseSort(arg: string): SortKey {
  const key = SORT_KEYS[arg] ?? (['cpu', 'mem', 'restarts', 'name'].includes(arg) ? (arg as SortKey) : undefined);
  if (!key) throw new TendError('API_BAD_REQUEST', `expected --sort to be cpu, mem, restarts or name, got "${arg}"`);
  return key;
}

/** One row per replica that has (or had) a process. */
export function rowsOf(report: StatusReport): TopRow[] {
  return report.services.flatMap((s) =>
    s.replicas.map((r: ReplicaStatus) => ({
      name: `${s.name}/${r.index}`,
      state: r.state,
      pid: r.pid,
      cpu: r.cpu,
      memory: r.memory,
      restarts: r.restarts,
      started_at: r.started_at,
    })),
  );
}

/** Highest first for the figures (no sample yet sorts last), by name A→Z; ties by name. */
export function sortRows(rows: TopRow[], key: SortKey): TopRow[] {
  const figure = (r: TopRow) => (key === 'cpu' ? r.cpu : key === 'mem' ? r.memory : r.restarts) ?? -1;
  return [...rows].sort((a, b) => (key === 'name' ? 0 : figure(b) - figure(a)) || a.name.localeCompare(b.name, 'en', { numeric: true }));
}

function tableLines(rows: TopRow[], now = Date.now()): string[] {
  return table(
    { color: false },
    ['REPLICA', 'STATE', 'PID', 'CPU', 'MEM', 'RESTARTS', 'AGE'],
    rows.map((r) => [r.name, r.state, r.pid === null ? '-' : String(r.pid), cpu(r.cpu), bytes(r.memory), String(r.restarts), age(r.started_at, now)]),
  )
    .trimEnd()
    .split('\n');
}

/** The table a pipe gets. */
export function snapshot(term: { color: boolean }, rows: TopRow[], key: SortKey): string {
  void term;
  return tableLines(sortRows(rows, key)).join('\n') + '\n';
}

function clip(text: string, width: number): string {
  return text.length <= width ? text : text.slice(0, Math.max(0, width));
}

function termColour(c: string | undefined): string | undefined {
  return c === 'green' || c === 'yellow' || c === 'red' ? c : c === 'dim' ? 'gray' : undefined;
}
