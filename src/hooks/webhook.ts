// Sends a webhook: POST of a JSON body (a Slack-style `text` line and the event), headers and URL
// expanded from tend's environment, a timeout per attempt, retries with exponential back-off on
// network errors, timeouts, 5xx and 429. Never throws.

import { errorMessage } from '../errors.js';
import type { TendEvent } from '../api/types.js';
import { interpolate, unsetVariables } from '../spec/template.js';
import type { WebhookAction } from '../spec/hook-types.js';
import type { HookOutcome } from './types.js';
import { HOOK_DEFAULTS } from '../spec/hook-types.js';
import { Tail } from './command.js';

/** The body every webhook gets: `text` for chat tools (Slack, Mattermost, Discord's slack shim), and the event. */
export function webhookBody(event: TendEvent): { text: string; event: TendEvent } {
  return { text: eventSummary(event), event };
}

/** One line a person reads in a chat channel. */
export function eventSummary(e: TendEvent): string {
  const who = e.service === undefined ? '' : e.replica === undefined ? `${e.service}: ` : `${e.service}/${e.replica}: `;
  const code = e.exit_code !== undefined && e.exit_code !== null ? ` (exit code ${e.exit_code})` : e.signal ? ` (${e.signal})` : '';
  const reason = e.message ? ` — ${e.message}` : e.reason ? ` — ${e.reason}` : '';
  return `[tend] ${who}${e.type}${code}${reason}`;
}

// Sends one webhook, with its retries; resolves with how it ended.
export async function runWebhook(
  action: WebhookAction,
  event: TendEvent,
  env: NodeJS.ProcessEnv = process.env,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms).unref?.()),
): Promise<HookOutcome> {
  const lookup = (name: string) => env[name];
  // A secret that is not in tend's environment (a unit without its EnvironmentFile=) would go out
  // as `Authorization: Bearer ` and come back a 401, or post to a path with a hole in it.
  const unset = [
    ...unsetVariables(action.url, lookup).map((v) => `\${${v}} in its url`),
    ...Object.entries(action.headers).flatMap(([k, v]) => unsetVariables(v, lookup).map((name) => `\${${name}} in its ${k} header`)),
  ];
  if (unset.length > 0) {
    return { ok: false, attempts: 0, exitCode: null, output: '', timedOut: false, reason: `not sent: ${unset.join(', ')} ${unset.length === 1 ? 'is' : 'are'} not set in tend's environment (\`\${NAME:-default}\` gives a default)` };
  }
  const url = interpolate(action.url, lookup);
  if (!/^https?:\/\//i.test(url)) {
    return { ok: false, attempts: 0, exitCode: null, output: '', timedOut: false, reason: `url ${JSON.stringify(redact(url))} is not an http:// or https:// URL after expanding variables` };
  }
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'tend' };
  for (const [k, v] of Object.entries(action.headers)) headers[k] = interpolate(v, lookup);
  const body = JSON.stringify(webhookBody(event));
  let last: Extract<HookOutcome, { ok: false }> | undefined;
  for (let attempt = 1; attempt <= action.retries + 1; attempt++) {
    if (attempt > 1) await sleep(action.retryDelayMs * 2 ** (attempt - 2));
    const r = await post(url, headers, body, action.timeoutMs);
    if (r.ok) return { ok: true, attempts: attempt };
    last = { ok: false, attempts: attempt, exitCode: null, output: r.output, timedOut: r.timedOut, reason: r.reason };
    if (!r.retry) break;
  }
  return { ...last!, reason: `${last!.reason} (after ${last!.attempts} attempt${last!.attempts === 1 ? '' : 's'})` };
}

async function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<{ ok: true } | { ok: false; retry: boolean; reason: string; output: string; timedOut: boolean }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const res = await fetch(url, { method: 'POST', headers, body, signal: ac.signal, redirect: 'follow' });
    const tail = new Tail(HOOK_DEFAULTS.outputTail);
    try {
      tail.push(await res.text());
    } catch {
      /* the body is only for the report */
    }
    if (res.ok) return { ok: true };
    const retry = res.status >= 500 || res.status === 429 || res.status === 408;
    return { ok: false, retry, reason: `HTTP ${res.status} ${res.statusText}`.trim(), output: tail.text(), timedOut: false };
  } catch (err) {
    if (ac.signal.aborted) return { ok: false, retry: true, reason: `no answer within ${timeoutMs} ms`, output: '', timedOut: true };
    const cause = (err as { cause?: unknown }).cause;
    return { ok: false, retry: true, reason: errorMessage(cause ?? err), output: '', timedOut: false };
  } finally {
    clearTimeout(timer);
  }
}

// A URL without its path and query, which often hold the secret (Slack's /services/T000/B000/XXX).
function redact(url: string): string {
  return url.length > 40 ? `${url.slice(0, 40)}…` : url;
}
