// The CLI's exit codes, one per kind of outcome so scripts can branch on them (documented in
// docs/cli.md, as s6 documents its programs' codes).

import type { ErrorCode } from '../errors.js';

export const EXIT = {
  OK: 0,
  /** A failure: invalid spec, a service that cannot converge, a timeout, an operation that failed. */
  FAILURE: 1,
  /** `plan --exit-code`: applying the directory would change something. */
  CHANGES: 2,
  /** No daemon answers on the state directory's socket (none listens, or it did not answer within
   *  --client-timeout). */
  UNREACHABLE: 3,
  /** No such service or replica. */
  NOT_FOUND: 4,
  /** Bad usage: an unknown option, a malformed argument. */
  USAGE: 5,
  /** A daemon already runs on this state directory. */
  CONFLICT: 6,
  /** A bug in tend. */
  INTERNAL: 70,
} as const;

const BY_CODE: Record<ErrorCode, number> = {
  SPEC_PARSE: EXIT.FAILURE,
  SPEC_INVALID: EXIT.FAILURE,
  SPEC_DUPLICATE: EXIT.FAILURE,
  SPEC_TOO_LARGE: EXIT.FAILURE,
  GRAPH_CYCLE: EXIT.FAILURE,
  GRAPH_MISSING_DEP: EXIT.FAILURE,
  SPAWN_FAILED: EXIT.FAILURE,
  STOP_TIMEOUT: EXIT.FAILURE,
  STATE_CORRUPT: EXIT.FAILURE,
  NOT_ROOT: EXIT.FAILURE,
  FILE_NOT_WRITABLE: EXIT.FAILURE,
  CWD_GONE: EXIT.FAILURE,
  NOT_RUNNING: EXIT.FAILURE,
  DAEMON_RUNNING: EXIT.CONFLICT,
  DAEMON_UNREACHABLE: EXIT.UNREACHABLE,
  DAEMON_TIMEOUT: EXIT.UNREACHABLE,
  API_BAD_REQUEST: EXIT.USAGE,
  API_NOT_FOUND: EXIT.NOT_FOUND,
  API_CONFLICT: EXIT.CONFLICT,
  API_METHOD_NOT_ALLOWED: EXIT.USAGE,
  API_BODY_TOO_LARGE: EXIT.USAGE,
  INTERNAL: EXIT.INTERNAL,
};

/** The exit code for an error code (a newer daemon's unknown code counts as a failure). */
export function exitCodeOf(code: ErrorCode): number {
  return BY_CODE[code] ?? EXIT.FAILURE;
}
