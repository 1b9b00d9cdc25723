// Talking to the daemon from the page: every request carries the bearer token; 401 means the token
// is missing or wrong, and the page asks for it. The token comes from the URL fragment that
// `tend dashboard` prints (never sent to a server), is kept for this tab only (sessionStorage), and
// is removed from the address bar at once.

import { SseParser } from './sse.js';
import type { PageEvent, ScaleResult, Status } from './types.js';

const KEY = 'tend.token';

export type Action = 'restart' | 'pause' | 'resume' | 'stop' | 'start';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Takes `#token=...` out of the address bar into sessionStorage; returns the token to use. */
export function adoptTokenFromUrl(): string | null {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(KEY, decodeURIComponent(m[1]!));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}

export class Api {
  constructor(
    private readonly token: string,
    /** Called on any 401, so the page can ask for a token again. */
    private readonly onUnauthorized: () => void,
  ) {}

  status(): Promise<Status> {
    return this.json('GET', '/v1/status');
  }

  /** restart, pause, resume: every replica or one; stop, start: the run-time hold of a whole service. */
  act(action: Action, service: string, replica?: number): Promise<unknown> {
    return this.json('POST', `/v1/services/${encodeURIComponent(service)}/${action}`, replica === undefined ? {} : { replica });
  }

  scale(service: string, replicas: number, opts: { dryRun: boolean; base?: string }): Promise<ScaleResult> {
    return this.json('POST', `/v1/services/${encodeURIComponent(service)}/scale`, {
      replicas,
      dry_run: opts.dryRun,
      ...(opts.base === undefined ? {} : { base: opts.base }),
    });
  }

  /** Opens a streaming GET; the caller reads the body. */
  async stream(path: string, signal: AbortSignal, headers: Record<string, string> = {}): Promise<Response> {
    const res = await fetch(path, { headers: { authorization: `Bearer ${this.token}`, ...headers }, signal, cache: 'no-store' });
    if (!res.ok) throw await this.failure(res);
    return res;
  }

  /**
   * Follows GET /v1/events until `signal` aborts, reconnecting with Last-Event-ID after a break
   * (a daemon restart) so that no event is lost and none is shown twice: ids are monotonic, and
   * anything at or below the last id seen is dropped. Without ids (an older daemon), a reconnect
   * replays the history, and `onReset` tells the page to start its list again.
   */
  async followEvents(
    signal: AbortSignal,
    handlers: { onEvent(e: PageEvent): void; onReset(): void; onLive(live: boolean): void },
  ): Promise<void> {
    let lastId: string | undefined;
    let delay = 250;
    let first = true;
    while (!signal.aborted) {
      try {
        const headers: Record<string, string> = lastId === undefined ? {} : { 'last-event-id': lastId };
        const res = await this.stream(`/v1/events${lastId === undefined ? '?tail=500' : ''}`, signal, headers);
        if (!first && lastId === undefined) handlers.onReset();
        first = false;
        handlers.onLive(true);
        delay = 250;
        const parser = new SseParser();
        const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const m of parser.push(value)) {
            if (m.id !== undefined && lastId !== undefined && !after(m.id, lastId)) continue;
            if (m.id !== undefined) lastId = m.id;
            let e: PageEvent;
            try {
              e = JSON.parse(m.data) as PageEvent;
            } catch {
              continue;
            }
            handlers.onEvent(e);
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ApiError && err.status === 401) return;
      }
      handlers.onLive(false);
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 2000);
    }
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        cache: 'no-store',
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw new ApiError(0, 'DAEMON_UNREACHABLE', `cannot reach the daemon: ${(err as Error).message}`);
    }
    if (!res.ok) throw await this.failure(res);
    return (await res.json()) as T;
  }

  private async failure(res: Response): Promise<ApiError> {
    let code = 'INTERNAL';
    let message = `HTTP ${res.status}`;
    try {
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch {
      /* not JSON */
    }
    if (res.status === 401) this.onUnauthorized();
    return new ApiError(res.status, code, message);
  }
}

/** Ids compare as numbers when both are numbers, else as strings. */
function after(id: string, last: string): boolean {
  if (/^\d+$/.test(id) && /^\d+$/.test(last)) return id.length !== last.length ? id.length > last.length : id > last;
  return id > last;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
