// A service manager's end of sd_notify, as systemd holds it (test/fixtures/bin/notify-receiver.py:
// each datagram with its sender's pid from the kernel), for tests of tend run by systemd.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import { join } from 'node:path';
import { cleanup, FIXTURE_BIN, waitFor } from './index.js';

export interface NotifyMessage {
  pid: number | null;
  text: string;
}

/** Binds a receiver at `socket`; resolves once it listens, with the messages it hears (a live list). */
export async function startNotifyReceiver(t: TestContext, socket: string): Promise<NotifyMessage[]> {
  const receiver = spawn('python3', [join(FIXTURE_BIN, 'notify-receiver.py'), socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanup(t, () => receiver.kill('SIGKILL'));
  const heard: NotifyMessage[] = [];
  let listening = false;
  createInterface({ input: receiver.stdout! }).on('line', (line) => {
    const m = JSON.parse(line) as { listening?: string } & NotifyMessage;
    if (m.listening !== undefined) listening = true;
    else heard.push(m);
  });
  await waitFor(() => listening, { what: 'the notify receiver bound' });
  return heard;
}
