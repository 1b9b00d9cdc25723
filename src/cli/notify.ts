// `tend notify --ready | --status TEXT | --heartbeat | --event NAME --data JSON`: tend's stream
// protocol (DESIGN §9) for shell scripts run by tend. It says hello with the replica's token, sends
// each message with an id and waits for tend's ack, so an event refused by its schema is an error
// here (exit 1) rather than a silent drop. Outside tend (no TEND_NOTIFY_SOCKET) it exits 3.

import { connect } from 'node:net';
import { TendError } from '../errors.js';
import type { Cli } from './context.js';
import { EXIT } from './exit-codes.js';

export interface NotifyOptions {
  ready?: boolean;
  status?: string;
  heartbeat?: boolean;
  event?: string;
  data?: string;
  timeout?: string;
}

export async function notifyCommand(cli: Cli, opts: NotifyOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const messages: Record<string, unknown>[] = [];
  if (opts.status !== undefined) messages.push({ type: 'status', text: opts.status });
  if (opts.ready) messages.push({ type: 'ready' });
  if (opts.heartbeat) messages.push({ type: 'heartbeat' });
  if (opts.data !== undefined && opts.event === undefined) throw new TendError('API_BAD_REQUEST', '--data needs --event NAME');
  if (opts.event !== undefined) {
    let data: unknown = null;
    if (opts.data !== undefined) {
      try {
        data = JSON.parse(opts.data);
      } catch (err) {
        throw new TendError('API_BAD_REQUEST', `--data must be JSON: ${(err as Error).message}`);
      }
    }
    messages.push({ type: 'event', name: opts.event, data });
  }
  if (messages.length === 0) throw new TendError('API_BAD_REQUEST', 'say something: --ready, --status TEXT, --heartbeat or --event NAME [--data JSON]');

  const path = env.TEND_NOTIFY_SOCKET;
  const token = env.TEND_NOTIFY_TOKEN;
  if (!path || !token) {
    throw new TendError('DAEMON_UNREACHABLE', 'not running under tend: TEND_NOTIFY_SOCKET and TEND_NOTIFY_TOKEN are not set (tend sets them for every replica)');
  }
  const refused = await exchange(path, token, messages, 5000);
  for (const r of refused) cli.err.write(`tend notify: ${r}\n`);
  return refused.length === 0 ? EXIT.OK : EXIT.FAILURE;
}

/** Sends hello and the messages, each with an id; resolves with tend's refusals (empty: all accepted). */
function exchange(path: string, token: string, messages: Record<string, unknown>[], timeoutMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    const refused: string[] = [];
    let pending = messages.length;
    let buf = '';
    const fail = (err: TendError) => {
      s.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new TendError('DAEMON_UNREACHABLE', `tend did not answer on ${path} within ${timeoutMs} ms`)), timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => {
      const lines = [{ type: 'hello', token, id: 0 }, ...messages.map((m, i) => ({ ...m, id: i + 1 }))];
      s.write(lines.map((l) => JSON.stringify(l) + '\n').join(''));
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(new TendError('DAEMON_UNREACHABLE', `tend is not listening on ${path} (${err.code ?? err.message})`));
    });
    s.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let m: { type?: string; ok?: boolean; error?: string; reason?: string; detail?: string };
        try {
          m = JSON.parse(line);
        } catch {
          continue;
        }
        if (m.type === 'error') {
          clearTimeout(timer);
          const why = m.reason === 'bad_token' ? 'tend does not know this replica\'s token (is this the tend that started it?)' : `${m.reason}: ${m.detail}`;
          return fail(new TendError('DAEMON_UNREACHABLE', why));
        }
        if (m.type === 'ack') {
          if (!m.ok) refused.push(m.error ?? m.reason ?? 'refused');
          if (--pending === 0) {
            clearTimeout(timer);
            s.end();
            resolve(refused);
          }
        }
      }
    });
  });
}
