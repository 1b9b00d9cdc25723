// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function within a time window,
// with positions mapped back to the TypeScript sources through the emitted source maps.

import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number; // 0-based
  columnNumber: number; // 0-based
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number; // µs
  endTime: number;
  samples: number[];
  timeDeltas: number[]; // µs
}

export interface FunctionCost {
  /** `name (src/file.ts:line)` */
  where: string;
  selfMs: number;
  percent: number;
}

export interface WindowSummary {
  fromMs: number;
  toMs: number;
  sampledMs: number;
  /** Share of the window the thread was busy (not idle / program / GC are listed separately). */
  top: FunctionCost[];
  /** Self time by source file (node internals and dependencies grouped by package). */
  byFile: FunctionCost[];
}

const maps = new Map<string, SourceMap | null>();

function sourceMapFor(url: string): SourceMap | null {
  if (maps.has(url)) return maps.get(url)!;
  let map: SourceMap | null = null;
  try {
    const file = fileURLToPath(url);
    if (existsSync(`${file}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
  } catch {
    map = null;
  }
  maps.set(url, map);
  return map;
}

/** `src/x.ts:line` for our code (through its source map), `pkg` for a dependency, `node:x` for Node. */
export function locate(frame: CallFrame, root: string): { file: string; line: number } {
  const url = frame.url;
  if (url === '') return { file: '(native)', line: 0 };
  if (url.startsWith('node:')) return { file: url, line: frame.lineNumber + 1 };
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return { file: rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!, line: 0 };
  }
  const map = url.startsWith('file:') ? sourceMapFor(url) : null;
  if (map) {
    const e = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string; originalLine?: number };
    if (e.originalSource) {
      const src = e.originalSource.startsWith('file:') ? fileURLToPath(e.originalSource) : e.originalSource;
      // Sources are recorded relative to the map; normalise to the repository's src/.
      const idx = src.lastIndexOf('/src/');
      return { file: idx >= 0 ? src.slice(idx + 1) : relative(root, src), line: (e.originalLine ?? 0) + 1 };
    }
  }
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  return { file: relative(root, path), line: frame.lineNumber + 1 };
}

/** Self time per function between fromMs and toMs after the profile's start (Infinity = to the end). */
export function summariseWindow(profile: CpuProfile, root: string, fromMs = 0, toMs = Infinity, topN = 25): WindowSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>(); // node id -> µs
  let t = 0;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const ms = t / 1000;
    if (ms < fromMs || ms > toMs) continue;
    const dt = profile.timeDeltas[i + 1] ?? 0; // the sample stands for the time until the next one
    self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + dt);
    total += dt;
  }
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const cf = node.callFrame;
    const loc = locate(cf, root);
    const name = cf.functionName || '(anonymous)';
    const key = loc.file.startsWith('(') || cf.url === '' ? `${name}` : `${name} (${loc.file}${loc.line ? `:${loc.line}` : ''})`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const fk = cf.url === '' ? name : loc.file;
    file.set(fk, (file.get(fk) ?? 0) + us);
  }
  const rank = (m: Map<string, number>): FunctionCost[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, topN)
      .map(([where, us]) => ({ where, selfMs: Math.round(us / 100) / 10, percent: total ? Math.round((us / total) * 1000) / 10 : 0 }));
  const end = Math.min(toMs, (profile.endTime - profile.startTime) / 1000);
  return { fromMs, toMs: end, sampledMs: Math.round(total / 1000), top: rank(fn), byFile: rank(file) };
}

export function renderSummary(title: string, s: WindowSummary): string {
  const span = (s.toMs - s.fromMs) / 1000;
  const busy = s.top.filter((f) => !/^\((idle|program|garbage collector)\)/.test(f.where));
  void busy;
  const lines = [`${title}: ${span.toFixed(1)} s window, self time by function (share of samples):`];
  for (const f of s.top) lines.push(`  ${f.percent.toFixed(1).padStart(5)}%  ${f.selfMs.toFixed(1).padStart(8)} ms  ${f.where}`);
  lines.push(`  by file:`);
  for (const f of s.byFile.slice(0, 12)) lines.push(`  ${f.percent.toFixed(1).padStart(5)}%  ${f.selfMs.toFixed(1).padStart(8)} ms  ${f.where}`);
  return lines.join('\n');
}
