// One error class for everything tend reports, with a stable machine code (as undici does) so the
// API can map it to an HTTP status and scripts can match on it without parsing messages.

export type ErrorCode =
  | 'SPEC_PARSE' // the YAML itself does not parse
  | 'SPEC_INVALID' // parses, but breaks the schema or a rule beyond it
  | 'SPEC_DUPLICATE' // the same service name in two places
  | 'SPEC_TOO_LARGE' // a file or alias expansion over the limits
  | 'GRAPH_CYCLE'
  | 'GRAPH_MISSING_DEP'
  | 'SPAWN_FAILED'
  | 'STOP_TIMEOUT'
  | 'STATE_CORRUPT'
  | 'DAEMON_RUNNING'
  | 'DAEMON_UNREACHABLE'
  | 'DAEMON_TIMEOUT' // the daemon accepted the request but did not answer within the client timeout
  | 'API_BAD_REQUEST'
  | 'API_NOT_FOUND'
  | 'API_CONFLICT'
  | 'API_METHOD_NOT_ALLOWED' // a known route, another method (405 with Allow)
  | 'API_BODY_TOO_LARGE' // a request body over the API's limit (413)
  | 'NOT_ROOT'
  | 'FILE_NOT_WRITABLE' // a file tend edits for the user (scale) that this user may not replace
  | 'CWD_GONE' // the working directory was removed, and a path the user gave is relative to it
  | 'NOT_RUNNING' // pause, resume or kill aimed at a service or replica with no process (stopped, failed)
  | 'INTERNAL';

export class TendError extends Error {
  override name = 'TendError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A problem in a spec file, located at the node at fault. Positions are 1-based. */
export interface SpecProblem {
  file: string;
  line: number;
  column: number;
  message: string;
  code: ErrorCode;
  /** The service the problem belongs to, when known: only it is blocked, others go on. */
  service?: string;
}

/** `path:line:col: message`, the format editors and CI annotate from. */
export function formatProblem(p: SpecProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}`;
}

/** Exhaustiveness guard for switches over unions. */
export function assertNever(x: never): never {
  throw new TendError('INTERNAL', `unexpected value ${JSON.stringify(x)}`);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
