// The daemon's control socket, bound apart from the HTTP side of the API. The daemon binds it as
// soon as the files have been read, as it always did (`tend up -d && tend pause web` finds web),
// and loads node:http and the API's modules a turn later, once the first pass has asked for its
// replicas: they took ~3 ms of a daemon's start-up before its first replica (bench/FINDINGS.md
// §16). A client that connects in between waits a moment for its answer; nothing is read from
// its connection before the API takes it.

import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { socketAddress } from '../util/socket-path.js';

export interface ApiSocket {
  readonly server: Server;
  /** Hands every connection to `serve` from now on, those that waited first. */
  serve(serve: (socket: Socket) => void): void;
}

/** Binds `path` (0600, replacing a stale socket) and holds the connections until serve(). */
export async function listenApiSocket(path: string): Promise<ApiSocket> {
  let waiting: Socket[] | undefined = [];
  let serveOne: (socket: Socket) => void = (s) => waiting?.push(s);
  // Paused: a connection's bytes stay in the kernel until the API resumes it.
  const server = createServer({ pauseOnConnect: true }, (s) => serveOne(s));
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // The bind happens synchronously inside listen(), so the umask covers exactly that call: the socket
  // is born 0600 and nobody else can connect even for an instant.
  const { address, release } = socketAddress(path); // a path too long for a socket (util/socket-path.ts)
  const previous = process.umask(0o177);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    try {
      server.listen(address, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(previous);
    }
  }).finally(release);
  chmodSync(path, 0o600);
  return {
    server,
    serve(serve) {
      serveOne = serve;
      const held = waiting ?? [];
      waiting = undefined;
      for (const s of held) if (!s.destroyed) serve(s);
    },
  };
}

/**
 * listenApiSocket, tried again while this process is out of descriptors (EMFILE, ENFILE): exec
 * probes of many replicas under a low `ulimit -n` can hold every one for a while, and a daemon that
 * exited then would leave its replicas without a supervisor. Waits 50 ms, then twice as long each
 * time up to a second; `onRetry` hears each failure. Undefined if `signal` aborts first (tend is
 * stopping, and will not need the socket).
 */
export async function listenApiSocketWhenPossible(
  path: string,
  { signal, onRetry }: { signal: AbortSignal; onRetry?: (err: NodeJS.ErrnoException) => void },
): Promise<ApiSocket | undefined> {
  for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
    try {
      return await listenApiSocket(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EMFILE' && code !== 'ENFILE') throw err;
      onRetry?.(err as NodeJS.ErrnoException);
    }
    if (signal.aborted) return undefined;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, wait);
      signal.addEventListener('abort', done, { once: true });
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
    });
    if (signal.aborted) return undefined;
  }
}
