// GET /v1/logs[/:name]: the logs of one service or of all, as text lines (`svc/n | line`) or JSON
// lines. The history of every replica is merged in time order (a k-way merge of streams that are
// each in order, so memory stays flat however long the files are); with follow=1 new lines follow
// from every replica, including replicas and services that appear later.

import { FileFollower, readHistory, type FollowPoint, type LogRecord } from './log-follow.js';

export interface LogSource {
  service: string;
  index: number;
  path: string;
}

export interface LogStreamOptions {
  tail?: number;
  since?: number;
  until?: number;
  follow: boolean;
  json: boolean;
  timestamps: boolean;
  pollMs: number;
  /** The replicas' log files now (called again on every follow tick, to pick up new ones). */
  sources: () => LogSource[];
  /** Waits until `text` is written (and the client drained it). */
  write: (text: string) => Promise<void>;
  stopped: () => boolean;
}

/** One JSON line of `GET /v1/logs?format=json`. */
export interface LogLine {
  service: string;
  replica: number;
  /** ISO 8601: when tend saw the line (see docs/logs.md for the precision). */
  ts: string;
  line: string;
  /** The line marks the start of a new run of the replica (a restart, a re-run job). */
  run?: true;
}

/** Writes the history, then (follow) new lines until `stopped()`; resolves when done. */
export async function streamLogRecords(opts: LogStreamOptions, waitTick: () => Promise<void>): Promise<void> {
  const render = (src: LogSource, r: LogRecord) => renderLine(src, r, opts);
  const sources = opts.sources();
  const histories = await Promise.all(
    sources.map(async (src) => ({ src, ...(await readHistory(src.path, pick(opts))) })),
  );
  await mergeInOrder(histories, render, opts.write);
  if (!opts.follow || opts.stopped()) return;
  // Lines past --until never come; following makes no sense then.
  if (opts.until !== undefined && opts.until <= Date.now()) return;

  const followers = new Map<string, FileFollower>();
  let batch: string[] = [];
  const add = (src: LogSource, from: FollowPoint | number) =>
    followers.set(
      src.path,
      new FileFollower(src.path, from, async (records) => {
        for (const r of records) batch.push(render(src, r));
      }),
    );
  for (const h of histories) add(h.src, h.end);
  for (;;) {
    await waitTick();
    if (opts.stopped()) return;
    // A replica added by scaling up, or a new service: follow its file from the start.
    for (const src of opts.sources()) if (!followers.has(src.path)) add(src, 0);
    for (const f of followers.values()) await f.poll();
    if (batch.length > 0) {
      const text = batch.join('');
      batch = [];
      await opts.write(text);
    }
  }
}

function pick(opts: LogStreamOptions) {
  return {
    ...(opts.tail === undefined ? {} : { tail: opts.tail }),
    ...(opts.since === undefined ? {} : { since: opts.since }),
    ...(opts.until === undefined ? {} : { until: opts.until }),
  };
}

/** Repeatedly writes the earliest head among the replicas' streams (ties: the order given). */
async function mergeInOrder(
  streams: { src: LogSource; records: AsyncGenerator<LogRecord> }[],
  render: (src: LogSource, r: LogRecord) => string,
  write: (text: string) => Promise<void>,
): Promise<void> {
  const heads = await Promise.all(streams.map(async (s) => ({ s, head: (await s.records.next()).value as LogRecord | undefined })));
  let live = heads.filter((h) => h.head !== undefined);
  let out = '';
  while (live.length > 0) {
    let min = live[0]!;
    for (const h of live) if (h.head!.at < min.head!.at) min = h;
    out += render(min.s.src, min.head!);
    if (out.length >= 64 * 1024) {
      await write(out);
      out = '';
    }
    const next = await min.s.records.next();
    min.head = next.done ? undefined : next.value;
    if (min.head === undefined) live = live.filter((h) => h !== min);
  }
  if (out !== '') await write(out);
}

function renderLine(src: LogSource, r: LogRecord, opts: Pick<LogStreamOptions, 'json' | 'timestamps'>): string {
  const ts = new Date(r.at).toISOString();
  if (opts.json) {
    const line: LogLine = { service: src.service, replica: src.index, ts, line: r.text, ...(r.run ? { run: true as const } : {}) };
    return JSON.stringify(line) + '\n';
  }
  const prefix = `${src.service}/${src.index} | `;
  if (r.run) return `${prefix}──── new run, started ${ts} ────\n`;
  return `${prefix}${opts.timestamps ? `${ts} ` : ''}${r.text}\n`;
}
