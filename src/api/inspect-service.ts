// The daemon's side of `tend inspect`: gathers the spec and the replicas' launches from the
// controller for buildInspect (kept out of daemon.ts, which only wires it).

import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Controller } from '../reconcile/controller.js';
import { expandReplica } from '../spec/expand.js';
import { accountEnvOf } from '../runtime/user.js';
import { IDENTITY_VARS, SPEC_HASH_VAR } from '../state/orphans.js';
import { buildInspect, type InspectReport } from './inspect.js';
import { noSuchService } from '../spec/suggest.js';

export function inspectService(controller: Controller, service: string, index: number | undefined, reveal: boolean, allEnv = false): InspectReport {
  const desired = controller.desiredState.services.get(service);
  const instances = controller.select(service);
  const spec = desired ?? instances[0]?.spec;
  if (!spec) throw noSuchService(service, controller.desiredState.services.keys());
  const indexes = new Set<number>(instances.map((i) => i.index));
  for (let n = 0; n < (desired?.replicas ?? 0); n++) indexes.add(n);
  const launches = [...indexes]
    .filter((n) => index === undefined || n === index)
    .sort((a, b) => a - b)
    .map((n) => {
      // The spec a replica runs (it may lag behind the file during a rollout), else the file's.
      const inst = instances.filter((i) => i.index === n && i.pid !== undefined).at(-1);
      const shown = inst?.spec ?? spec;
      return { ...expandReplica(shown, n, process.env, shown.user === undefined ? undefined : accountEnvOf(shown.user)), pid: inst?.pid ?? null };
    });
  let loadedFrom = dirname(spec.file);
  try {
    loadedFrom = dirname(realpathSync(spec.file));
  } catch {
    /* the file is gone: its last known directory */
  }
  return buildInspect({ spec, loadedFrom, launches, inherited: process.env, hidden: [...IDENTITY_VARS, SPEC_HASH_VAR], reveal, allEnv });
}
