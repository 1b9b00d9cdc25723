// Output for the CLI: colours only on a terminal and never with NO_COLOR (no-color.org), and a
// writer commands print through so they never touch process.stdout directly.

export interface Term {
  write(text: string): void;
  /** Resolves once everything written has left the process (a pipe's reader may be slow). */
  drained(): Promise<void>;
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
    drained: () =>
      stream.writableLength === 0 || stream.destroyed
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const done = () => {
              stream.off('drain', done);
              stream.off('close', done);
              stream.off('error', done);
              resolve();
            };
            stream.on('drain', done);
            stream.on('close', done);
            stream.on('error', done);
          }),
    isTTY,
    color: isTTY && (env['NO_COLOR'] ?? '') === '',
    get columns() {
      return isTTY ? stream.columns : 0;
    },
  };
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
