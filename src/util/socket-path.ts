// A Unix socket's path holds at most 107 bytes (sun_path, with its NUL). A state directory deep in
// a checkout (/home/…/services/backend/deploy/.tend/tend.sock) can be longer: libuv then bound a
// path cut short, outside the state directory, where the notify socket, cut the same way, was
// already: `tend up -d` failed with "EADDRINUSE" and left its first replica running. Linux
// resolves /proc/self/fd/N through a descriptor of the directory, so the same file is bound and
// reached by a short path.

import { closeSync, constants, openSync } from 'node:fs';
import { basename, dirname } from 'node:path';

export const MAX_SOCKET_PATH_BYTES = 107;

/** An address at which the socket file `path` can be bound or reached: `path` itself when it fits,
 *  else the same file through a descriptor of its directory. Call release() once the bind or the
 *  connection is made (it closes that descriptor). */
export function socketAddress(path: string): { address: string; release(): void } {
  if (Buffer.byteLength(path) <= MAX_SOCKET_PATH_BYTES) return { address: path, release: () => undefined };
  const fd = openSync(dirname(path), constants.O_RDONLY | constants.O_DIRECTORY);
  let open = true;
  return {
    address: `/proc/self/fd/${fd}/${basename(path)}`,
    release: () => {
      if (!open) return;
      open = false;
      closeSync(fd);
    },
  };
}
