// A loopback TCP server in its own process that accepts and drops connections and counts them:
// the target of the daemon's tcp probes (one port for all replicas: `sleep` listens on nothing).

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { registry } from './procs.js';

const SERVER = `
let accepted = 0;
const server = require('node:net').createServer((s) => { accepted++; s.on('error', () => {}); s.destroy(); });
server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => console.log(server.address().port));
process.on('message', () => process.send(accepted));
process.on('disconnect', () => process.exit(0));
`;

export interface TcpSink {
  port: number;
  accepted(): Promise<number>;
  close(): void;
}

export async function startTcpSink(): Promise<TcpSink> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'], detached: true });
  registry.addPid(child.pid!, undefined, true);
  let port: number | undefined;
  for await (const line of createInterface({ input: child.stdout! })) {
    port = Number(line);
    break;
  }
  if (!port) throw new Error('tcp sink did not start');
  return {
    port,
    accepted: () =>
      new Promise((resolve) => {
        child.once('message', (n) => resolve(Number(n)));
        child.send('count');
      }),
    close: () => {
      child.kill('SIGKILL');
    },
  };
}
