// tend.yaml: the daemon-wide hooks and alert defaults, and the dashboard's TCP listener. It lives beside the services directory
// (`./tend.yaml` next to `./services.d`, found through the path as given, so a services.d that is
// a symlink switched between releases keeps the same tend.yaml), or where TEND_CONFIG points.
// It is configuration deployed with the specs (same repository, same review), not state, so it is
// not in the state directory; and it is not in services.d, where every *.yaml is a service.
//
// Like a spec file: validated with file:line:col errors, and a broken file keeps its last good
// version in force. A missing file means no daemon-wide hooks and the default alerts.

import { unwatchFile, watchFile } from 'node:fs';
import { dirname, join } from 'node:path';
import { displayPath, fromWorkingDir } from '../util/working-dir.js';
import { LineCounter, parseDocument } from 'yaml';
import { errorMessage, type SpecProblem } from '../errors.js';
import { locate, type PathProblem } from '../spec/located.js';
import { normalizeAlerts, normalizeHooks } from '../spec/hooks.js';
import type { AlertRulesSpec, HookSpec } from '../spec/hook-types.js';
import { HOOK_DEFAULTS } from '../spec/hook-types.js';
import { didYouMean } from '../spec/suggest.js';
import { isLoopbackHost, parseHttpAddress } from '../api/http-address.js';
import { MAX_FILE_BYTES } from '../spec/load.js';
import { readRegularFile } from '../spec/read-file.js';

export const CONFIG_NAME = 'tend.yaml';
const TOP_KEYS = ['on', 'alerts', 'hooks', 'http'];

export interface DaemonConfig {
  hooks: HookSpec[];
  alerts: AlertRulesSpec;
  concurrency: number;
  queueSize: number;
  /** The TCP listener and dashboard when `tend up` has no --http (read when the daemon starts). */
  http?: { address: string; allowRemote: boolean };
}

export const EMPTY_CONFIG: DaemonConfig = { hooks: [], alerts: {}, concurrency: HOOK_DEFAULTS.concurrency, queueSize: HOOK_DEFAULTS.queueSize };

/** Where tend.yaml is for a services directory. */
export function configPath(servicesDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const given = env.TEND_CONFIG;
  if (given) return fromWorkingDir(given);
  return join(dirname(fromWorkingDir(servicesDir)), CONFIG_NAME);
}

// Pure: the text of tend.yaml → its config, or the problems that keep it from applying.
export function parseConfig(text: string, file: string, display = file): { config?: DaemonConfig; problems: SpecProblem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: SpecProblem[] = doc.errors.map((e) => {
    const { line, col } = lines.linePos(e.pos[0]);
    return { file: display, line, column: col, code: 'SPEC_PARSE' as const, message: `YAML: ${e.message.split(':\n')[0]!.replace(/ at line \d+, column \d+$/, '')}` };
  });
  if (problems.length > 0) return { problems };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { problems: [{ file: display, line: 1, column: 1, code: 'SPEC_PARSE', message: `YAML: ${errorMessage(err)}` }] };
  }
  if (value === null || value === undefined) return { config: EMPTY_CONFIG, problems: [] };
  const found: PathProblem[] = [];
  if (typeof value !== 'object' || Array.isArray(value)) {
    found.push({ path: [], code: 'SPEC_INVALID', message: `tend.yaml must be a mapping with on:, alerts:, hooks: and http:, got ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}` });
  }
  const raw = (found.length === 0 ? value : {}) as Record<string, unknown>;
  for (const k of Object.keys(raw)) {
    if (!TOP_KEYS.includes(k)) found.push({ path: [k], at: 'key', code: 'SPEC_INVALID', message: `unknown key ${JSON.stringify(k)}${didYouMean(k, TOP_KEYS) || ` (expected one of: ${TOP_KEYS.join(', ')})`}` });
  }
  const on = normalizeHooks(raw.on, ['on'], { dir: dirname(file), file: display });
  const alerts = normalizeAlerts(raw.alerts, ['alerts']);
  found.push(...on.problems, ...alerts.problems);
  const settings = { concurrency: EMPTY_CONFIG.concurrency, queueSize: EMPTY_CONFIG.queueSize };
  const h = raw.hooks;
  if (h !== undefined) {
    if (h === null || typeof h !== 'object' || Array.isArray(h)) found.push({ path: ['hooks'], code: 'SPEC_INVALID', message: 'hooks must be a mapping with concurrency and queue_size' });
    else {
      for (const [k, v] of Object.entries(h)) {
        const max = k === 'concurrency' ? 256 : 1_000_000;
        if (k !== 'concurrency' && k !== 'queue_size') found.push({ path: ['hooks', k], at: 'key', code: 'SPEC_INVALID', message: `unknown key ${JSON.stringify(k)} in hooks (expected concurrency, queue_size)` });
        else if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) found.push({ path: ['hooks', k], code: 'SPEC_INVALID', message: `hooks.${k} must be a whole number from 1 to ${max}, got ${JSON.stringify(v)}` });
        else if (k === 'concurrency') settings.concurrency = v;
        else settings.queueSize = v;
      }
    }
  }
  const http = raw.http === undefined ? undefined : parseHttp(raw.http, found);
  if (found.length > 0) {
    return { problems: found.map((p) => ({ file: display, ...locate(doc, lines, p.path, p.at), code: p.code, message: p.message })) };
  }
  return { config: { hooks: on.hooks, alerts: alerts.alerts, ...settings, ...(http ? { http } : {}) }, problems: [] };
}

// `http: 127.0.0.1:7070`, or `http: { address: 0.0.0.0:7070, allow_remote: true }`: the same
// checks as `tend up --http` and `--http-allow-remote`, reported at their line in tend.yaml.
function parseHttp(value: unknown, found: PathProblem[]): DaemonConfig['http'] {
  const map = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : { address: value };
  const path = map === value ? ['http', 'address'] : ['http'];
  for (const k of Object.keys(map)) {
    if (k !== 'address' && k !== 'allow_remote') found.push({ path: ['http', k], at: 'key', code: 'SPEC_INVALID', message: `unknown key ${JSON.stringify(k)} in http (expected address, allow_remote)` });
  }
  const allowRemote = map.allow_remote ?? false;
  if (typeof allowRemote !== 'boolean') {
    found.push({ path: ['http', 'allow_remote'], code: 'SPEC_INVALID', message: `http.allow_remote must be true or false, got ${JSON.stringify(allowRemote)}` });
    return undefined;
  }
  const address = typeof map.address === 'number' ? String(map.address) : map.address;
  if (typeof address !== 'string') {
    found.push({ path, code: 'SPEC_INVALID', message: `http must be HOST:PORT such as 127.0.0.1:7070, or a mapping with address and allow_remote, got ${JSON.stringify(map.address ?? value)}` });
    return undefined;
  }
  let host: string;
  try {
    host = parseHttpAddress(address).host;
  } catch (err) {
    found.push({ path, code: 'SPEC_INVALID', message: errorMessage(err).replace(/^--http/, 'http') });
    return undefined;
  }
  if (!isLoopbackHost(host) && !allowRemote) {
    found.push({ path, code: 'SPEC_INVALID', message: `http: ${address} is not a loopback address; the listener has no TLS, so say allow_remote: true to serve it anyway (see docs/dashboard.md#threat-model)` });
    return undefined;
  }
  return { address, allowRemote };
}

/** tend.yaml as the daemon keeps it: the last good config, the current problems, a watch. */
export class ConfigFile {
  private good: DaemonConfig = EMPTY_CONFIG;
  private current: SpecProblem[] = [];
  private lastText: string | null | undefined;
  private watching = false;
  readonly display: string;

  constructor(readonly path: string) {
    this.display = displayPath(path);
  }

  get config(): DaemonConfig {
    return this.good;
  }

  get problems(): readonly SpecProblem[] {
    return this.current;
  }

  /** Reads the file again; resolves true when what is in force or the problems changed. */
  async load(): Promise<boolean> {
    // Read as a spec file is: never waiting on a FIFO (the daemon hung in its open() before its
    // socket was bound, and nothing could stop it) and bounded, with what it is said if it is not
    // a regular file.
    const read = await readRegularFile(this.path, MAX_FILE_BYTES);
    let text: string | null;
    if (read.ok) text = read.text;
    else if (read.missing) text = null;
    else {
      this.lastText = undefined;
      this.current = [{ file: this.display, line: 1, column: 1, code: read.code, message: read.code === 'SPEC_TOO_LARGE' ? `file ${read.reason}` : `the file ${read.reason}` }];
      return true;
    }
    if (text === this.lastText) return false;
    this.lastText = text;
    if (text === null) {
      this.good = EMPTY_CONFIG;
      this.current = [];
      return true;
    }
    const r = parseConfig(text, this.path, this.display);
    this.current = r.problems;
    if (r.config) this.good = r.config;
    return true;
  }

  /** Calls `onChange` after the file changed (a stat every `intervalMs`: one file, and it survives
   *  editors that replace it and deployments that create it). */
  watch(onChange: () => void, intervalMs = 1000): void {
    if (this.watching) return;
    this.watching = true;
    watchFile(this.path, { interval: intervalMs, persistent: false }, (cur, prev) => {
      if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) onChange();
    });
  }

  close(): void {
    if (this.watching) unwatchFile(this.path);
    this.watching = false;
  }
}
