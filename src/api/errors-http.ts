// One table from an error's code to the HTTP status the API answers with (as fastify keeps its
// error registry), and the JSON error body clients parse back into a TendError.

import { TendError, type ErrorCode } from '../errors.js';

const HTTP_STATUS: Record<ErrorCode, number> = {
  SPEC_PARSE: 422,
  SPEC_INVALID: 422,
  SPEC_DUPLICATE: 422,
  SPEC_TOO_LARGE: 413,
  GRAPH_CYCLE: 422,
  GRAPH_MISSING_DEP: 422,
  SPAWN_FAILED: 500,
  STOP_TIMEOUT: 500,
  STATE_CORRUPT: 500,
  DAEMON_RUNNING: 409,
  DAEMON_UNREACHABLE: 503,
  DAEMON_TIMEOUT: 504,
  API_BAD_REQUEST: 400,
  API_NOT_FOUND: 404,
  API_CONFLICT: 409,
  API_METHOD_NOT_ALLOWED: 405,
  API_BODY_TOO_LARGE: 413,
  NOT_ROOT: 403,
  FILE_NOT_WRITABLE: 403,
  CWD_GONE: 500,
  NOT_RUNNING: 409,
  INTERNAL: 500,
};

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** The HTTP status for an error code; unknown codes (a newer daemon) are server errors. */
export function httpStatusOf(code: ErrorCode): number {
  return HTTP_STATUS[code] ?? 500;
}

/** The wire form of any thrown value: TendErrors keep their code, anything else is INTERNAL. */
export function errorBodyOf(err: unknown): ErrorBody {
  if (err instanceof TendError) return { error: { code: err.code, message: err.message } };
  return { error: { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) } };
}

/** Turns an error body read by a client back into a TendError; a body of another shape becomes
 *  INTERNAL with the HTTP status in the message, so nothing is lost. */
export function errorFromBody(status: number, body: unknown): TendError {
  const e = (body as Partial<ErrorBody> | null)?.error;
  if (e && typeof e.code === 'string' && typeof e.message === 'string') {
    return new TendError(e.code, e.message, { status });
  }
  return new TendError('INTERNAL', `the daemon answered HTTP ${status} without an error body`, { status });
}
