// The notify hub (DESIGN §9): the sockets replicas talk back on, and nothing else. It attributes
// each message to a registered replica, refuses and counts what it cannot attribute or parse,
// rate-limits each replica, checks typed events against their schemas, and keeps the two deadlines
// that depend only on what a replica said (watchdog, start-up). What a message *means* for the
// replica (ready, stale → restart, events in the log) is its owner's business: `onMessage`.
//
// Attribution, and why it does not use the sender's credentials:
//  - stream protocol: the connection says `hello` with the replica's secret token;
//  - systemd datagrams: every replica gets its own socket path, named after a hash of its token,
//    so a datagram is attributed by the socket it arrived on. That holds even when the sender
//    (systemd-notify, a shell's child) has exited before tend reads the datagram: the race systemd
//    documents for credential lookup cannot happen. See docs/notify.md.

import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type AjvModule from 'ajv';
import type { ValidateFunction } from 'ajv';
import {
  DROP_REASONS,
  MAX_DATAGRAM_BYTES,
  MAX_LINE_BYTES,
  parseSdNotify,
  parseStreamLine,
  type DropReason,
  type NotifyMessage,
} from './protocol.js';
import { RateLimiter, type Bucket } from './rate-limit.js';
import { DatagramRelay } from './dgram-relay.js';
import { heldUpFor } from '../util/held-up.js';
import { MAX_SOCKET_PATH_BYTES, socketAddress } from '../util/socket-path.js';
import { compiler } from './spec.js';
import { randomBytesPooled } from '../util/random.js';

/** What the hub must know of a replica. `token` is its secret; keep it with the replica (state
 *  file) so that the replica can reconnect to a later tend and its datagram socket comes back at
 *  the same path. */
export interface NotifyRegistration {
  id: string;
  service: string;
  index: number;
  token: string;
  pgid?: number;
  /** `notify: systemd`: also give it a datagram socket (NOTIFY_SOCKET). */
  systemd?: boolean;
  /** No heartbeat for this long → onTimeout(id, 'watchdog'). */
  watchdogMs?: number;
  /** READY is its readiness signal: no READY within this long → onTimeout(id, 'ready'). */
  readyTimeoutMs?: number;
  /** It said READY before (an adopted replica): the watchdog is armed at once, no start-up timeout. */
  alreadyReady?: boolean;
  /** Declared event types: name → JSON Schema; a function to follow live spec changes.
   *  Undefined: every event name is unknown. */
  events?: Schemas | (() => Schemas | undefined);
  /** Passed as TEND_METADATA (JSON). */
  metadata?: unknown;
}

export type TimeoutKind = 'watchdog' | 'ready';
type Schemas = Readonly<Record<string, unknown>>;

export interface NotifyHubOptions {
  /** Directory for the sockets (created 0700). Keep it short: a socket path is at most 107 bytes. */
  dir: string;
  onMessage: (id: string, message: NotifyMessage) => void;
  /** A deadline passed: no heartbeat for `silentMs` (watchdog), or no READY (ready). Said once per arming. */
  onTimeout?: (id: string, kind: TimeoutKind, silentMs: number) => void;
  /** An attributed message was refused in a way its replica's log should show (an invalid event). */
  onRejected?: (id: string, reason: DropReason, detail: string, name?: string) => void;
  /** A datagram assignment that tend cannot use, ignored while the rest of its datagram is heard:
   *  said once per replica (its program is likely to say it again), every one counted as
   *  `malformed`. A stream client is answered with the error instead. */
  onMalformed?: (id: string, detail: string) => void;
  /** A replica's datagram socket could not be set up (addon missing, path too long). */
  onError?: (id: string, message: string) => void;
  /** Per replica: sustained messages per second, and burst. */
  ratePerSec?: number;
  burst?: number;
  maxConnections?: number;
  /** An unauthenticated connection is closed after this long without hello. */
  helloTimeoutMs?: number;
}

export interface NotifyCounters {
  /** Accepted messages by kind. */
  messages: Record<string, number>;
  dropped: Record<DropReason, number>;
  connections: number;
  replicas: number;
}

interface Entry {
  reg: NotifyRegistration;
  bucket: Bucket;
  socketPath?: string;
  /** Resolves once its datagram socket is bound (at once without one). */
  bound?: Promise<void>;
  /** Watchdog: when it last heard a heartbeat (or was armed), and its period. */
  lastBeat?: number;
  watchdogMs?: number;
  staleSaid: boolean;
  /** Start-up: waiting for READY until readyDeadline (undefined: not waiting), computed by
   *  startupDeadline() from when the wait began, the timeout (the spec's, which applies live),
   *  time added while tend was held up or the replica paused, and EXTEND_TIMEOUT_USEC=. */
  readyDeadline?: number;
  readySince?: number;
  readyTimeoutMs?: number;
  readyAdded: number;
  extendedUntil?: number;
  ready: boolean;
  /** Being stopped (disarm()): what it says is heard, but no deadline is armed again. */
  disarmed?: boolean;
  /** A malformed assignment of its datagrams was said to onMalformed (once: the counter counts all). */
  malformedSaid?: boolean;
  /** Paused (SIGSTOP by `tend pause`) since this time: it cannot speak, so it is not judged. */
  pausedAt?: number;
}

export const STREAM_SOCKET_NAME = 'notify.sock';
const HEARTBEAT_LINE = Buffer.from(JSON.stringify({ type: 'heartbeat' }));
const HEARTBEAT: NotifyMessage = { kind: 'heartbeat' };

interface Checker {
  ajv: InstanceType<typeof AjvModule.default>;
  validate: ValidateFunction;
}

export class NotifyHub {
  readonly streamPath: string;
  private readonly entries = new Map<string, Entry>();
  private readonly byToken = new Map<string, string>();
  private readonly limiter: RateLimiter;
  private readonly counts: NotifyCounters;
  /** Each event schema compiled by a compiler of its own (notify/spec.ts's `compiler()`): one
   *  shared compiler refused a second schema with the same `$id` ("already exists"), so after a
   *  reload, or in a second service, every such typed event was dropped. By the specs' schemas
   *  object: a reload's new object compiles afresh, and the old one goes with its spec. */
  private readonly validators = new WeakMap<object, Map<string, Checker>>();
  private server?: Server;
  /** Stream servers whose socket file was removed (restore()): closed at stop(). */
  private readonly formerServers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private sweepTimer?: NodeJS.Timeout;
  private sweepEvery = 0;
  /** When the sweep last ran, or its timer was set: how late the next one is says whether tend
   *  was held up meanwhile (util/held-up.ts). */
  private lastSweepAt = 0;
  /** Replicas with a watchdog or a readiness deadline: the only ones the sweep looks at. */
  private readonly timed = new Set<Entry>();
  private dirReady = false;
  private relayInstance?: DatagramRelay;

  constructor(private readonly opts: NotifyHubOptions) {
    this.streamPath = join(opts.dir, STREAM_SOCKET_NAME);
    this.limiter = new RateLimiter(opts.ratePerSec ?? 100, opts.burst ?? 200);
    this.counts = {
      messages: {},
      dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
      connections: 0,
      replicas: 0,
    };
  }

  /** The socket directory: 0700, so only tend's user reaches the sockets at all. */
  private ensureDir(): void {
    if (this.dirReady) return;
    mkdirSync(this.opts.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.opts.dir, 0o700);
    this.dirReady = true;
  }

  /** A fresh secret for a replica: 144 random bits, URL-safe. */
  static newToken(): string {
    return randomBytesPooled(18).toString('base64url');
  }

  /** Opens the stream socket. A socket file left by a killed tend is replaced. */
  async start(): Promise<void> {
    this.ensureDir();
    this.server = await this.listenStream();
  }

  /** The socket directory was removed with the state directory (state/state-dir-keeper.ts): makes
   *  it again, with the stream socket and each replica's datagram socket at their paths, so that
   *  what replicas send reaches tend again. Connections made before stay as they are. */
  async restore(): Promise<void> {
    this.dirReady = false;
    this.ensureDir();
    if (this.server) {
      this.formerServers.push(this.server);
      this.server = await this.listenStream();
    }
    for (const e of this.entries.values()) {
      if (!e.socketPath) continue;
      this.relayInstance?.unbind(e.reg.id);
      e.bound = this.relay().bind(e.reg.id, e.socketPath);
    }
  }

  private async listenStream(): Promise<Server> {
    removeFile(this.streamPath);
    const { address, release } = socketAddress(this.streamPath);
    const server = createServer((s) => this.accept(s));
    server.maxConnections = this.opts.maxConnections ?? 4096;
    server.on('drop', () => this.drop('too_many_connections'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address, () => {
        server.off('error', reject);
        resolve();
      });
    }).finally(release);
    return server;
  }

  /** Registers a replica (before it is spawned, so that nothing it says is lost) and returns the
   *  variables its environment needs. Registering an id again replaces the registration. */
  register(reg: NotifyRegistration): Record<string, string> {
    if (this.entries.has(reg.id)) this.unregister(reg.id);
    this.ensureDir();
    const now = performance.now();
    const e: Entry = { reg, bucket: this.limiter.fresh(), staleSaid: false, ready: reg.alreadyReady === true, readyAdded: 0 };
    if (reg.watchdogMs && (e.ready || !reg.readyTimeoutMs)) e.lastBeat = now;
    if (reg.watchdogMs) e.watchdogMs = reg.watchdogMs;
    if (reg.readyTimeoutMs && !e.ready) {
      e.readySince = now;
      e.readyTimeoutMs = reg.readyTimeoutMs;
      e.readyDeadline = startupDeadline(e);
    }
    this.entries.set(reg.id, e);
    this.byToken.set(reg.token, reg.id);
    this.counts.replicas = this.entries.size;
    if (reg.systemd) this.openDatagram(e);
    // tend binds it through its directory (util/socket-path.ts); a replica has only the path.
    if ((reg.readyTimeoutMs || reg.watchdogMs) && Buffer.byteLength(this.streamPath) > MAX_SOCKET_PATH_BYTES) {
      this.opts.onError?.(reg.id, `notify: the socket path ${this.streamPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes, which a replica cannot connect to; use a shorter state directory`);
    }
    this.timeIfNeeded(e);
    return this.env(reg.id);
  }

  /** The environment a registered replica is launched with. */
  env(id: string): Record<string, string> {
    const e = this.entries.get(id);
    if (!e) return {};
    const env: Record<string, string> = {
      TEND_NOTIFY_SOCKET: this.streamPath,
      TEND_NOTIFY_TOKEN: e.reg.token,
    };
    if (e.socketPath) env.NOTIFY_SOCKET = e.socketPath;
    if (e.socketPath && e.reg.watchdogMs) env.WATCHDOG_USEC = String(e.reg.watchdogMs * 1000);
    if (e.reg.watchdogMs) env.TEND_WATCHDOG_MS = String(e.reg.watchdogMs);
    if (e.reg.metadata !== undefined) env.TEND_METADATA = JSON.stringify(e.reg.metadata);
    return env;
  }

  /** The replica is gone (or being stopped): its token stops working, its datagram socket goes. */
  unregister(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    if (this.byToken.get(e.reg.token) === id) this.byToken.delete(e.reg.token);
    this.closeDatagram(e);
    for (const s of this.sockets) if ((s as TaggedSocket).replica === id) s.destroy();
    this.counts.replicas = this.entries.size;
    this.timed.delete(e);
    // A sweep faster than still needed is harmless; the next sweep finds the right pace again.
    if (this.timed.size === 0) this.setSweep(0);
  }

  /** The replica is being stopped: no watchdog or start-up deadline is judged any more (its stop
   *  is under way), but its token and sockets stay until unregister(), so that it can say
   *  STOPPING=1 and STATUS= while it drains, as under systemd. */
  disarm(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    e.watchdogMs = undefined;
    e.lastBeat = undefined;
    e.readyDeadline = undefined;
    e.disarmed = true;
    this.timed.delete(e);
  }

  /** The spec's start-up timeout changed (it applies live): a replica waiting for READY waits
   *  that long from when it began (an extension it asked for still holds); a timeout already
   *  passed fires at the next sweep. A replica not waiting (ready, or registered without a
   *  timeout) is not made to wait. Undefined (`readiness: { notify: true }` removed) keeps the
   *  deadline it has: nothing else would take the replica out of `starting`, and its restart
   *  starts it by the new spec. */
  retime(id: string, readyTimeoutMs: number | undefined): void {
    const e = this.entries.get(id);
    if (!e || e.readyDeadline === undefined || readyTimeoutMs === undefined || e.readyTimeoutMs === readyTimeoutMs) return;
    e.readyTimeoutMs = readyTimeoutMs;
    // Not earlier than now: the timeout then says how long it actually waited.
    e.readyDeadline = Math.max(startupDeadline(e), performance.now());
    this.timeIfNeeded(e);
  }

  /** The replica was SIGSTOPped (`tend pause`): its silence from now on is not its own, so its
   *  deadlines are not judged until resume(). */
  pause(id: string): void {
    const e = this.entries.get(id);
    if (e && e.pausedAt === undefined) e.pausedAt = performance.now();
  }

  /** It runs again (SIGCONT): its watchdog period starts afresh from now, as at its start, and a
   *  stale said while it was paused (which the engine ignores) is forgotten, so that a replica
   *  that stays silent is found stale again. Its start-up deadline moves by the time it was paused. */
  resume(id: string): void {
    const e = this.entries.get(id);
    if (!e || e.pausedAt === undefined) return;
    const now = performance.now();
    if (e.readyDeadline !== undefined) moveStartup(e, now - e.pausedAt);
    e.pausedAt = undefined;
    if (e.lastBeat !== undefined) e.lastBeat = now;
    e.staleSaid = false;
  }

  /** Resolves once everything the replica's environment points at is listening: await it before
   *  the spawn, or a sender that speaks at once (systemd-notify in a start script) finds no socket. */
  bound(id: string): Promise<void> {
    return this.entries.get(id)?.bound ?? Promise.resolve();
  }

  /** Counters for /metrics: a snapshot, safe to keep. */
  counters(): NotifyCounters {
    return {
      messages: { ...this.counts.messages },
      dropped: { ...this.counts.dropped },
      connections: this.sockets.size,
      replicas: this.entries.size,
    };
  }

  /** Closes every socket. Replicas keep running: a later hub recreates the same paths. */
  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const e of this.entries.values()) this.closeDatagram(e);
    this.relayInstance?.stop();
    this.relayInstance = undefined;
    this.entries.clear();
    this.byToken.clear();
    for (const s of this.sockets) s.destroy();
    const servers = [...this.formerServers.splice(0), ...(this.server ? [this.server] : [])];
    this.server = undefined;
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    removeFile(this.streamPath);
  }

  // ---- delivery ---------------------------------------------------------------------------

  /** Rate limit, then deliver. Returns the reason when refused. */
  private deliver(e: Entry, messages: NotifyMessage[]): { reason: DropReason; detail: string } | undefined {
    for (const m of messages) {
      if (m.kind === 'event') {
        const err = this.checkEvent(e.reg, m.name, m.data);
        if (err) {
          this.drop(err.reason);
          this.opts.onRejected?.(e.reg.id, err.reason, err.detail, m.name);
          return err;
        }
      }
      this.observe(e, m);
      this.counts.messages[m.kind] = (this.counts.messages[m.kind] ?? 0) + 1;
      // The owner may unregister the replica from inside onMessage (a restart): stop there.
      this.opts.onMessage(e.reg.id, m);
      if (this.entries.get(e.reg.id) !== e) return undefined;
    }
    return undefined;
  }

  /** The deadlines follow what the replica says. */
  private observe(e: Entry, m: NotifyMessage): void {
    const now = performance.now();
    switch (m.kind) {
      case 'heartbeat':
        if (e.watchdogMs) {
          e.lastBeat = now;
          e.staleSaid = false;
        }
        return;
      case 'ready':
        e.ready = true;
        e.readyDeadline = undefined;
        // The watchdog runs from start-up's end when READY is the readiness signal.
        if (e.watchdogMs && e.lastBeat === undefined) e.lastBeat = now;
        return;
      case 'extendTimeout':
        if (e.readyDeadline !== undefined) {
          e.extendedUntil = Math.max(e.extendedUntil ?? 0, now + m.ms);
          e.readyDeadline = startupDeadline(e);
        }
        return;
      case 'watchdogPeriod':
        if (e.disarmed) return;
        e.watchdogMs = m.ms;
        e.lastBeat = now;
        e.staleSaid = false;
        this.timeIfNeeded(e);
        return;
      default:
        return;
    }
  }

  private checkEvent(reg: NotifyRegistration, name: string, data: unknown): { reason: DropReason; detail: string } | undefined {
    const schemas = typeof reg.events === 'function' ? reg.events() : reg.events;
    if (!schemas || !Object.hasOwn(schemas, name)) {
      const known = schemas ? Object.keys(schemas) : [];
      return { reason: 'unknown_event', detail: `unknown event "${name}"${known.length ? ` (declared: ${known.join(', ')})` : ' (the spec declares no events)'}` };
    }
    let cache = this.validators.get(schemas);
    if (!cache) this.validators.set(schemas, (cache = new Map()));
    let check = cache.get(name);
    if (!check) {
      try {
        const ajv = compiler();
        check = { ajv, validate: ajv.compile(schemas[name] as object) };
      } catch (err) {
        return { reason: 'invalid_event', detail: `the schema of event "${name}" does not compile: ${(err as Error).message}` };
      }
      cache.set(name, check);
    }
    if (check.validate(data)) return undefined;
    return { reason: 'invalid_event', detail: `event "${name}": data${check.ajv.errorsText(check.validate.errors, { dataVar: '' })}` };
  }

  private drop(reason: DropReason): void {
    this.counts.dropped[reason]++;
  }

  // ---- deadlines --------------------------------------------------------------------------

  /** One sweep timer for every deadline, ticking at a tenth of the shortest one (50 ms to 1 s). */
  /** Puts a replica with a watchdog or a readiness deadline under the sweep, fast enough for its
   *  period. Only these replicas are ever looked at by the sweep: registering and removing the
   *  others costs O(1), so a cold start or a stop of 5000 replicas is not quadratic (issue 13). */
  private timeIfNeeded(e: Entry): void {
    const period = periodOf(e);
    if (period === Infinity) return;
    this.timed.add(e);
    const every = sweepEvery(period);
    if (this.sweepEvery === 0 || every < this.sweepEvery) this.setSweep(every);
  }

  private setSweep(every: number): void {
    if (every === this.sweepEvery) return;
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.sweepEvery = every;
    this.lastSweepAt = performance.now();
    if (every > 0) {
      this.sweepTimer = setInterval(() => this.sweep(), every);
      this.sweepTimer.unref();
    }
  }

  private sweep(): void {
    const now = performance.now();
    // Time in which tend did not run is not the replicas' silence: what they sent meanwhile waits
    // to be read, after this timer. Their deadlines move by as much; a replica that said nothing
    // before is judged by the time tend listened.
    const heldUp = heldUpFor(this.lastSweepAt + this.sweepEvery, now);
    this.lastSweepAt = now;
    let shortest = Infinity;
    for (const e of [...this.timed]) {
      if (heldUp > 0) {
        if (e.lastBeat !== undefined) e.lastBeat += heldUp;
        if (e.readyDeadline !== undefined) moveStartup(e, heldUp);
      }
      if (e.pausedAt !== undefined) {
        shortest = Math.min(shortest, periodOf(e));
        continue;
      }
      if (e.readyDeadline !== undefined && now >= e.readyDeadline) {
        // How long tend waited: the timeout as extended (EXTEND_TIMEOUT_USEC=), not as configured;
        // time that did not count (tend held up, the replica paused) is not in it either, or a
        // loaded machine read "no READY within 354 ms" for a timeout of 300.
        const waited = Math.round(e.readyDeadline - (e.readySince ?? e.readyDeadline) - e.readyAdded);
        e.readyDeadline = undefined;
        this.opts.onTimeout?.(e.reg.id, 'ready', waited);
      }
      if (e.watchdogMs && e.lastBeat !== undefined && !e.staleSaid && now - e.lastBeat >= e.watchdogMs) {
        e.staleSaid = true;
        this.opts.onTimeout?.(e.reg.id, 'watchdog', Math.round(now - e.lastBeat));
      }
      const period = periodOf(e);
      if (period === Infinity) this.timed.delete(e);
      else shortest = Math.min(shortest, period);
    }
    this.setSweep(shortest === Infinity ? 0 : sweepEvery(shortest));
  }

  // ---- stream protocol --------------------------------------------------------------------

  private accept(raw: Socket): void {
    const s = raw as TaggedSocket;
    this.sockets.add(s);
    let chunks: Buffer[] = [];
    let pending = 0;
    let entry: Entry | undefined;
    let throttled = false;
    const helloTimer = setTimeout(() => {
      if (!entry && !dead) fatal('no_hello', 'no hello in time');
    }, this.opts.helloTimeoutMs ?? 10_000);
    helloTimer.unref();
    s.on('close', () => {
      clearTimeout(helloTimer);
      this.sockets.delete(s);
    });
    s.on('error', () => undefined);

    let dead = false;
    const fatal = (reason: DropReason, detail: string) => {
      this.drop(reason);
      dead = true;
      chunks = [];
      pending = 0;
      // Say why, then close; whatever it keeps sending meanwhile is ignored.
      s.end(JSON.stringify({ type: 'error', reason, detail }) + '\n', () => s.destroy());
      setTimeout(() => s.destroy(), 1000).unref();
    };

    const onLine = (text: string): boolean => {
      // Rate limit before parsing: a flood costs a newline search per message, not a JSON parse.
      if (entry) {
        if (this.entries.get(entry.reg.id) !== entry) {
          fatal('unattributed', 'the replica this connection belonged to is gone');
          return false;
        }
        if (!this.limiter.take(entry.bucket)) {
          this.drop('rate_limited');
          throttled = true;
          return true;
        }
      }
      const p = parseStreamLine(text);
      if (!p.ok) {
        if (!entry) {
          fatal(p.reason, p.detail);
          return false;
        }
        this.drop(p.reason);
        this.reply(s, { type: 'error', reason: p.reason, detail: p.detail, ...(p.id === undefined ? {} : { id: p.id }) });
        return true;
      }
      const line = p.line;
      if (line.type === 'hello') {
        const id = this.byToken.get(line.token);
        const e = id === undefined ? undefined : this.entries.get(id);
        if (!e) {
          fatal('bad_token', 'this token belongs to no replica of this tend');
          return false;
        }
        clearTimeout(helloTimer);
        entry = e;
        s.replica = e.reg.id;
        this.reply(s, { type: 'welcome', service: e.reg.service, replica: e.reg.index, ...(line.id === undefined ? {} : { id: line.id }) });
        return true;
      }
      if (!entry) {
        fatal('no_hello', 'say hello with your TEND_NOTIFY_TOKEN first');
        return false;
      }
      if (line.type === 'ping') {
        this.reply(s, { type: 'ack', id: line.id ?? null, ok: true });
        return true;
      }
      const refused = this.deliver(entry, [line.message]);
      if (line.id !== undefined) {
        this.reply(s, refused ? { type: 'ack', id: line.id, ok: false, reason: refused.reason, error: refused.detail } : { type: 'ack', id: line.id, ok: true });
      } else if (refused) {
        this.reply(s, { type: 'error', reason: refused.reason, detail: refused.detail });
      }
      return true;
    };

    const onHeartbeat = (): boolean => {
      const e = entry!;
      if (this.entries.get(e.reg.id) !== e) {
        fatal('unattributed', 'the replica this connection belonged to is gone');
        return false;
      }
      if (!this.limiter.take(e.bucket)) {
        this.drop('rate_limited');
        throttled = true;
        return true;
      }
      this.deliver(e, [HEARTBEAT]);
      return true;
    };

    s.on('data', (buf: Buffer) => {
      if (dead) return;
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(10, start);
        if (nl === -1) break;
        const piece = buf.subarray(start, nl);
        start = nl + 1;
        if (pending + piece.length > MAX_LINE_BYTES) {
          fatal('line_too_long', `a line is longer than ${MAX_LINE_BYTES} bytes`);
          return;
        }
        if (pending === 0 && entry && piece.equals(HEARTBEAT_LINE)) {
          // The common case at 1000 replicas: no string, no JSON parse for a bare heartbeat.
          if (!onHeartbeat()) return;
          continue;
        }
        const text = pending > 0 ? Buffer.concat([...chunks, piece]).toString('utf8') : piece.toString('utf8');
        chunks = [];
        pending = 0;
        if (text.trim() !== '' && !onLine(text)) return;
      }
      const rest = buf.subarray(start);
      if (rest.length > 0) {
        if (pending + rest.length > MAX_LINE_BYTES) {
          fatal('line_too_long', `a line is longer than ${MAX_LINE_BYTES} bytes`);
          return;
        }
        chunks.push(Buffer.from(rest));
        pending += rest.length;
      }
      if (throttled) {
        // Over its budget: stop reading for a moment, so the kernel pushes back on the sender
        // instead of tend spending its CPU on counting what it drops.
        throttled = false;
        s.pause();
        setTimeout(() => s.resume(), 100).unref();
      }
    });
  }

  private reply(s: Socket, obj: Record<string, unknown>): void {
    // A client that never reads its answers does not make tend buffer them without end.
    if (s.destroyed || !s.writable || s.writableLength > 256 * 1024) return;
    s.write(JSON.stringify(obj) + '\n');
  }

  // ---- systemd datagrams ------------------------------------------------------------------

  private openDatagram(e: Entry): void {
    const path = join(this.opts.dir, `${createHash('sha256').update(e.reg.token).digest('hex').slice(0, 16)}.sd`);
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
      this.opts.onError?.(e.reg.id, `notify: systemd: socket path ${path} is longer than ${MAX_SOCKET_PATH_BYTES} bytes; use a shorter state directory`);
      return;
    }
    e.socketPath = path;
    e.bound = this.relay().bind(e.reg.id, path);
  }

  private onDatagram(id: string, buf: Buffer): void {
    const e = this.entries.get(id);
    if (!e) return this.drop('unattributed');
    if (!this.limiter.take(e.bucket)) return this.drop('rate_limited');
    if (buf.length > MAX_DATAGRAM_BYTES) return this.drop('datagram_too_long');
    const p = parseSdNotify(buf.toString('utf8'));
    // A bad assignment is refused alone; what else the datagram says is delivered.
    for (const detail of p.refused) {
      this.drop('malformed');
      if (!e.malformedSaid) {
        e.malformedSaid = true;
        this.opts.onMalformed?.(e.reg.id, detail);
      }
    }
    this.deliver(e, p.messages);
  }

  private closeDatagram(e: Entry): void {
    if (!e.socketPath) return;
    this.relayInstance?.unbind(e.reg.id);
    e.socketPath = undefined;
  }

  /** The helper process that owns the datagram sockets, started on first use (dgram-relay.ts). */
  private relay(): DatagramRelay {
    this.relayInstance ??= new DatagramRelay({
      ratePerSec: this.limiter.ratePerSec,
      burst: this.limiter.burst,
      maxBytes: MAX_DATAGRAM_BYTES,
      onDatagram: (id, buf) => this.onDatagram(id, buf),
      onDrops: (_id, reason, n) => {
        if ((DROP_REASONS as readonly string[]).includes(reason)) this.counts.dropped[reason as DropReason] += n;
      },
      onError: (id, message) => this.opts.onError?.(id, `notify: systemd: cannot bind its socket: ${message}`),
    });
    return this.relayInstance;
  }
}

type TaggedSocket = Socket & { replica?: string };

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there
  }
}

/** How often a replica needs looking at: its watchdog period or its readiness timeout. */
function periodOf(e: Entry): number {
  let p = Infinity;
  if (e.watchdogMs) p = e.watchdogMs;
  if (e.readyDeadline !== undefined && e.readyTimeoutMs) p = Math.min(p, e.readyTimeoutMs);
  return p;
}

/** When the wait for READY ends: its timeout from when it began, plus the time it was not judged
 *  (tend held up, the replica paused), or later if the replica asked (EXTEND_TIMEOUT_USEC=). */
function startupDeadline(e: Entry): number {
  const base = (e.readySince ?? 0) + (e.readyTimeoutMs ?? 0) + e.readyAdded;
  return Math.max(base, e.extendedUntil ?? base);
}

/** Time that does not count against the start-up timeout (tend held up, the replica paused). */
function moveStartup(e: Entry, ms: number): void {
  e.readyAdded += ms;
  if (e.extendedUntil !== undefined) e.extendedUntil += ms;
  e.readyDeadline = startupDeadline(e);
}

/** A tenth of the period, between 50 ms and 1 s. */
function sweepEvery(period: number): number {
  return Math.min(1000, Math.max(50, Math.floor(period / 10)));
}
