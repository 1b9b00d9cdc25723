// The notify fields of a service spec (DESIGN §9): `notify`, `readiness: { notify: true }`,
// `watchdog`, `events` and `metadata`, normalised into one NotifySpec. Called by
// normalizeService with its own `fail` and `duration`, so problems carry file:line:col like every
// other field's.

import { createRequire } from 'node:module';
import type AjvModule from 'ajv';
import type { YamlPath } from '../spec/located.js';
import type { NotifySpec } from '../spec/types.js';

// The ajv compiler is loaded only for a spec that declares events: loading specs otherwise uses
// the precompiled validator alone (test/spec/schema-build.test.ts), and start-up stays quick.
let Ajv: typeof AjvModule.default | undefined;
/** A fresh compiler per schema: two specs' schemas with the same $id must not collide. */
export function compiler(): InstanceType<typeof AjvModule.default> {
  Ajv ??= (createRequire(import.meta.url)('ajv') as typeof AjvModule).default;
  return new Ajv({ strict: false });
}

export const NOTIFY_DEFAULTS = {
  readyTimeoutMs: 90_000,
  /** TEND_METADATA is one environment variable; Linux allows 128 KiB per string, keep well under. */
  maxMetadataBytes: 32 * 1024,
} as const;

type Fail = (path: YamlPath, message: string, at?: 'key' | 'value') => void;
type Duration = (path: YamlPath, fallback: number, opts?: { positive?: boolean }) => number;

export function normalizeNotify(raw: Record<string, unknown>, fail: Fail, duration: Duration): NotifySpec | undefined {
  const readiness = asRecord(raw.readiness);
  const liveness = asRecord(raw.liveness);
  let readyTimeoutMs: number | undefined;
  if (readiness.notify === true) {
    readyTimeoutMs = duration(['readiness', 'timeout'], NOTIFY_DEFAULTS.readyTimeoutMs, { positive: true });
    for (const k of ['interval', 'failure_threshold', 'success_threshold', 'start_period']) {
      if (k in readiness) fail(['readiness', k], `readiness.${k} does not apply to notify: true (tend waits for READY, up to readiness.timeout)`, 'key');
    }
  }
  if ('notify' in liveness) {
    fail(['liveness', 'notify'], 'liveness cannot be notify: true; to restart a replica whose heartbeats stop, use watchdog: <duration>', 'key');
  }

  const watchdogMs = raw.watchdog === undefined ? undefined : duration(['watchdog'], 0, { positive: true });

  const events: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(asRecord(raw.events))) {
    if (typeof schema !== 'boolean' && (schema === null || typeof schema !== 'object')) continue; // the schema reported it
    try {
      compiler().compile(schema as object);
      events[name] = schema;
    } catch (err) {
      fail(['events', name], `events.${name} is not a valid JSON Schema: ${(err as Error).message}`);
    }
  }

  let metadata: unknown;
  if (raw.metadata !== undefined) {
    const text = JSON.stringify(raw.metadata);
    if (Buffer.byteLength(text) > NOTIFY_DEFAULTS.maxMetadataBytes) {
      fail(['metadata'], `metadata is ${Buffer.byteLength(text)} bytes as JSON; at most ${NOTIFY_DEFAULTS.maxMetadataBytes} fit in TEND_METADATA`);
    }
    metadata = raw.metadata;
  }

  const systemd = raw.notify === 'systemd';
  const used = systemd || readyTimeoutMs !== undefined || watchdogMs !== undefined || raw.events !== undefined || metadata !== undefined;
  if (!used) return undefined;
  return {
    systemd,
    ...(readyTimeoutMs !== undefined ? { readyTimeoutMs } : {}),
    ...(watchdogMs !== undefined ? { watchdogMs } : {}),
    events,
    ...(metadata !== undefined ? { metadata } : {}),
  };
}

/** The part of NotifySpec that reaches the replica's environment, for the process hash: undefined
 *  when nothing does, so that a spec without these fields keeps the hash it always had. Events and
 *  the start-up timeout apply to running replicas without a restart. */
export function notifyHashPart(n: NotifySpec | undefined): Record<string, unknown> | undefined {
  if (!n || (!n.systemd && n.watchdogMs === undefined && n.metadata === undefined)) return undefined;
  return { systemd: n.systemd, watchdogMs: n.watchdogMs ?? null, metadata: n.metadata ?? null };
}

function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
