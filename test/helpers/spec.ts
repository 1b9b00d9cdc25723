// Helpers for spec and graph tests: a spec directory in a temp dir, problems as
// `file:line:col: message` relative to it, and a builder for normalised specs.

import { relative } from 'node:path';
import type { TestContext } from 'node:test';
import type { SpecProblem } from '../../src/errors.js';
import { loadDirectory, type LoadOptions } from '../../src/spec/load.js';
import { DEFAULTS } from '../../src/spec/normalize.js';
import type { LoadResult, ServiceSpec } from '../../src/spec/types.js';
import { tempDir } from './index.js';

/** A temp spec directory holding `files`. */
export function specDir(t: TestContext, files: Record<string, string>): string {
  return tempDir(t, files);
}

/** `web.yaml:7:11: message`, with the file relative to `dir`. */
export function formatRelative(dir: string, p: SpecProblem): string {
  return `${relative(dir, p.file)}:${p.line}:${p.column}: ${p.message}`;
}

/** Loads a fresh temp directory holding `files`. */
export async function loadSpecs(t: TestContext, files: Record<string, string>, opts: LoadOptions = {}): Promise<{ dir: string; result: LoadResult; problems: string[] }> {
  const dir = specDir(t, files);
  const result = await loadDirectory(dir, opts);
  return { dir, result, problems: result.problems.map((p) => formatRelative(dir, p)) };
}

/** A normalised spec with every default, for graph and expansion tests. */
export function service(name: string, over: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name,
    file: `/specs/${name}.yaml`,
    line: 1,
    command: ['node', 'x.js'],
    cwd: '/specs',
    env: {},
    envFiles: [],
    replicas: 1,
    ports: {},
    dependsOn: {},
    restart: DEFAULTS.restart,
    backoff: { ...DEFAULTS.backoff },
    maxRestarts: DEFAULTS.maxRestarts,
    restartWindowMs: DEFAULTS.restartWindowMs,
    stopSignal: DEFAULTS.stopSignal,
    stopTimeoutMs: DEFAULTS.stopTimeoutMs,
    stopEscaped: 'keep',
    oneshot: false,
    update: { ...DEFAULTS.update },
    limits: { ...DEFAULTS.limits },
    logs: { ...DEFAULTS.logs },
    labels: {},
    hash: 'h',
    ...over,
  };
}
