// One reading of a signal for the CLI and the API: `HUP`, `sighup`, `SIGHUP` and `1` all mean
// SIGHUP (as kill(1) takes them).

import { constants as osConstants } from 'node:os';

const SIGNALS = osConstants.signals as Record<string, number>;

/** The signal a user meant, or undefined when it names none. Accepts a name with or without `SIG`
 *  in any case, or a signal number (as a number or digits). */
export function parseSignal(value: unknown): NodeJS.Signals | undefined {
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value))) {
    const n = Number(value);
    if (!Number.isInteger(n)) return undefined;
    return Object.keys(SIGNALS).find((k) => SIGNALS[k] === n) as NodeJS.Signals | undefined;
  }
  if (typeof value !== 'string') return undefined;
  const upper = value.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  return Object.hasOwn(SIGNALS, name) ? (name as NodeJS.Signals) : undefined;
}
