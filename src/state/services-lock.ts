// One daemon per services directory. Two daemons on two state directories (one shell with
// TEND_STATE_DIR exported, one without; `--state-dir` given once) each ran every service, each
// replica twice, the second copy crash-looping on its port. s6-svscan and runsv refuse a second
// instance with a lock file in the directory they supervise; tend may not write to services.d (a
// read-only checkout, another user's release), so the lock is a name in Linux's abstract socket
// namespace instead: no file to leave behind, gone with the process that holds it, SIGKILL or not.
//
// The names are of the directory as given (`/srv/app/current/services.d`) and of its real path
// when the daemon starts (`/srv/app/releases/42/services.d`), so that a daemon on the link and one
// on the release it leads to are one directory too. Whoever connects to a name is told which daemon
// holds it, and the second daemon says so before it starts anything.

import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { TendError } from '../errors.js';

/** What the holder tells whoever connects to its names. */
export interface ServicesHolder {
  pid: number;
  stateDir: string;
}

/** How long a holder has to say who it is (a stopped daemon says nothing). */
const ASK_TIMEOUT_MS = 1000;

/** Abstract socket names exist on Linux only; elsewhere there is no lock. */
const SUPPORTED = process.platform === 'linux';

function namesOf(dir: string): string[] {
  const paths = new Set([dir]);
  try {
    paths.add(realpathSync(dir));
  } catch {
    // Not there (yet): the name of the path as given is enough.
  }
  return [...paths].map((p) => `\0tend/services.d/${createHash('sha256').update(p).digest('hex').slice(0, 40)}`);
}

/** Takes `dir`'s names for this daemon; rejects with DAEMON_RUNNING naming the daemon that holds
 *  one. close() gives them up (the process's end does too). */
export async function lockServicesDir(dir: string, me: ServicesHolder): Promise<{ close(): void }> {
  const servers: Server[] = [];
  const close = () => {
    for (const s of servers) s.close();
  };
  if (!SUPPORTED) return { close };
  const answer = `${JSON.stringify(me)}\n`;
  for (const name of namesOf(dir)) {
    const server = createServer((conn) => {
      conn.on('error', () => {});
      conn.end(answer);
    });
    const bound = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      server.once('error', resolve);
      server.listen(name, () => resolve(undefined));
    });
    if (bound?.code === 'EADDRINUSE') {
      close();
      throw busy(dir, await ask(name));
    }
    if (bound) {
      // Any other failure (no network namespace to bind in): run unguarded rather than not at all.
      continue;
    }
    server.unref();
    servers.push(server);
  }
  return { close };
}

/** The daemon that holds `dir`, if one does (asked before `up -d` starts another). */
export async function servicesHolder(dir: string): Promise<ServicesHolder | 'unknown' | undefined> {
  if (!SUPPORTED) return undefined;
  for (const name of namesOf(dir)) {
    const holder = await ask(name);
    if (holder !== undefined) return holder;
  }
  return undefined;
}

/** The refusal, naming the holder and how to reach or stop it. */
export function busy(dir: string, holder: ServicesHolder | 'unknown' | undefined): TendError {
  if (holder === undefined || holder === 'unknown') {
    return new TendError('DAEMON_RUNNING', `another tend daemon already supervises ${dir} (it did not say which); two would run every replica twice`);
  }
  const given = process.env['TEND_STATE_DIR'];
  const why = given !== undefined && given !== '' && given !== holder.stateDir ? ` (TEND_STATE_DIR is set to ${given} here)` : '';
  return new TendError(
    'DAEMON_RUNNING',
    `the tend daemon ${holder.pid} already supervises ${dir}, with the state directory ${holder.stateDir}${why}; two would run every replica twice: reach it with \`tend --state-dir ${holder.stateDir} status\`, or stop it with \`tend --state-dir ${holder.stateDir} down\` first`,
    { pid: holder.pid, stateDir: holder.stateDir },
  );
}

/** Who holds `name`: undefined when no one does, 'unknown' when one does and does not say. */
function ask(name: string): Promise<ServicesHolder | 'unknown' | undefined> {
  return new Promise((resolve) => {
    let text = '';
    let connected = false;
    const conn = createConnection(name);
    const done = (v: ServicesHolder | 'unknown' | undefined) => {
      clearTimeout(timer);
      conn.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(connected ? 'unknown' : undefined), ASK_TIMEOUT_MS);
    conn.on('connect', () => (connected = true));
    conn.on('error', () => done(connected ? 'unknown' : undefined));
    conn.setEncoding('utf8');
    conn.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > 64 * 1024) done('unknown');
    });
    conn.on('end', () => {
      try {
        const h = JSON.parse(text) as Partial<ServicesHolder>;
        done(typeof h.pid === 'number' && typeof h.stateDir === 'string' ? { pid: h.pid, stateDir: h.stateDir } : 'unknown');
      } catch {
        done('unknown');
      }
    });
  });
}
