// tend's datagram helper (plain JavaScript, run by node as is, from the source tree and the package
// alike; started by src/notify/dgram-relay.ts): a small Node process that owns the `notify: systemd`
// sockets (unix-dgram, a native addon) and relays what arrives on them to tend over its stdout.
// Kept out of the daemon so that a flood of datagrams costs this process, not tend, and native code
// runs outside the supervisor; in a process that spawns nothing no socket can leak into a replica
// (node-unix-socket, tried first, is not close-on-exec: docs/notify.md).
//
// stdin (from tend), JSON lines:  {"op":"open","id":"…","path":"…"}  {"op":"close","id":"…"}
// stdout (to tend), JSON lines:   {"id":"…","d":"<base64 datagram>"}  {"id":"…","err":"…"}
//                                 {"id":"…","bound":true}  {"drops":{"<id>":{"rate_limited":n,…}}}
// The per-socket rate limit and size limit are applied here, so a flood costs tend nothing.
// argv: RATE_PER_SEC BURST MAX_DATAGRAM_BYTES. It exits when its stdin closes (tend is gone); it
// never unlinks a socket path then, since a new tend may already have bound the same path.

import { createRequire } from 'node:module';
import { unlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [rate = '100', burst = '200', maxBytes = '4096'] = process.argv.slice(2);
const ratePerSec = Number(rate);
const max = Number(maxBytes);
// unix-dgram is an optional dependency (a native build): without it every open is answered with
// the reason, and tend reports it for the replicas that asked for `notify: systemd`.
let unix;
let missing;
try {
  unix = createRequire(import.meta.url)('unix-dgram');
} catch (err) {
  missing = `the optional dependency unix-dgram is not installed or not built (${err.message.split('\n')[0]})`;
}

/** socket id → { sock, path, bucket }; a token bucket as in src/notify/rate-limit.ts. */
const sockets = new Map();
const drops = new Map();

function take(b) {
  const now = performance.now();
  b.tokens = Math.min(Number(burst), b.tokens + ((now - b.at) / 1000) * ratePerSec);
  b.at = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

function write(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function drop(id, reason) {
  const d = drops.get(id) ?? {};
  d[reason] = (d[reason] ?? 0) + 1;
  drops.set(id, d);
}

function open(id, path) {
  if (missing) return write({ id, err: missing });
  close(id);
  try {
    unlinkSync(path);
  } catch {
    // not there
  }
  try {
    const sock = unix.createSocket('unix_dgram');
    const entry = { sock, path, bucket: { tokens: Number(burst), at: performance.now() } };
    let bindError;
    sock.on('error', (err) => (bindError ??= err));
    sock.on('message', (buf) => {
      if (sockets.get(id) !== entry) return;
      if (!take(entry.bucket)) return drop(id, 'rate_limited');
      if (buf.length > max) return drop(id, 'datagram_too_long');
      write({ id, d: buf.toString('base64') });
    });
    sock.bind(path); // reports a failure as an 'error' event, synchronously
    if (bindError) throw bindError;
    sockets.set(id, entry);
    write({ id, bound: true });
  } catch (err) {
    write({ id, err: err.message });
  }
}

function close(id) {
  const e = sockets.get(id);
  if (!e) return;
  sockets.delete(id);
  try {
    e.sock.close();
  } catch {
    // already closed
  }
  try {
    unlinkSync(e.path);
  } catch {
    // gone
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  let m;
  try {
    m = JSON.parse(line);
  } catch {
    return;
  }
  if (typeof m.id !== 'string') return;
  if (m.op === 'open' && typeof m.path === 'string') open(m.id, m.path);
  else if (m.op === 'close') close(m.id);
});
process.stdin.on('end', () => process.exit(0));
process.stdout.on('error', () => process.exit(0));

// Drops are reported once a second, not per datagram: a flood must not become a flood of reports.
setInterval(() => {
  if (drops.size === 0) return;
  write({ drops: Object.fromEntries(drops) });
  drops.clear();
}, 1000);
