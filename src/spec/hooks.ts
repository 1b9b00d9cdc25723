// Pure: the `on:` and `alerts:` mappings (of a service spec or of tend.yaml) → HookSpec[] and
// AlertRulesSpec, with every problem as a path, so the caller can point at file:line:col. It checks
// everything itself (tend.yaml has no JSON Schema), so in a service file it only meets what the
// schema let through.

import { resolve } from 'node:path';
import type { PathProblem, YamlPath } from './located.js';
import { didYouMean } from './suggest.js';
import { templateError } from './template.js';
import { DURATION_HINT, parseDuration, parseSize } from './units.js';
import { ALERT_NAMES, HOOK_KEYS, selectorOf } from './hook-events.js';
import type { AlertRulesSpec, HookSpec } from './hook-types.js';
import { HOOK_DEFAULTS } from './hook-types.js';

type Raw = Record<string, unknown>;

export interface HookContext {
  /** Relative `cwd` of a command hook resolves against this directory. */
  dir: string;
  /** How a hook's origin is named (`services.d/web.yaml`). */
  file: string;
  /** A service's own hooks see only its events; tend.yaml's hooks may name `services:`. */
  service?: string;
}

const COMMAND_KEYS = ['command', 'cwd', 'timeout'];
const WEBHOOK_KEYS = ['url', 'headers', 'timeout', 'retries', 'retry_delay'];

function label(path: YamlPath): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function isRecord(v: unknown): v is Raw {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function show(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return JSON.stringify(v);
}

// The hooks of an `on:` mapping found at `at` (['on'] in a spec or in tend.yaml).
export function normalizeHooks(raw: unknown, at: YamlPath, ctx: HookContext): { hooks: HookSpec[]; problems: PathProblem[] } {
  const hooks: HookSpec[] = [];
  const problems: PathProblem[] = [];
  const fail = (path: YamlPath, message: string, where: 'key' | 'value' = 'value') => problems.push({ path, at: where, message, code: 'SPEC_INVALID' });
  if (raw === undefined || raw === null) return { hooks, problems };
  if (!isRecord(raw)) {
    fail(at, `${label(at)} must be a mapping of event name to hooks, got ${show(raw)}`);
    return { hooks, problems };
  }
  for (const [key, list] of Object.entries(raw)) {
    const selector = selectorOf(key);
    if (!selector) {
      fail([...at, key], `unknown event ${JSON.stringify(key)} in ${label(at)}${didYouMean(key, HOOK_KEYS) || ' (see docs/hooks.md for the names)'}`, 'key');
      continue;
    }
    const items = Array.isArray(list) ? list : [list];
    items.forEach((item, i) => {
      const path: YamlPath = Array.isArray(list) ? [...at, key, i] : [...at, key];
      const where = label(path);
      if (!isRecord(item)) {
        fail(path, `${where} must be a hook (a mapping with command or url), got ${show(item)}`);
        return;
      }
      const allowed = [...new Set([...COMMAND_KEYS, ...WEBHOOK_KEYS, ...(ctx.service === undefined ? ['services'] : [])])];
      let bad = false;
      for (const k of Object.keys(item)) {
        if (!allowed.includes(k)) {
          const hint = k === 'services' ? ' (a service\'s own hooks only see its events; name services in tend.yaml)' : didYouMean(k, allowed) || ` (expected one of: ${allowed.join(', ')})`;
          fail([...path, k], `unknown key ${JSON.stringify(k)} in ${where}${hint}`, 'key');
          bad = true;
        }
      }
      const hasCommand = item.command !== undefined;
      const hasUrl = item.url !== undefined;
      if (!hasCommand && !hasUrl) return void fail(path, `${where} needs a "command" (argv) or a "url" (webhook)`, 'key');
      if (hasCommand && hasUrl) return void fail(path, `${where} has both "command" and "url"; a hook is one or the other`, 'key');
      const duration = (k: string, fallback: number): number => {
        const v = item[k];
        if (v === undefined) return fallback;
        const ms = parseDuration(v);
        if (ms === null || ms === 0) {
          fail([...path, k], `${where}.${k} must be ${DURATION_HINT} (more than 0), got ${show(v)}`);
          return fallback;
        }
        return ms;
      };
      let services: string[] | undefined;
      if (item.services !== undefined) {
        if (!Array.isArray(item.services) || item.services.some((s) => typeof s !== 'string')) {
          fail([...path, 'services'], `${where}.services must be a list of service names, got ${show(item.services)}`);
          bad = true;
        } else services = item.services as string[];
      }
      const origin = `${ctx.file} ${where}`;
      if (hasCommand) {
        for (const k of WEBHOOK_KEYS.filter((k) => !COMMAND_KEYS.includes(k))) {
          if (item[k] !== undefined) {
            fail([...path, k], `${where}.${k} only applies to a webhook (url), not to a command`, 'key');
            bad = true;
          }
        }
        let command: string[] = [];
        if (Array.isArray(item.command) && item.command.includes(undefined)) bad = true; // the schema said which item
        else if (typeof item.command === 'string' && item.command.trim() !== '') command = ['/bin/sh', '-c', item.command];
        else if (Array.isArray(item.command) && item.command.length > 0 && item.command.every((a) => typeof a === 'string' || typeof a === 'number') && String(item.command[0]).trim() !== '') {
          command = item.command.map(String);
        } else {
          fail([...path, 'command'], `${where}.command must be a list of strings (argv) or a string (run by /bin/sh -c), not empty, got ${show(item.command)}`);
          bad = true;
        }
        if (item.cwd !== undefined && (typeof item.cwd !== 'string' || item.cwd === '')) {
          fail([...path, 'cwd'], `${where}.cwd must be a directory path, got ${show(item.cwd)}`);
          bad = true;
        }
        const timeoutMs = duration('timeout', HOOK_DEFAULTS.commandTimeoutMs);
        if (bad) return;
        const cwd = typeof item.cwd === 'string' ? resolve(ctx.dir, item.cwd) : ctx.dir;
        hooks.push({ on: key, selector, ...scope(ctx, services), action: { kind: 'command', command, cwd, timeoutMs }, origin });
        return;
      }
      for (const k of ['cwd']) {
        if (item[k] !== undefined) {
          fail([...path, k], `${where}.${k} only applies to a command, not to a webhook`, 'key');
          bad = true;
        }
      }
      const url = item.url;
      if (typeof url !== 'string' || url === '') {
        fail([...path, 'url'], `${where}.url must be an http:// or https:// URL, got ${show(url)}`);
        bad = true;
      } else if (templateError(url)) {
        fail([...path, 'url'], `${where}.url: ${templateError(url)} (write $$ for a literal $)`);
        bad = true;
      } else if (!url.startsWith('${') && !/^https?:\/\/[^/\s]+/i.test(url)) {
        // A URL that starts with ${VAR} is checked when it is sent (a Slack URL is a secret kept in the environment).
        fail([...path, 'url'], `${where}.url must be an http:// or https:// URL, got ${show(url)}`);
        bad = true;
      }
      const headers: Record<string, string> = {};
      if (item.headers !== undefined) {
        if (!isRecord(item.headers)) {
          fail([...path, 'headers'], `${where}.headers must be a mapping of header name to value, got ${show(item.headers)}`);
          bad = true;
        } else {
          for (const [h, v] of Object.entries(item.headers)) {
            if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(h)) {
              fail([...path, 'headers', h], `${where}.headers: ${JSON.stringify(h)} is not a valid header name`, 'key');
              bad = true;
            } else if (typeof v !== 'string' && typeof v !== 'number') {
              fail([...path, 'headers', h], `${where}.headers.${h} must be a string (it may use \${VAR}), got ${show(v)}`);
              bad = true;
            } else headers[h] = String(v);
          }
        }
      }
      let retries: number = HOOK_DEFAULTS.retries;
      if (item.retries !== undefined) {
        if (typeof item.retries !== 'number' || !Number.isInteger(item.retries) || item.retries < 0 || item.retries > 20) {
          fail([...path, 'retries'], `${where}.retries must be a whole number from 0 to 20, got ${show(item.retries)}`);
          bad = true;
        } else retries = item.retries;
      }
      const timeoutMs = duration('timeout', HOOK_DEFAULTS.webhookTimeoutMs);
      const retryDelayMs = duration('retry_delay', HOOK_DEFAULTS.retryDelayMs);
      if (bad) return;
      hooks.push({ on: key, selector, ...scope(ctx, services), action: { kind: 'webhook', url: url as string, headers, timeoutMs, retries, retryDelayMs }, origin });
    });
  }
  return { hooks, problems };
}

function scope(ctx: HookContext, services: string[] | undefined): { services?: string[] } {
  if (ctx.service !== undefined) return { services: [ctx.service] };
  return services === undefined ? {} : { services };
}

const PERCENT = /^(\d+(?:\.\d+)?)\s*%$/;

// The rules of an `alerts:` mapping found at `at`.
export function normalizeAlerts(raw: unknown, at: YamlPath): { alerts: AlertRulesSpec; problems: PathProblem[] } {
  const alerts: AlertRulesSpec = {};
  const problems: PathProblem[] = [];
  const fail = (path: YamlPath, message: string, where: 'key' | 'value' = 'value') => problems.push({ path, at: where, message, code: 'SPEC_INVALID' });
  if (raw === undefined || raw === null) return { alerts, problems };
  if (!isRecord(raw)) {
    fail(at, `${label(at)} must be a mapping of alert name to its rule, got ${show(raw)}`);
    return { alerts, problems };
  }
  for (const [name, value] of Object.entries(raw)) {
    const path = [...at, name];
    const where = label(path);
    if (!(ALERT_NAMES as readonly string[]).includes(name)) {
      fail(path, `unknown alert ${JSON.stringify(name)} in ${label(at)}${didYouMean(name, ALERT_NAMES) || ` (expected one of: ${ALERT_NAMES.join(', ')})`}`, 'key');
      continue;
    }
    if (value === false) {
      (alerts as Record<string, unknown>)[name] = false;
      continue;
    }
    // `unhealthy_for: 2m` is short for `{ for: 2m }`; `true` takes the default duration of 0.
    const rule: Raw = value === true ? {} : isRecord(value) ? value : name === 'unhealthy_for' || name === 'crash_loop' || name === 'watchdog_stale' ? { for: value } : { __bad: value };
    if ('__bad' in rule) {
      fail(path, `${where} must be false or a mapping (${ruleHint(name)}), got ${show(value)}`);
      continue;
    }
    const allowed = name === 'restart_rate' ? ['max', 'window'] : name === 'cpu_high' || name === 'memory_high' ? ['above', 'for'] : ['for'];
    let bad = false;
    for (const k of Object.keys(rule)) {
      if (!allowed.includes(k)) {
        fail([...path, k], `unknown key ${JSON.stringify(k)} in ${where}${didYouMean(k, allowed) || ` (expected ${allowed.join(', ')})`}`, 'key');
        bad = true;
      }
    }
    const dur = (k: string, fallback: number | undefined, required = false): number => {
      const v = rule[k];
      const p: YamlPath = isRecord(value) ? [...path, k] : path;
      if (v === undefined) {
        if (required || fallback === undefined) {
          fail(path, `${where} needs "${k}" (${ruleHint(name)})`, 'key');
          bad = true;
        }
        return fallback ?? 0;
      }
      const ms = parseDuration(v);
      if (ms === null) {
        fail(p, `${isRecord(value) ? `${where}.${k}` : where} must be ${DURATION_HINT}, got ${show(v)}`);
        bad = true;
        return 0;
      }
      return ms;
    };
    switch (name) {
      case 'crash_loop':
      case 'watchdog_stale':
      case 'unhealthy_for': {
        const forMs = dur('for', name === 'unhealthy_for' ? undefined : 0);
        if (!bad) (alerts as Record<string, unknown>)[name] = { forMs };
        break;
      }
      case 'restart_rate': {
        const max = rule.max;
        if (max === undefined) {
          fail(path, `${where} needs "max" (${ruleHint(name)})`, 'key');
          bad = true;
        } else if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) {
          fail([...path, 'max'], `${where}.max must be a whole number of restarts, 1 or more, got ${show(max)}`);
          bad = true;
        }
        const windowMs = dur('window', undefined, true);
        if (!bad && windowMs === 0) {
          fail([...path, 'window'], `${where}.window must be longer than 0`);
          bad = true;
        }
        if (!bad) alerts.restart_rate = { max: max as number, windowMs };
        break;
      }
      case 'cpu_high': {
        const above = rule.above;
        const m = typeof above === 'string' ? PERCENT.exec(above.trim()) : null;
        if (above === undefined) {
          fail(path, `${where} needs "above" (${ruleHint(name)})`, 'key');
          bad = true;
        } else if (!m || Number(m[1]) <= 0) {
          fail([...path, 'above'], `${where}.above must be a percentage with its unit, like 90% (100% = one core), got ${show(above)}`);
          bad = true;
        }
        const forMs = dur('for', undefined, true);
        if (!bad) alerts.cpu_high = { percent: Number(m![1]), forMs };
        break;
      }
      case 'memory_high': {
        const above = rule.above;
        const bytes = typeof above === 'string' && /[A-Za-z]\s*$/.test(above) ? parseSize(above) : null;
        if (above === undefined) {
          fail(path, `${where} needs "above" (${ruleHint(name)})`, 'key');
          bad = true;
        } else if (bytes === null || bytes === 0) {
          fail([...path, 'above'], `${where}.above must be a size with its unit, like 512Mi or 2G, got ${show(above)}`);
          bad = true;
        }
        const forMs = dur('for', undefined, true);
        if (!bad) alerts.memory_high = { bytes: bytes!, forMs };
        break;
      }
    }
  }
  return { alerts, problems };
}

function ruleHint(name: string): string {
  switch (name) {
    case 'restart_rate':
      return 'e.g. { max: 5, window: 10m }';
    case 'cpu_high':
      return 'e.g. { above: 90%, for: 5m }';
    case 'memory_high':
      return 'e.g. { above: 512Mi, for: 5m }';
    case 'unhealthy_for':
      return 'e.g. 2m or { for: 2m }';
    default:
      return 'true, false or { for: 1m }';
  }
}
