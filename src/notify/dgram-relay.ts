// tend's side of the datagram helper (libexec/tend-dgram-helper.mjs): starts it on first use, asks it to open
// and close sockets, and hands back what arrives. A helper that dies is started again and every
// open socket re-created at its path (senders address a path, not a socket, so they carry on).

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { helperEnv } from '../runtime/spawn-helper.js';

export interface RelayOptions {
  ratePerSec: number;
  burst: number;
  maxBytes: number;
  onDatagram: (id: string, buf: Buffer) => void;
  /** Datagrams the helper refused, by reason, since its last report. */
  onDrops: (id: string, reason: string, n: number) => void;
  onError: (id: string, message: string) => void;
}

export class DatagramRelay {
  private child?: ChildProcess;
  private readonly open = new Map<string, string>();
  private readonly waiting = new Map<string, { resolve: () => void; reject: (err: Error) => void }>();
  private stopped = false;

  constructor(private readonly opts: RelayOptions) {}

  /** Binds a socket at `path` for `id`; resolves once senders can reach it. */
  bind(id: string, path: string): Promise<void> {
    this.open.set(id, path);
    const bound = new Promise<void>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.send({ op: 'open', id, path });
    return bound;
  }

  unbind(id: string): void {
    if (!this.open.delete(id)) return;
    this.waiting.get(id)?.resolve();
    this.waiting.delete(id);
    this.send({ op: 'close', id });
  }

  /** Stops the helper; sockets close with it (their files stay for a later tend to replace). */
  stop(): void {
    this.stopped = true;
    for (const w of this.waiting.values()) w.resolve();
    this.waiting.clear();
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private send(obj: Record<string, unknown>): void {
    if (this.stopped) return;
    this.ensureChild().stdin!.write(JSON.stringify(obj) + '\n');
  }

  private ensureChild(): ChildProcess {
    if (this.child) return this.child;
    const child = spawn(process.execPath, [HELPER, String(this.opts.ratePerSec), String(this.opts.burst), String(this.opts.maxBytes)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: helperEnv(),
      // Its own session: a Ctrl-C meant for tend does not kill it mid-shutdown; it leaves when
      // tend does, by the end of its stdin.
      detached: true,
    });
    this.child = child;
    child.stdin!.on('error', () => undefined);
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
    child.on('exit', () => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.stopped) return;
      // Re-create every socket in a new helper: the paths stay the same.
      setTimeout(() => {
        for (const [id, path] of this.open) this.send({ op: 'open', id, path });
      }, 100).unref();
    });
    return child;
  }

  private onLine(line: string): void {
    let m: { id?: string; d?: string; err?: string; bound?: boolean; drops?: Record<string, Record<string, number>> };
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    if (m.drops) {
      for (const [id, byReason] of Object.entries(m.drops)) for (const [reason, n] of Object.entries(byReason)) this.opts.onDrops(id, reason, n);
      return;
    }
    if (typeof m.id !== 'string' || !this.open.has(m.id)) return;
    if (m.d !== undefined) return this.opts.onDatagram(m.id, Buffer.from(m.d, 'base64'));
    const w = this.waiting.get(m.id);
    this.waiting.delete(m.id);
    if (m.bound) w?.resolve();
    else if (m.err !== undefined) {
      this.opts.onError(m.id, m.err);
      w?.resolve(); // the replica starts anyway, without a working NOTIFY_SOCKET; the error is reported
    }
  }
}

/** The helper is plain JavaScript two levels up from src/notify and dist/notify alike (like the
 *  schema), so that tests under tsx and the installed package start the same file with plain node. */
const HELPER = fileURLToPath(new URL('../../libexec/tend-dgram-helper.mjs', import.meta.url));
