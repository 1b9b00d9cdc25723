// A ControlPlane for API tests that serve a real server over a real socket but need no daemon:
// every operation answers "not found" unless the test gives its own.

import type { ControlPlane } from '../../src/api/types.js';
import { TendError } from '../../src/errors.js';

export function controlPlane(over: Partial<ControlPlane> = {}): ControlPlane {
  const none = () => {
    throw new TendError('API_NOT_FOUND', 'not in this test');
  };
  return {
    status: () => ({ services: [], errors: [], converged: true, source: '/specs', pid: 1 }),
    restart: none,
    pause: none,
    resume: none,
    kill: none,
    hold: none,
    plan: async () => ({ changes: [], errors: [] }),
    reload: () => {},
    shutdown: async () => {},
    logFiles: none,
    syncLogIndex: () => {},
    recentEvents: () => [],
    subscribe: () => () => {},
    metrics: async () => '',
    ...over,
  };
}
