// Builders for hook specs in tests.
import type { HookSpec } from '../../src/spec/hook-types.js';
import { selectorOf } from '../../src/spec/hook-events.js';

export function commandHook(on: string, command: string[], cwd: string, extra: Partial<HookSpec> & { timeoutMs?: number } = {}): HookSpec {
  const { timeoutMs = 10_000, ...rest } = extra;
  return { on, selector: selectorOf(on)!, action: { kind: 'command', command, cwd, timeoutMs }, origin: 'test:1', ...rest };
}

export function webhook(on: string, url: string, extra: Partial<HookSpec> & { timeoutMs?: number; retries?: number; headers?: Record<string, string> } = {}): HookSpec {
  const { timeoutMs = 5000, retries = 0, headers = {}, ...rest } = extra;
  return { on, selector: selectorOf(on)!, action: { kind: 'webhook', url, headers, timeoutMs, retries, retryDelayMs: 10 }, origin: 'test:2', ...rest };
}
