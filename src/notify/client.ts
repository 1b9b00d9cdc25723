// `tend/notify`: the Node client of tend's stream protocol (DESIGN §9), for code that runs under
// tend. Dependency-free (node:net only) so that it can be imported by any replica.
//
//   import { connect } from 'tend/notify';
//   const tend = connect<{ progress: { done: number; total: number } }>();
//   tend.status('warming up');
//   tend.ready();
//   tend.emit('progress', { done: 3, total: 10 });
//
// Outside tend (no TEND_NOTIFY_SOCKET) every call is a no-op and `inside` is false, so a program
// runs the same under tend and without it. Messages said while disconnected are queued (bounded)
// and sent after the next hello; the client reconnects by itself when tend restarts, and says
// `ready` and its last status again so that a new tend knows them even if its state file did not.

import { connect as netConnect, type Socket } from 'node:net';

export interface NotifyClientOptions {
  /** Default: $TEND_NOTIFY_SOCKET. */
  socket?: string;
  /** Default: $TEND_NOTIFY_TOKEN. */
  token?: string;
  /** Heartbeat period in ms; false for none. Default: a third of $TEND_WATCHDOG_MS when tend runs
   *  a watchdog for this replica, else none. */
  heartbeatMs?: number | false;
  /** Longest wait between reconnect attempts (ms). Default 2000. */
  maxReconnectMs?: number;
  /** Messages kept while disconnected. Default 1000; the oldest are dropped beyond it. */
  maxQueue?: number;
}

type EventMap = Record<string, unknown>;

export class TendNotify<E extends EventMap = EventMap> {
  /** True when this process runs under tend (the variables are set). */
  readonly inside: boolean;
  private socket?: Socket;
  private connected = false;
  private closed = false;
  private queue: string[] = [];
  private said: { ready: boolean; status?: string } = { ready: false };
  private retryMs = 50;
  private retryTimer?: NodeJS.Timeout;
  private beatTimer?: NodeJS.Timeout;
  private seq = 0;
  private readonly acks = new Map<number, (ok: boolean, error?: string) => void>();
  private readonly path: string;
  private readonly token: string;

  constructor(private readonly opts: NotifyClientOptions = {}) {
    this.path = opts.socket ?? process.env.TEND_NOTIFY_SOCKET ?? '';
    this.token = opts.token ?? process.env.TEND_NOTIFY_TOKEN ?? '';
    this.inside = this.path !== '' && this.token !== '';
    if (!this.inside) return;
    this.open();
    const watchdog = Number(process.env.TEND_WATCHDOG_MS);
    const every = opts.heartbeatMs ?? (watchdog > 0 ? Math.max(10, Math.floor(watchdog / 3)) : false);
    if (every) {
      this.beatTimer = setInterval(() => this.heartbeat(), every);
      this.beatTimer.unref();
    }
  }

  /** Start-up is done: with `readiness: { notify: true }` this makes the replica ready. */
  ready(): void {
    this.said.ready = true;
    this.send({ type: 'ready' });
  }

  /** A one-line status, shown by `tend status` and sent as a `replica.status` event. */
  status(text: string): void {
    this.said.status = text;
    this.send({ type: 'status', text });
  }

  /** Still alive (the watchdog). Sent automatically when tend runs a watchdog for this replica. */
  heartbeat(): void {
    this.send({ type: 'heartbeat' });
  }

  /** A typed event; tend checks `data` against the schema of `events.<name>` in the spec. */
  emit<N extends keyof E & string>(name: N, data: E[N]): void {
    this.send({ type: 'event', name, data });
  }

  /** Resolves true once tend has read everything sent so far; false outside tend, after close(),
   *  or when tend did not answer within `timeoutMs`. */
  flush(timeoutMs = 5000): Promise<boolean> {
    if (!this.inside || this.closed) return Promise.resolve(false);
    const id = ++this.seq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.acks.delete(id);
        resolve(false);
      }, timeoutMs);
      timer.unref();
      this.acks.set(id, (ok) => {
        clearTimeout(timer);
        resolve(ok);
      });
      this.send({ type: 'ping', id });
    });
  }

  /** Stops heartbeats and reconnects, and closes the connection (after what is queued is written). */
  close(): void {
    this.closed = true;
    clearInterval(this.beatTimer);
    clearTimeout(this.retryTimer);
    this.socket?.end();
  }

  private send(obj: Record<string, unknown>): void {
    if (!this.inside || this.closed) return;
    const line = JSON.stringify(obj) + '\n';
    if (this.connected && this.socket) {
      this.socket.write(line);
      return;
    }
    this.queue.push(line);
    const max = this.opts.maxQueue ?? 1000;
    if (this.queue.length > max) this.queue.splice(0, this.queue.length - max);
  }

  private open(): void {
    if (this.closed) return;
    const s = netConnect(this.path);
    this.socket = s;
    // The connection must never keep a finished program alive.
    s.unref();
    let buf = '';
    s.setEncoding('utf8');
    s.on('connect', () => {
      s.write(JSON.stringify({ type: 'hello', token: this.token }) + '\n');
    });
    s.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.onLine(s, line);
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      if (this.socket !== s) return;
      this.connected = false;
      this.socket = undefined;
      if (this.closed) return;
      this.retryTimer = setTimeout(() => this.open(), this.retryMs);
      this.retryTimer.unref();
      this.retryMs = Math.min(this.opts.maxReconnectMs ?? 2000, this.retryMs * 2);
    });
  }

  private onLine(s: Socket, line: string): void {
    let m: { type?: string; id?: unknown; ok?: boolean; error?: string };
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    if (m.type === 'welcome') {
      this.connected = true;
      this.retryMs = 50;
      // Say again what a new tend may not know, then what waited for the connection.
      const again: string[] = [];
      if (this.said.ready) again.push(JSON.stringify({ type: 'ready' }) + '\n');
      if (this.said.status !== undefined) again.push(JSON.stringify({ type: 'status', text: this.said.status }) + '\n');
      const queued = this.queue;
      this.queue = [];
      for (const l of [...again.filter((l) => !queued.includes(l)), ...queued]) s.write(l);
    } else if (m.type === 'ack' && typeof m.id === 'number') {
      const done = this.acks.get(m.id);
      this.acks.delete(m.id);
      done?.(m.ok === true, m.error);
    }
  }
}

/** A client for this replica, configured from its environment. */
export function connect<E extends EventMap = EventMap>(opts?: NotifyClientOptions): TendNotify<E> {
  return new TendNotify<E>(opts);
}
