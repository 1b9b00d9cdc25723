// Probe targets for the health tests: the http-flip fixture in its own process, and free or closed
// loopback ports.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { cleanup, fixture, processReaper, tempDir } from '../helpers/index.js';

export interface FlipServer {
  port: number;
  pid: number;
  /** `http://127.0.0.1:<port>` */
  base: string;
  setHealthy(ok: boolean): void;
}

/** Starts http-flip.mjs on a free port; resolves once it printed READY. Killed after the test. */
export async function startFlipServer(t: TestContext, healthy = true): Promise<FlipServer> {
  const file = join(tempDir(t), 'health');
  const setHealthy = (ok: boolean): void => writeFileSync(file, ok ? 'ok' : 'down');
  setHealthy(healthy);
  const [cmd = '', ...args] = fixture('http-flip.mjs', 0, file);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  processReaper(t).track(child.pid);
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const m = /^READY (\d+)$/.exec(line);
    if (m) {
      const port = Number(m[1]);
      return { port, pid: child.pid ?? 0, base: `http://127.0.0.1:${port}`, setHealthy };
    }
  }
  throw new Error('http-flip.mjs exited before READY');
}

/** A TCP server on 127.0.0.1 that accepts and closes connections; closed after the test. */
export async function startTcpServer(t: TestContext): Promise<number> {
  const server: Server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup(t, () => server.close());
  return (server.address() as { port: number }).port;
}

/** A loopback port nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
