// Shared by the import tests: a fixture copied into a temp directory (so `.env`, includes and
// relative paths resolve as they do for a user), `tend import` run there, and the imported
// directory supervised by a real daemon.

import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { parse } from 'yaml';
import type { StatusReport } from '../../src/api/types.js';
import { fsReader } from '../../src/import/fs-reader.js';
import { importSources } from '../../src/import/index.js';
import type { FieldReport, ImportFormat } from '../../src/import/types.js';
import { loadDirectory } from '../../src/spec/load.js';
import { startDaemon, type DaemonProcess } from '../helpers/daemon.js';
import { cleanup, ROOT, isAlive, tempDir, waitFor } from '../helpers/index.js';
import { runCli, type CliResult } from '../cli/run-cli.js';

export const IMPORT_FIXTURES = join(ROOT, 'test', 'import', 'fixtures');

/** A copy of fixtures/<format>/<name> in a fresh temp directory; returns that directory. */
export function fixtureCopy(t: TestContext, format: string, name: string): string {
  const root = tempDir(t);
  const dir = join(root, 'src');
  cpSync(join(IMPORT_FIXTURES, format, name), dir, { recursive: true });
  return dir;
}

/** Converts in process (the pure converters over the real files). */
export function convertFixture(format: ImportFormat, path: string, env?: string) {
  return importSources([path], fsReader, { from: format, cpus: 4, ...(env ? { env } : {}) });
}

/** `tend import ARGS` with cwd `dir`. */
export function tendImport(dir: string, args: string[]): Promise<CliResult> {
  return runCli(dir, ['import', ...args]);
}

/** The spec files of a directory, parsed, by service name; with their first two lines. */
export function readSpecs(dir: string): Map<string, { spec: Record<string, unknown>; header: string[] }> {
  const out = new Map<string, { spec: Record<string, unknown>; header: string[] }>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort()) {
    const text = readFileSync(join(dir, name), 'utf8');
    out.set(name.replace(/\.yaml$/, ''), { spec: parse(text) as Record<string, unknown>, header: text.split('\n').slice(0, 2) });
  }
  return out;
}

/** Asserts the directory passes `tend validate` (tend's own loader) and returns its services. */
export async function assertValid(dir: string): Promise<string[]> {
  const loaded = await loadDirectory(dir);
  assert.deepEqual(loaded.problems, [], 'the imported directory validates');
  return loaded.services.map((s) => s.name).sort();
}

/** The report row of `field` for `service` (or entry containing `service`). */
export function field(fields: readonly FieldReport[], service: string, name: string): FieldReport {
  const f = fields.find((x) => (x.service === service || x.entry === service || x.entry.endsWith(` ${service}`)) && x.field === name);
  assert.ok(f, `a report row for ${service} ${name}; rows: ${fields.filter((x) => x.service === service).map((x) => x.field).join(', ')}`);
  return f;
}

/** Every field of the source is reported: no report row without outcome and note or target. */
export function assertReportComplete(fields: readonly FieldReport[]): void {
  for (const f of fields) {
    assert.ok(['converted', 'approximated', 'dropped'].includes(f.outcome), JSON.stringify(f));
    assert.ok(f.outcome === 'converted' || f.note.length > 0, `a ${f.outcome} field says why: ${JSON.stringify(f)}`);
    if (f.outcome === 'dropped') assert.equal(f.to, '', `a dropped field goes nowhere: ${JSON.stringify(f)}`);
  }
}

/** Nothing was written: the output directory does not exist or is empty. */
export function assertNothingWritten(out: string): void {
  assert.ok(!existsSync(out) || readdirSync(out).length === 0, `nothing written to ${out}`);
}

/** A daemon supervising `servicesDir`; its replicas are killed after the test. */
export async function superviseImported(t: TestContext, servicesDir: string): Promise<DaemonProcess> {
  const state = join(servicesDir, '..', 'state');
  const d = await startDaemon(t, servicesDir, state);
  cleanup(t, async () => {
    try {
      await d.api.shutdown();
    } catch {
      /* already gone */
    }
    d.child.kill('SIGKILL');
  });
  return d;
}

export function service(s: StatusReport, name: string) {
  const found = s.services.find((x) => x.name === name);
  assert.ok(found, `service ${name} in status`);
  return found;
}

/** The environment of a live process, from /proc. */
export function environOf(pid: number): Record<string, string> {
  assert.ok(isAlive(pid), `pid ${pid} alive`);
  const out: Record<string, string> = {};
  for (const kv of readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/** Events of the daemon's state directory, oldest first. */
/** events.jsonl once it holds each of `wanted` ([type, service]): a status can answer before the
 *  last events are written (they go to the file after, off the daemon's loop). */
export async function eventsWith(servicesDir: string, wanted: [string, string][]): Promise<ReturnType<typeof eventsOf>> {
  return waitFor(
    () => {
      const events = eventsOf(servicesDir);
      return wanted.every(([type, svc]) => events.some((e) => e.type === type && e.service === svc)) ? events : undefined;
    },
    { what: `${wanted.map(([type, svc]) => `${type} of ${svc}`).join(', ')} in events.jsonl`, timeoutMs: 15_000 },
  );
}

export function eventsOf(servicesDir: string): { type: string; service?: string; replica?: number; ts: string }[] {
  const path = join(servicesDir, '..', 'state', 'events.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { type: string; service?: string; replica?: number; ts: string });
}
