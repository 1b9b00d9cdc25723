// Output for the CLI: colours only on a terminal, never with NO_COLOR (no-color.org) or TERM=dumb, and a
// writer commands print through so they never touch process.stdout directly.

export interface Term {
  write(text: string): void;
  /** Resolves once everything written has been handed to the OS: a slow reader on a pipe holds it
   *  back; a reader that went away (EPIPE) resolves it too. Awaited before the process exits, and
   *  by streaming commands so memory stays bounded. */
  flush(): Promise<void>;
  readonly isTTY: boolean;
  readonly color: boolean;
  /** Terminal width, or 0 when not a terminal. */
  readonly columns: number;
}

/** A Term over a real stream such as process.stdout. */
export function termOf(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): Term {
  const isTTY = stream.isTTY === true;
  return {
    write: (text) => void stream.write(text),
    flush: () => flushed(stream),
    isTTY,
    // TERM=dumb: a terminal that cannot show escape sequences (Emacs' shell, some CI consoles).
    color: isTTY && (env['NO_COLOR'] ?? '') === '' && env['TERM'] !== 'dumb',
    get columns() {
      return isTTY ? stream.columns : 0;
    },
  };
}

/** Resolves when `stream` has written out all it buffered (or cannot: closed, errored). process.exit
 *  drops what a pipe has not taken yet, 64 KiB on Linux: `tend status -o json | wc -c` lost the rest. */
export function flushed(stream: NodeJS.WritableStream): Promise<void> {
  const w = stream as NodeJS.WritableStream & { writableLength?: number; destroyed?: boolean; writableFinished?: boolean };
  if (w.destroyed || w.writableFinished || (w.writableLength ?? 0) === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('error', done);
    stream.once('close', done);
    // An empty write's callback runs once every earlier write has been handed to the OS.
    stream.write('', () => done());
  });
}

const CODES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
} as const;
export type Colour = keyof typeof CODES;

/** `text` in a colour when the terminal takes colours, else unchanged. */
export function paint(term: Pick<Term, 'color'>, colour: Colour | undefined, text: string): string {
  if (!term.color || colour === undefined) return text;
  const [on, off] = CODES[colour];
  return `\x1b[${on}m${text}\x1b[${off}m`;
}

const REPLICA_COLOURS: Colour[] = ['cyan', 'yellow', 'green', 'magenta', 'blue', 'red'];

/** A stable colour per `svc/n`, so one replica's lines keep their colour across runs. */
export function replicaColour(key: string): Colour {
  let h = 0;
  for (const ch of key) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return REPLICA_COLOURS[h % REPLICA_COLOURS.length] as Colour;
}
