// `tend dashboard`: prints the dashboard's URL with its token, and opens it in a browser when one
// is available. The token rides in the URL fragment (#token=...): a browser never sends a fragment
// to a server, so it stays out of request lines, proxy logs and Referer headers; the page stores it
// for the tab (sessionStorage) and removes it from the address bar. The browser is handed a 0600
// redirect file in the state directory, not the URL itself, so the token never shows in another
// process's argv (as Jupyter does).

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ensureToken, HTTP_INFO_NAME, readHttpInfo } from '../api/http-token.js';
import { TendError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { Cli } from './context.js';
import { EXIT } from './exit-codes.js';

export interface DashboardOptions {
  /** false with --no-open. */
  open: boolean;
}

export async function dashboardCommand(cli: Cli, opts: DashboardOptions): Promise<number> {
  const stateDir = cli.stateDir();
  const status = await cli.client().status(); // DAEMON_UNREACHABLE (exit 3) when none runs
  const info = readHttpInfo(join(stateDir, HTTP_INFO_NAME));
  if (!info || info.pid !== status.pid) {
    throw new TendError(
      'DAEMON_UNREACHABLE',
      `the tend daemon (pid ${status.pid}) serves no dashboard; start it with \`tend up --http 127.0.0.1:7070\` (after \`tend down\`)`,
    );
  }
  if ('error' in info) {
    throw new TendError(
      'DAEMON_UNREACHABLE',
      `the tend daemon (pid ${status.pid}) serves no dashboard: it could not listen on ${info.address} when it started (${info.error}); free the address, then \`tend down && tend up -d --http ${info.address}\``,
    );
  }
  const url = `${info.url}#token=${ensureToken(stateDir)}`;
  cli.out.write(`${url}\n`);
  if (opts.open) {
    const opened = openBrowser(stateDir, url);
    cli.err.write(opened ? `opened in ${opened}\n` : 'no browser found here (no $BROWSER, no display); open the URL above\n');
  }
  return EXIT.OK;
}


/** Starts a browser on a redirect file; the browser's name, or undefined when there is none. */
function openBrowser(stateDir: string, url: string): string | undefined {
  const command = browserCommand();
  if (!command) return undefined;
  const file = join(stateDir, 'dashboard-open.html');
  const attr = url.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  writeFileAtomic(
    file,
    `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${attr}"><title>tend</title><a href="${attr}">open the tend dashboard</a>\n`,
    0o600,
  );
  try {
    const child = spawn(command, [`file://${file}`], { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
    return command;
  } catch {
    return undefined;
  }
}

// $BROWSER first (what the user chose), then the desktop's opener when there is a display.
function browserCommand(): string | undefined {
  const chosen = process.env['BROWSER']?.split(':')[0];
  if (chosen) return chosen;
  if (process.platform === 'darwin') return 'open';
  if (!process.env['DISPLAY'] && !process.env['WAYLAND_DISPLAY']) return undefined;
  return onPath('xdg-open') ? 'xdg-open' : undefined;
}

function onPath(name: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((d) => d !== '' && existsSync(join(d, name)));
}
