// The dashboard's built files (dist/web, made by `npm run build`), read once into memory and served
// by the TCP listener. They hold no data — only the page — so they are served without the token;
// everything under /v1 and /metrics needs it.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  type: string;
  body: Buffer;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The built page: from dist/web beside this module once built, else (running from src/ under
 *  tsx, as the tests do) from the repository's dist/web. Undefined when it was never built. */
export function findWebDir(): string | undefined {
  const candidates = [fileURLToPath(new URL('../web/', import.meta.url)), fileURLToPath(new URL('../../dist/web/', import.meta.url))];
  return candidates.find((d) => existsSync(join(d, 'index.html')) && existsSync(join(d, 'app.js')));
}

/** URL path (`/`, `/app.js`) → file, for every file of the built page. */
export function loadAssets(dir: string | undefined): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (dir === undefined) return assets;
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type || name.endsWith('.map')) continue;
    const asset = { type, body: readFileSync(join(dir, name)) };
    assets.set(`/${name}`, asset);
    if (name === 'index.html') assets.set('/', asset);
  }
  return assets;
}
