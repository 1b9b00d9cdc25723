// Offline validation of what the exporters write: Nomad jobs against a JSON Schema of the jobs
// API subset we emit (nomad-job.schema.json, written from Nomad's API types) plus the cross-field
// rules the Nomad server checks; Kubernetes objects against the official OpenAPI schemas, through
// the validators kubernetes-models generates from them.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Service } from 'kubernetes-models/v1/Service';
import { ROOT } from '../helpers/index.js';

const Ajv = AjvModule.default;
const schema = JSON.parse(readFileSync(join(ROOT, 'test', 'export', 'nomad-job.schema.json'), 'utf8')) as object;
const validateJob = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(schema);

type Json = Record<string, any>;

/** Every way `body` ({"Job": ...}) breaks the schema or the server's cross-field rules. */
export function nomadProblems(body: unknown): string[] {
  const problems: string[] = [];
  if (!validateJob(body)) {
    for (const e of validateJob.errors ?? []) problems.push(`${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
    return problems;
  }
  const job = (body as Json).Job as Json;
  const groupNames = new Set<string>();
  for (const g of job.TaskGroups as Json[]) {
    const at = `group ${g.Name}`;
    if (groupNames.has(g.Name)) problems.push(`${at}: duplicate group name`);
    groupNames.add(g.Name);
    const rp = g.RestartPolicy as Json | undefined;
    // nomad/structs RestartPolicy.Validate: the attempts must fit into the interval.
    if (rp && rp.Mode && rp.Attempts * rp.Delay > rp.Interval) problems.push(`${at}: Nomad can't restart ${rp.Attempts} times in ${rp.Interval} with a delay of ${rp.Delay}`);
    if (g.MaxRunDuration !== undefined && job.Type !== 'batch' && job.Type !== 'sysbatch') problems.push(`${at}: MaxRunDuration in a ${job.Type} job`);
    if (g.Update !== undefined && job.Type === 'batch') problems.push(`${at}: Update in a batch job`);
    const labels = new Set<string>();
    for (const n of (g.Networks ?? []) as Json[]) {
      for (const p of [...(n.DynamicPorts ?? []), ...(n.ReservedPorts ?? [])] as Json[]) {
        if (labels.has(p.Label)) problems.push(`${at}: port label ${p.Label} used twice`);
        labels.add(p.Label);
      }
    }
    const taskNames = new Set<string>();
    let mains = 0;
    for (const t of g.Tasks as Json[]) {
      if (taskNames.has(t.Name)) problems.push(`${at}: duplicate task ${t.Name}`);
      taskNames.add(t.Name);
      if (!t.Lifecycle) mains++;
      for (const s of (t.Services ?? []) as Json[]) {
        if (s.PortLabel && !labels.has(s.PortLabel)) problems.push(`${at}: service ${s.Name} port ${s.PortLabel} is not in the group's network`);
        for (const c of (s.Checks ?? []) as Json[]) {
          if (!labels.has(c.PortLabel)) problems.push(`${at}: check ${c.Name} port ${c.PortLabel} is not in the group's network`);
        }
      }
      // A ${NOMAD_PORT_x} must name a port of the group.
      for (const v of Object.values((t.Env ?? {}) as Record<string, string>)) {
        for (const m of v.matchAll(/\$\{NOMAD_PORT_([A-Za-z0-9_]+)\}/g)) if (!labels.has(m[1]!)) problems.push(`${at}: ${t.Name} env uses port ${m[1]} that the group does not have`);
      }
    }
    if (mains === 0) problems.push(`${at}: no main task (only lifecycle tasks)`);
  }
  return problems;
}

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'v1/Service': Service,
};

/** Every way `obj` breaks the official OpenAPI schema of its kind (empty when valid). */
export function k8sProblems(obj: Json): string[] {
  const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!Model) return [`no model for ${obj.apiVersion} ${obj.kind}`];
  try {
    new Model(obj).validate();
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}
