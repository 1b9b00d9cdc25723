// Timing helpers: a monotonic clock, sleep, and polling until a condition holds.

export const now = (): number => performance.now();

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class TimeoutError extends Error {}

/**
 * Polls `cond` every `intervalMs` until it returns a non-false value; resolves with that value and
 * the time (performance.now()) at which it was first seen. Throws TimeoutError after `timeoutMs`.
 */
export async function waitFor<T>(
  what: string,
  cond: () => T | false | undefined | Promise<T | false | undefined>,
  opts: { intervalMs?: number; timeoutMs?: number } = {},
): Promise<{ value: T; at: number }> {
  const interval = opts.intervalMs ?? 10;
  const deadline = now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    const value = await cond();
    const at = now();
    if (value !== false && value !== undefined) return { value, at };
    if (at > deadline) throw new TimeoutError(`timed out after ${opts.timeoutMs ?? 60_000} ms waiting for ${what}`);
    await sleep(interval);
  }
}
