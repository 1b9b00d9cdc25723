// services → Nomad jobs (the JSON the jobs API takes: `{"Job": {...}}`, PascalCase, durations in
// nanoseconds), and a report of what became of every field. Pure: the caller passes in how to find
// a program on PATH, so the same specs always give the same jobs.
//
// Shape: one service job with a task group per long-running service (Count = replicas). A oneshot
// that a long-running service depends on runs as a prestart task in that service's group; the
// other oneshots form a separate batch job. Field names follow api/jobs.go, api/tasks.go,
// api/services.go and api/resources.go of hashicorp/nomad; test/export/nomad-job.schema.json
// checks the subset written here.

import { isAbsolute, resolve } from 'node:path';
import type { ProbeSpec, ServiceSpec } from '../spec/types.js';
import { formatDuration } from '../spec/units.js';
import { NomadPortLabels } from './port-names.js';
import { ReportBuilder, type ConversionReport, type ExportError, type Rule } from './report.js';
import { LOOPBACK, translate, type VarValue } from './vars.js';

export type NomadDriver = 'raw_exec' | 'exec';
/** How `ports:` map: Nomad-picked dynamic ports, or tend's base + index (static when one replica). */
export type NomadPorts = 'dynamic' | 'index';

export interface NomadOptions {
  /** Job ID of the service job; the batch job of oneshots is `<jobId>-oneshot`. */
  jobId: string;
  driver: NomadDriver;
  /** Default dynamic. */
  ports?: NomadPorts;
  /** Absolute path of a program found on PATH, or undefined. */
  which: (program: string) => string | undefined;
  datacenters?: string[];
}

export interface NomadExport {
  jobs: { Job: NomadJob }[];
  report: ConversionReport;
  errors: ExportError[];
}

// The subset of Nomad's API types written here.
export interface NomadJob {
  ID: string;
  Name: string;
  Type: 'service' | 'batch';
  Datacenters: string[];
  Meta: Record<string, string>;
  TaskGroups: NomadTaskGroup[];
}
export interface NomadTaskGroup {
  Name: string;
  Count: number;
  Meta?: Record<string, string>;
  RestartPolicy: { Attempts: number; Interval: number; Delay: number; Mode: 'fail' | 'delay' };
  ReschedulePolicy: { Attempts: number; Interval: number; Unlimited: boolean };
  Update?: { MaxParallel: number; HealthCheck: 'checks' | 'task_states'; Canary?: number; AutoPromote?: boolean };
  Networks?: { DynamicPorts?: { Label: string }[]; ReservedPorts?: { Label: string; Value: number }[] }[];
  MaxRunDuration?: number;
  Tasks: NomadTask[];
}
export interface NomadTask {
  Name: string;
  Driver: NomadDriver;
  Lifecycle?: { Hook: 'prestart'; Sidecar: boolean };
  Config: { command: string; args: string[]; work_dir?: string };
  Env: Record<string, string>;
  User?: string;
  KillSignal?: string;
  KillTimeout?: number;
  LogConfig?: { MaxFiles: number; MaxFileSizeMB: number };
  Resources?: { MemoryMB?: number; Cores?: number };
  Services?: NomadService[];
  Identity?: { Env: boolean };
}
export interface NomadService {
  Name: string;
  Provider: 'nomad';
  PortLabel?: string;
  Tags: string[];
  Checks: NomadCheck[];
}
export interface NomadCheck {
  Name: string;
  Type: 'http' | 'tcp';
  PortLabel: string;
  Path?: string;
  Protocol?: 'http' | 'https';
  Interval: number;
  Timeout: number;
  CheckRestart?: { Limit: number; Grace: number };
}

const NS = 1_000_000; // ns per ms
const MIN_CHECK_MS = 1000; // Nomad refuses check intervals and timeouts under 1 s
const MAX_KILL_TIMEOUT_MS = 30_000; // the client's default max_kill_timeout
const UNLIMITED_ATTEMPTS = 10;


const VAR_RULE = (field: string): Rule => ({
  field,
  alsoFor: ['command', 'cwd', 'env', 'readiness', 'liveness'],
  status: 'approximated',
  when: 'a ${VAR} that only tend\'s own environment defines',
  how: 'tend takes it from its own environment, which Nomad tasks do not share: exported as unset (a :-default applies)',
});

/** Every conversion the Nomad exporter makes; the matrix in docs/export.md is rendered from these. */
export const NOMAD_RULES = {
  commandPath: { field: 'command', status: 'converted', when: 'a program name', how: 'Config.command is the program found on PATH where you export (raw_exec does not search PATH), the rest Config.args' },
  commandAbsolute: { field: 'command', status: 'converted', when: 'an absolute or relative program path, or a string command', how: 'Config.command (relative paths resolved against cwd; a string runs as /bin/sh -c) and Config.args' },
  cwdRaw: { field: 'cwd', status: 'converted', when: 'driver raw_exec', how: 'Config.work_dir, the same absolute path: the files must be there on every client' },
  cwdExec: { field: 'cwd', status: 'approximated', when: 'driver exec', how: 'Config.work_dir inside the task\'s chroot: the path must exist in the chroot, not only on the host' },
  env: { field: 'env', status: 'converted', when: '', how: 'Task.Env, with TEND_SERVICE, TEND_REPLICA = ${NOMAD_ALLOC_INDEX} and TEND_REPLICAS as tend sets them; a ${VAR} naming another entry is inlined' },
  envReplicas: { field: 'env', status: 'approximated', when: 'the spec uses ${TEND_REPLICAS}', how: 'TEND_REPLICAS is the replica count at export time: `nomad job scale` does not change it' },
  envLoopback: { field: 'env', status: 'approximated', when: 'a value names 127.0.0.1 or localhost', how: 'exported as written, but other services may run on other nodes: reach them through the Nomad service catalog (a template with nomadService) instead of the loopback address' },
  envFile: { field: 'env_file', status: 'converted', when: '', how: 'its entries are merged under env and exported with it: export again after changing the file' },
  replicas: { field: 'replicas', status: 'converted', when: '', how: 'TaskGroup.Count; TEND_REPLICA is ${NOMAD_ALLOC_INDEX}, 0 to Count-1 like tend\'s index' },
  portsDynamic: { field: 'ports', status: 'approximated', when: '', how: 'a dynamic port per name in the group\'s network (label: the name in lower case, numbered _2, _3 where two names meet in lower case, as the report says: labels are unique in a group; a prestart task\'s port of the same name is the same port) and NAME = ${NOMAD_PORT_label}: Nomad picks a free port for each allocation instead of base + index (Nomad cannot add to ${NOMAD_ALLOC_INDEX}); find replicas through the Nomad service of the same name' },
  portsStatic: { field: 'ports', status: 'converted', when: '--ports index, replicas ≤ 1', how: 'a reserved (static) port = the base, and NAME = ${NOMAD_PORT_label}: the same port as under tend; Nomad places the allocation where that port is free' },
  portsIndex: { field: 'ports', status: 'approximated', when: '--ports index, replicas > 1', how: 'NAME = base + NOMAD_ALLOC_INDEX, computed by a /bin/sh wrapper that then execs the command (Nomad\'s env cannot add), with the env entries and arguments that use it: tend\'s numbering, but Nomad does not reserve these ports (raw_exec shares the host\'s network) and checks cannot use them' },
  dependsWait: { field: 'depends_on', status: 'approximated', when: 'on a long-running service', how: 'a prestart task await-DEP polls `nomad service info DEP` every 2 s through the task API socket until DEP is registered; `healthy` waits only for registration (Nomad registers a service when its allocation runs, before its checks pass); the nomad CLI must be on the clients\' PATH' },
  dependsOneshot: { field: 'depends_on', status: 'approximated', when: 'on a oneshot', how: 'the oneshot runs as a prestart task of this group, so it completes before this service starts, once per allocation' },
  dependsBetweenOneshots: { field: 'depends_on', status: 'dropped', when: 'a oneshot on another oneshot', how: 'oneshots run as prestart tasks or batch groups, which start together: Nomad cannot make one wait for another\'s completion' },
  readiness: { field: 'readiness', status: 'approximated', when: 'http or tcp', how: 'a check of the Nomad service (provider nomad): it gates deployments (Update.HealthCheck = checks) and the service\'s health, not the start of dependents; interval and timeout kept (at least 1 s); failure_threshold, success_threshold and start_period have no native equivalent; checks reach the node\'s address, so the program must listen there, not only on 127.0.0.1' },
  probeExec: { field: 'readiness', status: 'dropped', when: 'exec', how: 'Nomad\'s native service checks are http and tcp only (script checks need Consul)' },
  probeNoPort: { field: 'readiness', alsoFor: ['liveness'], status: 'dropped', when: 'http or tcp on a port known only at run time', how: 'a Nomad check needs a port label: the probe\'s port is neither a `ports:` name nor a number known at export' },
  probeIndexPort: { field: 'readiness', alsoFor: ['liveness'], status: 'dropped', when: '--ports index, replicas > 1, on a port', how: 'a Nomad check needs a port label, and a port computed per allocation has none: use --ports dynamic to keep the check' },
  liveness: { field: 'liveness', status: 'approximated', when: 'http or tcp', how: 'a check with CheckRestart {Limit = failure_threshold, Grace = start_period}: Nomad restarts the task after that many failures in a row; interval and timeout kept (at least 1 s); checks reach the node\'s address, so the program must listen there, not only on 127.0.0.1' },
  livenessExec: { field: 'liveness', status: 'dropped', when: 'exec', how: 'Nomad\'s native service checks are http and tcp only (script checks need Consul)' },
  restartAlways: { field: 'restart', status: 'converted', when: 'always', how: 'RestartPolicy: Nomad restarts the task after every exit' },
  restartOther: { field: 'restart', status: 'approximated', when: 'on-failure or never, long-running', how: 'a service job replaces every task that exits, cleanly or not: RestartPolicy.Attempts is 0 for never, and a clean exit is restarted too' },
  restartBatch: { field: 'restart', status: 'converted', when: 'a oneshot', how: 'batch and prestart tasks complete on exit 0; a failure is restarted up to max_restarts times (on-failure) or not at all (never)' },
  backoff: { field: 'backoff', status: 'approximated', when: '', how: 'RestartPolicy.Delay = backoff.initial: Nomad waits a constant delay (with jitter); factor, max and reset_after have no equivalent' },
  maxRestarts: { field: 'max_restarts', status: 'converted', when: '> 0', how: 'RestartPolicy {Attempts, Mode fail}: past that many restarts in restart_window the allocation fails, like tend\'s crash loop; ReschedulePolicy {Attempts 0, Unlimited false} keeps it failed, as tend does' },
  maxRestartsUnlimited: { field: 'max_restarts', status: 'approximated', when: '0 (unlimited)', how: `RestartPolicy {Attempts ${UNLIMITED_ATTEMPTS}, Mode delay}: after ${UNLIMITED_ATTEMPTS} restarts in restart_window Nomad waits for the window to end, then goes on` },
  restartWindow: { field: 'restart_window', status: 'converted', when: '', how: 'RestartPolicy.Interval and ReschedulePolicy.Interval' },
  restartWindowRaised: { field: 'restart_window', status: 'approximated', when: 'shorter than max_restarts × backoff.initial', how: 'RestartPolicy.Interval raised to Attempts × Delay, the least Nomad accepts' },
  stopSignal: { field: 'stop_signal', status: 'converted', when: '', how: 'Task.KillSignal' },
  stopTimeout: { field: 'stop_timeout', status: 'converted', when: 'up to 30s', how: 'Task.KillTimeout (nanoseconds)' },
  stopTimeoutCapped: { field: 'stop_timeout', status: 'approximated', when: 'over 30s', how: 'Task.KillTimeout, but clients cap it at their max_kill_timeout (30 s unless raised in the client configuration)' },
  oneshotPrestart: { field: 'oneshot', status: 'approximated', when: 'a long-running service depends on it', how: 'a prestart task (not a sidecar) in the group of each service that depends on it: it runs once per allocation of each, not once' },
  replicasPrestart: { field: 'replicas', status: 'approximated', when: 'a oneshot run as a prestart task', how: 'a prestart task runs once in every allocation of the groups it is in: its own replica count does not apply' },
  restartPrestart: { field: 'backoff', alsoFor: ['max_restarts', 'restart_window'], status: 'approximated', when: 'a oneshot run as a prestart task', how: 'a prestart task is restarted by the RestartPolicy of the group it is in; its own back-off, max_restarts and restart_window do not apply' },
  oneshotBatch: { field: 'oneshot', status: 'converted', when: 'no long-running service depends on it', how: 'a task group of the batch job JOB-oneshot' },
  update: { field: 'update', status: 'converted', when: 'rolling, max_surge 0', how: 'TaskGroup.Update {MaxParallel = max_unavailable, HealthCheck = checks with a readiness probe, else task_states}' },
  updateSurge: { field: 'update', status: 'approximated', when: 'rolling, max_surge > 0', how: 'Update.Canary = max_surge with AutoPromote: new allocations start before old ones stop, as canaries promoted once healthy' },
  updateRecreate: { field: 'update', status: 'approximated', when: 'recreate', how: 'Update.MaxParallel = replicas: all allocations are replaced together, each new one starting as its old one stops' },
  updateBatch: { field: 'update', status: 'approximated', when: 'a oneshot', how: 'batch jobs and prestart tasks have no update strategy: a new version runs when the job is submitted again' },
  memory: { field: 'limits.memory', status: 'converted', when: 'driver exec', how: 'Resources.MemoryMB (MiB, rounded up, at least 10): reserved for placement, and a task above it is killed and restarted, as tend restarts it' },
  memoryRaw: { field: 'limits.memory', status: 'approximated', when: 'driver raw_exec', how: 'Resources.MemoryMB (MiB, rounded up, at least 10): reserved for placement; raw_exec enforces it only where the client manages cgroups' },
  memoryUnset: { field: 'limits.memory', status: 'approximated', when: 'not set', how: 'tend sets no limit, but Nomad reserves its default 300 MB per task: set limits.memory to choose' },
  cpu: { field: 'limits.cpu_percent', status: 'approximated', when: '', how: 'Resources.Cores = cpu_percent / 100 rounded up: whole cores are reserved and the task is throttled to them, where tend restarts it above the limit' },
  maxRuntimeBatch: { field: 'limits.max_runtime', status: 'approximated', when: 'a oneshot in the batch job', how: 'TaskGroup.MaxRunDuration (Nomad ≥ 1.10): the allocation is stopped, not restarted' },
  maxRuntimeService: { field: 'limits.max_runtime', status: 'dropped', when: 'long-running, or a oneshot run as a prestart task', how: 'Nomad has no maximum run time for service jobs (max_run_duration is for batch jobs)' },
  logs: { field: 'logs', status: 'approximated', when: '', how: 'Task.LogConfig {MaxFiles = max_files + 1, MaxFileSizeMB = max_size in MiB rounded up}: Nomad rotates stdout and stderr in separate files' },
  user: { field: 'user', status: 'converted', when: '', how: 'Task.User (honoured when the client runs as root, as tend honours it)' },
  labels: { field: 'labels', status: 'converted', when: '', how: 'TaskGroup.Meta' },
  hostVar: VAR_RULE('${VAR}'),
} as const satisfies Record<string, Rule>;

const R = NOMAD_RULES;

// Exports every service; `errors` is non-empty when some service cannot be expressed at all.
export function exportNomad(services: ServiceSpec[], opts: NomadOptions): NomadExport {
  const report = new ReportBuilder();
  const errors: ExportError[] = [];
  const byName = new Map(services.map((s) => [s.name, s]));
  // A oneshot some long-running service depends on runs inside that service's group.
  const embedded = new Set<string>();
  for (const s of services) {
    if (s.oneshot) continue;
    for (const dep of Object.keys(s.dependsOn)) if (byName.get(dep)?.oneshot) embedded.add(dep);
  }
  const ctx: Ctx = { opts, report, errors, byName, embedded };

  const serviceGroups: NomadTaskGroup[] = [];
  const batchGroups: NomadTaskGroup[] = [];
  for (const s of services) {
    if (!s.oneshot) serviceGroups.push(serviceGroup(ctx, s));
    else if (!embedded.has(s.name)) batchGroups.push(batchGroup(ctx, s));
    else reportEmbeddedOneshot(ctx, s);
  }

  const jobs: { Job: NomadJob }[] = [];
  const dcs = opts.datacenters ?? ['*'];
  const meta = { 'tend.exported': 'true' };
  if (serviceGroups.length > 0) jobs.push({ Job: { ID: opts.jobId, Name: opts.jobId, Type: 'service', Datacenters: dcs, Meta: meta, TaskGroups: serviceGroups } });
  if (batchGroups.length > 0) {
    const id = serviceGroups.length > 0 ? `${opts.jobId}-oneshot` : opts.jobId;
    jobs.push({ Job: { ID: id, Name: id, Type: 'batch', Datacenters: dcs, Meta: meta, TaskGroups: batchGroups } });
  }
  return { jobs, report: { target: 'nomad', rows: report.sorted(services.map((s) => s.name)) }, errors };
}

interface Ctx {
  opts: NomadOptions;
  report: ReportBuilder;
  errors: ExportError[];
  byName: Map<string, ServiceSpec>;
  embedded: Set<string>;
}

/** What a service's task looks like; its ports are added to the group's `NomadPortLabels`. */
interface TaskParts {
  task: NomadTask;
  /** The group's label of each of its `ports:` names that has one. */
  portLabels: Map<string, string>;
}

function serviceGroup(ctx: Ctx, s: ServiceSpec): NomadTaskGroup {
  // The main task's ports are labelled first, so they keep their names; a prestart task's port
  // that meets one of them is renamed, and said on the dependency's row.
  const ports = new NomadPortLabels();
  const parts = taskOf(ctx, s, { report: true, kind: 'service' }, ports);
  const tasks: NomadTask[] = [];
  // Dependencies first: prestart tasks run before the main task starts.
  for (const [dep, condition] of Object.entries(s.dependsOn)) {
    const d = ctx.byName.get(dep);
    if (d?.oneshot) {
      const inner = taskOf(ctx, d, { report: false, kind: 'prestart' }, ports);
      tasks.push({ ...inner.task, Lifecycle: { Hook: 'prestart', Sidecar: false } });
      const renamed = [...inner.portLabels]
        .map(([name, l]) => ({ name, l, note: ports.note(l, portLabel(name), d.name) }))
        .filter((x) => x.note)
        .map((x) => `its ${x.name} is label ${x.l} in this group: ${x.note}`);
      ctx.report.add(s.name, R.dependsOneshot, `${dep}: ${condition}${renamed.length > 0 ? ` (${renamed.join('; ')})` : ''}`);
    } else {
      tasks.push(awaitTask(ctx, dep));
      ctx.report.add(s.name, R.dependsWait, `${dep}: ${condition}`);
    }
  }
  tasks.push(parts.task);
  return groupOf(ctx, s, ports, tasks, 'service');
}

function batchGroup(ctx: Ctx, s: ServiceSpec): NomadTaskGroup {
  const ports = new NomadPortLabels();
  const parts = taskOf(ctx, s, { report: true, kind: 'batch' }, ports);
  const tasks: NomadTask[] = [];
  for (const [dep, condition] of Object.entries(s.dependsOn)) {
    if (ctx.byName.get(dep)?.oneshot) {
      ctx.report.add(s.name, R.dependsBetweenOneshots, `${dep}: ${condition}`);
      continue;
    }
    tasks.push(awaitTask(ctx, dep));
    ctx.report.add(s.name, R.dependsWait, `${dep}: ${condition}`);
  }
  tasks.push(parts.task);
  return groupOf(ctx, s, ports, tasks, 'batch');
}

// A oneshot run inside other groups: its fields are reported once, under its own name.
function reportEmbeddedOneshot(ctx: Ctx, s: ServiceSpec): void {
  taskOf(ctx, s, { report: true, kind: 'prestart' }, new NomadPortLabels());
  for (const [dep, condition] of Object.entries(s.dependsOn)) {
    if (ctx.byName.get(dep)?.oneshot) ctx.report.add(s.name, R.dependsBetweenOneshots, `${dep}: ${condition}`);
    else ctx.report.add(s.name, R.dependsWait, `${dep}: ${condition} (waited for in a /bin/sh loop before the command)`);
  }
  const dependents = [...ctx.byName.values()].filter((o) => !o.oneshot && s.name in o.dependsOn).map((o) => o.name);
  report(ctx, s, R.oneshotPrestart, `in the groups of ${dependents.join(', ')}`);
  report(ctx, s, R.replicasPrestart, `replicas ${s.replicas}`);
  report(ctx, s, R.updateBatch);
  reportRestart(ctx, s, 'prestart');
}

function groupOf(ctx: Ctx, s: ServiceSpec, ports: NomadPortLabels, tasks: NomadTask[], kind: 'service' | 'batch'): NomadTaskGroup {
  const restart = restartPolicy(s);
  const group: NomadTaskGroup = {
    Name: s.name,
    Count: s.replicas,
    ...(Object.keys(s.labels).length > 0 ? { Meta: { ...s.labels } } : {}),
    RestartPolicy: restart,
    ReschedulePolicy: { Attempts: 0, Interval: restart.Interval, Unlimited: false },
    Tasks: tasks,
  };
  report(ctx, s, R.replicas, `Count ${s.replicas}`);
  reportRestart(ctx, s, kind);
  if (kind === 'service') {
    const u = s.update;
    const health = s.readiness && s.readiness.check.kind !== 'exec' ? 'checks' : 'task_states';
    if (u.strategy === 'recreate') {
      group.Update = { MaxParallel: Math.max(1, s.replicas), HealthCheck: health };
      report(ctx, s, R.updateRecreate);
    } else if (u.maxSurge > 0) {
      group.Update = { MaxParallel: Math.max(1, u.maxUnavailable, u.maxSurge), HealthCheck: health, Canary: u.maxSurge, AutoPromote: true };
      report(ctx, s, R.updateSurge, `max_surge ${u.maxSurge} → Canary ${u.maxSurge}`);
    } else {
      group.Update = { MaxParallel: u.maxUnavailable, HealthCheck: health };
      report(ctx, s, R.update, `MaxParallel ${u.maxUnavailable}, HealthCheck ${health}`);
    }
  } else {
    report(ctx, s, R.updateBatch);
    report(ctx, s, R.oneshotBatch, `job ${ctx.opts.jobId}${[...ctx.byName.values()].some((o) => !o.oneshot) ? '-oneshot' : ''}`);
  }
  if (s.limits.maxRuntimeMs > 0) {
    if (kind === 'batch') {
      group.MaxRunDuration = s.limits.maxRuntimeMs * NS;
      report(ctx, s, R.maxRuntimeBatch, formatDuration(s.limits.maxRuntimeMs));
    } else report(ctx, s, R.maxRuntimeService, formatDuration(s.limits.maxRuntimeMs));
  }
  const network: NonNullable<NomadTaskGroup['Networks']>[number] = {};
  if (ports.dynamicPorts.length > 0) network.DynamicPorts = ports.dynamicPorts;
  if (ports.reservedPorts.length > 0) network.ReservedPorts = ports.reservedPorts;
  if (network.DynamicPorts || network.ReservedPorts) group.Networks = [network];
  return group;
}

function restartPolicy(s: ServiceSpec): NomadTaskGroup['RestartPolicy'] {
  const delay = s.backoff.initialMs * NS;
  if (s.restart === 'never') return { Attempts: 0, Interval: s.restartWindowMs * NS, Delay: delay, Mode: 'fail' };
  const attempts = s.maxRestarts === 0 ? UNLIMITED_ATTEMPTS : s.maxRestarts;
  // Nomad refuses an interval it cannot fit the attempts into.
  const interval = Math.max(s.restartWindowMs * NS, attempts * delay);
  return { Attempts: attempts, Interval: interval, Delay: delay, Mode: s.maxRestarts === 0 ? 'delay' : 'fail' };
}

function reportRestart(ctx: Ctx, s: ServiceSpec, kind: 'service' | 'batch' | 'prestart'): void {
  const p = restartPolicy(s);
  if (s.oneshot) report(ctx, s, R.restartBatch, s.restart);
  else if (s.restart === 'always') report(ctx, s, R.restartAlways);
  else report(ctx, s, R.restartOther, s.restart);
  if (kind === 'prestart') {
    // Its group's policy is its dependent's.
    for (const field of ['backoff', 'max_restarts', 'restart_window']) report(ctx, s, { ...R.restartPrestart, field });
    return;
  }
  report(ctx, s, R.backoff, `Delay ${formatDuration(s.backoff.initialMs)}`);
  if (s.maxRestarts === 0) report(ctx, s, R.maxRestartsUnlimited);
  else report(ctx, s, R.maxRestarts, `Attempts ${s.maxRestarts}`);
  if (p.Interval > s.restartWindowMs * NS) report(ctx, s, R.restartWindowRaised, `${formatDuration(s.restartWindowMs)} → ${formatDuration(p.Interval / NS)}`);
  else report(ctx, s, R.restartWindow, formatDuration(s.restartWindowMs));
}

// Reports a field of `s`.
function report(ctx: Ctx, s: ServiceSpec, rule: Rule, detail?: string): void {
  ctx.report.add(s.name, rule, detail);
}

// Builds the task of `s`: command, env, stop, resources, logs, checks. Its ports are labelled in
// `ports`, the group's.
function taskOf(ctx: Ctx, s: ServiceSpec, how: { report: boolean; kind: 'service' | 'batch' | 'prestart' }, ports: NomadPortLabels): TaskParts {
  const add = (rule: Rule, detail?: string) => {
    if (how.report) ctx.report.add(s.name, rule, detail);
  };
  const driver = ctx.opts.driver;
  const portNames = Object.keys(s.ports);
  const mode: NomadPorts = ctx.opts.ports ?? 'dynamic';
  // --ports index with several replicas: ports are base + index, computed by a shell wrapper.
  const shellPorts = mode === 'index' && s.replicas > 1 && portNames.length > 0;
  const portLabels = new Map<string, string>();
  if (mode === 'dynamic') for (const p of portNames) portLabels.set(p, ports.dynamic(p, portLabel(p), s.name));
  else if (!shellPorts) for (const p of portNames) portLabels.set(p, ports.reserved(s.ports[p]!, portLabel(p), s.name, p));
  const label = (port: string) => portLabels.get(port)!;
  const renamed = (port: string) => {
    const note = ports.note(label(port), portLabel(port), s.name);
    return note ? ` (${note})` : '';
  };
  const hostVars = new Map<string, string[]>();
  const noteHost = (field: string, names: string[]) => {
    if (names.length > 0) hostVars.set(field, [...(hostVars.get(field) ?? []), ...names]);
  };

  // Variables as the task sees them: ports and TEND_* at run time, env entries inlined.
  const known = new Map<string, VarValue>();
  if (!shellPorts) for (const p of portNames) known.set(p, { kind: 'ref', text: `\${NOMAD_PORT_${label(p)}}` });
  known.set('TEND_SERVICE', { kind: 'value', value: s.name });
  known.set('TEND_REPLICA', { kind: 'ref', text: '${NOMAD_ALLOC_INDEX}' });
  known.set('TEND_REPLICAS', { kind: 'value', value: String(s.replicas) });
  let usesReplicas = false;
  const lookup = (name: string): VarValue | undefined => {
    if (name === 'TEND_REPLICAS') usesReplicas = true;
    return known.get(name);
  };

  // In the shell wrapper every variable is read from the task's environment at run time.
  const inShell = new Set<string>(shellPorts ? portNames : []);
  const shellLookup = (name: string): VarValue | undefined => {
    if (name === 'TEND_REPLICAS') usesReplicas = true;
    return inShell.has(name) || known.has(name) ? { kind: 'ref', text: `"$${name}"` } : undefined;
  };
  const shellWord = (text: string) => `"${translate(text, shellLookup, shellEscape).text}"`;
  const shellEnv: string[] = [];

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.env)) {
    const t = translate(v, lookup);
    noteHost('env', t.unresolved.filter((n) => !inShell.has(n)));
    // An entry that uses a computed port is computed in the wrapper too.
    if (shellPorts && (t.unresolved.some((n) => inShell.has(n)) || t.refs.some((n) => inShell.has(n)))) {
      shellEnv.push(`export ${k}=${shellWord(v)}`);
      inShell.add(k);
      continue;
    }
    env[k] = t.text;
    known.set(k, t.refs.length === 0 ? { kind: 'value', value: t.text } : { kind: 'ref', text: t.text });
  }
  if (!shellPorts) for (const p of portNames) env[p] = `\${NOMAD_PORT_${label(p)}}`;
  env.TEND_SERVICE = s.name;
  env.TEND_REPLICA = '${NOMAD_ALLOC_INDEX}';
  env.TEND_REPLICAS = String(s.replicas);

  const x = (field: string, text: string) => {
    const t = translate(text, lookup);
    noteHost(field, t.unresolved.filter((n) => !inShell.has(n)));
    return t.text;
  };
  const argv = s.command.map((a) => x('command', a));
  let cwd = x('cwd', s.cwd);
  if (!isAbsolute(cwd)) cwd = resolve(s.file, '..', cwd);
  let program = argv[0]!;
  if (program.includes('/')) {
    program = resolve(cwd, program);
    add(R.commandAbsolute, program);
  } else {
    const found = ctx.opts.which(program);
    if (found === undefined) {
      if (how.report) ctx.errors.push({ service: s.name, field: 'command', message: `command: ${JSON.stringify(program)} is not on PATH here, and Nomad's ${driver} needs an absolute path: install it, or write its absolute path in the spec` });
    } else {
      add(R.commandPath, `${argv[0]} → ${found}`);
      program = found;
    }
  }
  let args = argv.slice(1);
  // Shell steps before the command: waits for dependencies (a oneshot run as a prestart task
  // waits for its own long-running dependencies), ports computed from the index.
  const prelude: string[] = [];
  if (how.kind === 'prestart') {
    const waits = Object.keys(s.dependsOn).filter((d) => !ctx.byName.get(d)?.oneshot);
    if (waits.length > 0) {
      prelude.push(...waits.map((d) => awaitLoop(d)));
      env.NOMAD_ADDR = 'unix://${NOMAD_SECRETS_DIR}/api.sock';
    }
  }
  if (shellPorts) {
    prelude.push(`export ${portNames.map((p) => `${p}=$((${s.ports[p]} + NOMAD_ALLOC_INDEX))`).join(' ')}`, ...shellEnv);
    // The command is written into the script, so arguments may use the computed values.
    const words = [program, ...s.command.slice(1)].map((a, i) => (i === 0 ? `"${shellEscape(a)}"` : shellWord(a)));
    noteHost('command', s.command.flatMap((a) => translate(a, shellLookup).unresolved));
    args = ['-c', `${prelude.join('; ')}; exec ${words.join(' ')}`];
    program = '/bin/sh';
  } else if (prelude.length > 0) {
    args = ['-c', `${prelude.join('; ')}; exec "$0" "$@"`, program, ...args];
    program = '/bin/sh';
  }

  const task: NomadTask = {
    Name: s.name,
    Driver: driver,
    Config: { command: program, args, work_dir: cwd },
    Env: env,
    KillSignal: s.stopSignal,
    KillTimeout: s.stopTimeoutMs * NS,
    LogConfig: { MaxFiles: s.logs.maxFiles + 1, MaxFileSizeMB: Math.max(1, Math.ceil(s.logs.maxSizeBytes / 2 ** 20)) },
  };
  if (how.kind === 'prestart' && task.Env.NOMAD_ADDR) task.Identity = { Env: true };
  add(driver === 'raw_exec' ? R.cwdRaw : R.cwdExec, cwd);
  add(R.env);
  const loopback = Object.keys(s.env).filter((k) => LOOPBACK.test(s.env[k]!));
  if (loopback.length > 0) add(R.envLoopback, loopback.join(', '));
  if (usesReplicas) add(R.envReplicas);
  if (s.envFiles.length > 0) add(R.envFile, s.envFiles.length === 1 ? '1 file' : `${s.envFiles.length} files`);
  if (portNames.length > 0) {
    if (mode === 'dynamic') add(R.portsDynamic, Object.entries(s.ports).map(([k, v]) => `${k} (base ${v}) → \${NOMAD_PORT_${label(k)}}${renamed(k)}`).join(', '));
    else if (shellPorts) add(R.portsIndex, Object.entries(s.ports).map(([k, v]) => `${k} = ${v} + NOMAD_ALLOC_INDEX`).join(', '));
    else add(R.portsStatic, Object.entries(s.ports).map(([k, v]) => `${k} = ${v}${renamed(k) && ` → \${NOMAD_PORT_${label(k)}}${renamed(k)}`}`).join(', '));
  }
  add(R.stopSignal, s.stopSignal);
  add(s.stopTimeoutMs > MAX_KILL_TIMEOUT_MS ? R.stopTimeoutCapped : R.stopTimeout, formatDuration(s.stopTimeoutMs));
  add(R.logs, `MaxFiles ${task.LogConfig!.MaxFiles}, MaxFileSizeMB ${task.LogConfig!.MaxFileSizeMB}`);
  if (s.user !== undefined) {
    task.User = s.user;
    add(R.user, s.user);
  }
  if (Object.keys(s.labels).length > 0) add(R.labels);

  const resources: NonNullable<NomadTask['Resources']> = {};
  if (s.limits.memoryBytes > 0) {
    resources.MemoryMB = Math.max(10, Math.ceil(s.limits.memoryBytes / 2 ** 20));
    add(driver === 'exec' ? R.memory : R.memoryRaw, `MemoryMB ${resources.MemoryMB}`);
  } else add(R.memoryUnset);
  if (s.limits.cpuPercent > 0) {
    resources.Cores = Math.ceil(s.limits.cpuPercent / 100);
    add(R.cpu, `${s.limits.cpuPercent}% → Cores ${resources.Cores}`);
  }
  if (Object.keys(resources).length > 0) task.Resources = resources;

  // Probes become checks of one Nomad service named after the tend service.
  const checks: NomadCheck[] = [];
  const probe = (kind: 'readiness' | 'liveness', p: ProbeSpec | undefined) => {
    if (!p) return;
    if (p.check.kind === 'exec') {
      add(kind === 'readiness' ? R.probeExec : R.livenessExec);
      return;
    }
    const reserve = (value: number, preferred: string) => ports.reserved(value, preferred, s.name);
    const target = probeTarget(p, (t) => x(kind, t), s.ports, portLabels, reserve);
    if (target.computed) {
      add({ ...R.probeIndexPort, field: kind }, `port ${target.computed}`);
      return;
    }
    if (!target.portLabel) {
      add({ ...R.probeNoPort, field: kind }, p.check.kind === 'http' ? p.check.url : p.check.port);
      return;
    }
    const check: NomadCheck = {
      Name: kind,
      Type: p.check.kind,
      PortLabel: target.portLabel,
      ...(p.check.kind === 'http' ? { Path: target.path ?? '/', Protocol: target.protocol ?? 'http' } : {}),
      Interval: Math.max(MIN_CHECK_MS, p.intervalMs) * NS,
      Timeout: Math.max(MIN_CHECK_MS, p.timeoutMs) * NS,
    };
    const notes: string[] = [];
    if (p.intervalMs < MIN_CHECK_MS) notes.push(`interval ${formatDuration(p.intervalMs)} → 1s`);
    if (p.timeoutMs < MIN_CHECK_MS) notes.push(`timeout ${formatDuration(p.timeoutMs)} → 1s`);
    if (kind === 'liveness') {
      check.CheckRestart = { Limit: p.failureThreshold, Grace: p.startPeriodMs * NS };
      notes.unshift(`CheckRestart Limit ${p.failureThreshold}, Grace ${formatDuration(p.startPeriodMs)}`);
    }
    checks.push(check);
    add(kind === 'readiness' ? R.readiness : R.liveness, [`${p.check.kind} check on port ${target.portLabel}`, ...notes].join('; '));
  };
  probe('readiness', s.readiness);
  probe('liveness', s.liveness);
  const servicePort = shellPorts || portNames.length === 0 ? undefined : label(portNames[0]!);
  if (checks.length > 0 || portNames.length > 0) {
    task.Services = [
      {
        Name: serviceName(s.name),
        Provider: 'nomad',
        ...(servicePort ? { PortLabel: servicePort } : {}),
        Tags: Object.entries(s.labels).map(([k, v]) => `${k}=${v}`),
        Checks: checks,
      },
    ];
  }
  for (const [field, names] of hostVars) add({ ...R.hostVar, field }, [...new Set(names)].map((n) => `\${${n}}`).join(', '));
  return { task, portLabels };
}

// The label a `ports:` name asks for: Nomad's labels and ${NOMAD_PORT_label} read better in lower case.
function portLabel(name: string): string {
  return name.toLowerCase();
}

interface ProbeTarget {
  portLabel?: string;
  /** The probe's port is a `ports:` name computed per allocation (no label to check). */
  computed?: string;
  path?: string;
  protocol?: 'http' | 'https';
}

// Where an http or tcp probe points, as a port label of the group's network: a `ports:` name is
// its port's label (`labels`; it has none when the wrapper computes it); a fixed number is
// reserved (static) through `reserve`.
function probeTarget(p: ProbeSpec, x: (t: string) => string, ports: Record<string, number>, labels: Map<string, string>, reserve: (value: number, preferred: string) => string): ProbeTarget {
  let portText: string;
  let path: string | undefined;
  let protocol: 'http' | 'https' | undefined;
  if (p.check.kind === 'http') {
    const m = /^(https?):\/\/(\[[^\]]*\]|[^/:?#]*)(?::([^/?#]*))?(.*)$/.exec(p.check.url);
    if (!m) return {};
    protocol = m[1] as 'http' | 'https';
    portText = m[3] ?? (protocol === 'https' ? '443' : '80');
    const rest = x(m[4] ?? '');
    path = rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}`;
  } else if (p.check.kind === 'tcp') portText = p.check.port;
  else return {};
  const named = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(portText);
  if (named && named[1]! in ports) {
    const l = labels.get(named[1]!);
    return l === undefined ? { computed: named[1]! } : { portLabel: l, path, protocol };
  }
  const value = x(portText);
  if (/^\d+$/.test(value)) return { portLabel: reserve(Number(value), named ? portLabel(named[1]!) : `port_${value}`), path, protocol };
  return {};
}

// A prestart task that waits until `dep` is registered in Nomad's service catalog.
function awaitTask(ctx: Ctx, dep: string): NomadTask {
  return {
    Name: `await-${dep}`,
    Driver: ctx.opts.driver,
    Lifecycle: { Hook: 'prestart', Sidecar: false },
    Config: { command: '/bin/sh', args: ['-c', awaitLoop(dep)] },
    Env: { NOMAD_ADDR: 'unix://${NOMAD_SECRETS_DIR}/api.sock' },
    Identity: { Env: true },
    KillTimeout: 5000 * NS,
  };
}

function awaitLoop(dep: string): string {
  const name = serviceName(dep);
  return `until nomad service info ${name} >/dev/null 2>&1; do echo waiting for ${name}; sleep 2; done`;
}

// Protects literal text inside a double-quoted /bin/sh word.
function shellEscape(text: string): string {
  return text.replace(/[\\"$`]/g, (c) => `\\${c}`);
}

// Nomad service names follow RFC 952: letters, digits and dashes.
function serviceName(name: string): string {
  return name.replace(/_/g, '-');
}
