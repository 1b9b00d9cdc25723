// A point in time as --since and --until take it (logs, history): a duration ago or a time of day
// or date, read the same way by every command.

import { TendError } from '../errors.js';
import { parseDuration } from './context.js';

/** `10m`, `2h`, `1d` ago, or a time: `2026-11-30T19:00:00Z`, `2026-11-30 19:00` (local), `19:00` (today, local). */
export function parseTime(arg: string, option: string, now: number): number {
  const ago = /^(\d+(?:\.\d+)?)d$/.exec(arg.trim());
  if (ago) return now - Math.round(Number(ago[1]) * 86_400_000);
  if (/^\d+(?:\.\d+)?(ms|s|m|h)$/.test(arg.trim())) return now - parseDuration(arg, option);
  const clock = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(arg.trim());
  if (clock) {
    const d = new Date(now);
    d.setHours(Number(clock[1]), Number(clock[2]), Number(clock[3] ?? 0), 0);
    return d.getTime();
  }
  const t = Date.parse(arg.trim().replace(/^(\d{4}-\d{2}-\d{2}) /, '$1T'));
  if (Number.isNaN(t)) {
    throw new TendError('API_BAD_REQUEST', `expected ${option} to be a duration ago (10m, 2h, 1d) or a time (2026-11-30T19:00:00Z, "2026-11-30 19:00", 19:00), got "${arg}"`);
  }
  return t;
}
