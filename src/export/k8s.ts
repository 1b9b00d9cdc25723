// services → Kubernetes manifests (a Deployment per long-running service, a Job per oneshot, a
// Service per service that declares ports), and a report of what became of every field. Pure: the
// images come in as arguments, since a spec names programs on a host, not images.
//
// A oneshot that a long-running service depends on runs as an init container of that service's
// pods (after the init containers that wait for its other dependencies), as the Nomad export runs
// it as a prestart task; the other oneshots are Jobs. Objects are checked against the official
// OpenAPI schemas in test/export (kubernetes-models).

import { stringify } from 'yaml';
// Types only (erased at build): the official API types, so a misspelt or misplaced field fails
// to compile rather than being ignored by the API server.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IEnvVarSource } from 'kubernetes-models/v1/EnvVarSource';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { IService } from 'kubernetes-models/v1/Service';
import type { ProbeSpec, ServiceSpec } from '../spec/types.js';
import { formatDuration } from '../spec/units.js';
import { k8sPortNames } from './port-names.js';
import { ReportBuilder, type ConversionReport, type ExportError, type Rule } from './report.js';
import { LOOPBACK, translate, type VarValue } from './vars.js';

export interface K8sOptions {
  /** Image per service name; every exported service needs one. */
  images: Map<string, string>;
  namespace?: string;
  /** Image of the init containers that wait for dependencies (needs `sh` and `nc`). */
  waitImage?: string;
}

export interface K8sObject {
  apiVersion: string;
  kind: 'Deployment' | 'Job' | 'Service';
  metadata: { name: string; namespace?: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: unknown;
}

export interface K8sExport {
  objects: (K8sObject & { yaml: string })[];
  report: ConversionReport;
  errors: ExportError[];
}

export const DEFAULT_WAIT_IMAGE = 'busybox:1.36';
const NAME_LABEL = 'app.kubernetes.io/name';
// The kubelet's own log rotation defaults (containerLogMaxSize, containerLogMaxFiles).
const KUBELET_LOGS = { maxSizeBytes: 10 * 1024 * 1024, maxFiles: 5 };
const INT32_MAX = 2_147_483_647;

/** Every conversion the Kubernetes exporter makes; the matrix in docs/export.md is rendered from these. */
export const K8S_RULES = {
  command: { field: 'command', status: 'converted', when: '', how: 'container command (replacing the image\'s ENTRYPOINT), found on the image\'s PATH; ${VAR} becomes $(VAR), which Kubernetes expands from the container\'s env' },
  cwd: { field: 'cwd', status: 'approximated', when: '', how: 'workingDir is the path on the host you export from: the image must hold the program\'s files there' },
  env: { field: 'env', status: 'converted', when: '', how: 'container env in the same order; TEND_SERVICE, TEND_REPLICAS and ports first, so ${VAR} becomes $(VAR) as Kubernetes expands earlier entries' },
  envLoopback: { field: 'env', status: 'approximated', when: 'a value names 127.0.0.1 or localhost', how: 'exported as written, but in a pod that is the pod itself: reach other services through their Service name instead' },
  envReplicaPod: { field: 'env', status: 'approximated', when: 'a Deployment', how: 'TEND_REPLICA is the pod\'s name (downward API): Deployment pods have no index' },
  envReplicaJob: { field: 'env', status: 'converted', when: 'a Job', how: 'TEND_REPLICA is the completion index of an Indexed Job (0 to replicas-1)' },
  envFile: { field: 'env_file', status: 'converted', when: '', how: 'its entries are merged under env and exported with it: export again after changing the file' },
  replicas: { field: 'replicas', status: 'converted', when: 'a Deployment', how: 'spec.replicas' },
  replicasJob: { field: 'replicas', status: 'converted', when: 'a Job', how: 'completions = parallelism = replicas, completionMode Indexed' },
  ports: { field: 'ports', status: 'approximated', when: '', how: 'every pod gets NAME = the base port and declares it as a containerPort (pods have their own IP, so replicas need no distinct ports); a Service named after the service balances over the ready pods. Ports are named NAME in lower case with - for _; a port name is at most 15 characters and unique in a container and a Service, so a longer name is shortened and one that clashes numbered (-2, -3), as the report says' },
  dependsWait: { field: 'depends_on', status: 'approximated', when: 'on a service with ports', how: 'an init container await-DEP (the wait image) retries `nc -z DEP PORT` every 2 s: a Service only routes to ready pods, so started and healthy both wait for a ready pod' },
  dependsNoService: { field: 'depends_on', status: 'dropped', when: 'on a service without ports', how: 'it has no Service an init container could wait for; Kubernetes starts pods in no order, so the program must retry its connections' },
  dependsOneshot: { field: 'depends_on', status: 'approximated', when: 'on a oneshot', how: 'the oneshot runs as an init container after the waits, so it completes before this service starts, once per pod' },
  dependsBetweenOneshots: { field: 'depends_on', status: 'dropped', when: 'a oneshot on another oneshot', how: 'a Job or init container cannot wait for another Job to complete without API access' },
  readiness: { field: 'readiness', status: 'converted', when: 'every value exact', how: 'readinessProbe: exec / httpGet / tcpSocket, periodSeconds, timeoutSeconds, failureThreshold, successThreshold' },
  probeAdjusted: { field: 'readiness', alsoFor: ['liveness'], status: 'approximated', when: 'otherwise', how: 'the probe with adjustments listed in the report: whole seconds (at least 1), start_period → initialDelaySeconds (no probe runs during it, where tend probes but ignores failures), 127.0.0.1 → the pod\'s IP (the program must listen on it), liveness successThreshold 1 (Kubernetes allows no other)' },
  probeUnresolved: { field: 'readiness', alsoFor: ['liveness'], status: 'dropped', when: 'the probe uses a variable known only at run time', how: 'probes are not expanded by Kubernetes, and the value is not known at export' },
  probeInit: { field: 'readiness', alsoFor: ['liveness'], status: 'dropped', when: 'a oneshot run as an init container', how: 'init containers take no probes: the next container starts when this one exits' },
  liveness: { field: 'liveness', status: 'converted', when: 'every value exact', how: 'livenessProbe: the kubelet restarts the container after failureThreshold failures' },
  restart: { field: 'restart', status: 'converted', when: 'always, a Deployment', how: 'restartPolicy Always' },
  restartOther: { field: 'restart', status: 'approximated', when: 'on-failure or never, a Deployment', how: 'Deployment pods always restart (restartPolicy Always is the only one allowed)' },
  restartJob: { field: 'restart', status: 'converted', when: 'a Job', how: 'restartPolicy OnFailure (on-failure) or Never (never, backoffLimit 0)' },
  backoff: { field: 'backoff', status: 'approximated', when: '', how: 'the kubelet\'s own crash back-off (10 s doubling to 5 min, reset after 10 min running) replaces it' },
  maxRestarts: { field: 'max_restarts', status: 'approximated', when: 'a Deployment', how: 'Kubernetes never gives up: CrashLoopBackOff slows a crash loop to one restart per 5 minutes' },
  maxRestartsJob: { field: 'max_restarts', status: 'converted', when: 'a Job', how: 'backoffLimit (0, unlimited, becomes 2147483647)' },
  restartWindow: { field: 'restart_window', status: 'approximated', when: '', how: 'no window: the kubelet resets its back-off after 10 minutes of running, and a Job\'s backoffLimit counts every failure' },
  stopSignal: { field: 'stop_signal', status: 'converted', when: 'SIGTERM', how: 'Kubernetes sends SIGTERM' },
  stopSignalOther: { field: 'stop_signal', status: 'dropped', when: 'another signal', how: 'Kubernetes sends the image\'s STOPSIGNAL (SIGTERM unless the image says otherwise): set STOPSIGNAL in the image' },
  stopTimeout: { field: 'stop_timeout', status: 'converted', when: 'whole seconds', how: 'terminationGracePeriodSeconds' },
  stopTimeoutRounded: { field: 'stop_timeout', status: 'approximated', when: 'not whole seconds', how: 'terminationGracePeriodSeconds, rounded up' },
  oneshotJob: { field: 'oneshot', status: 'converted', when: 'no long-running service depends on it', how: 'a Job' },
  oneshotInit: { field: 'oneshot', status: 'approximated', when: 'a long-running service depends on it', how: 'an init container of each service that depends on it: it runs once per pod, not once' },
  update: { field: 'update', status: 'converted', when: 'a Deployment', how: 'strategy RollingUpdate {maxUnavailable, maxSurge} or Recreate' },
  updateJob: { field: 'update', status: 'approximated', when: 'a oneshot', how: 'Jobs have no update strategy: apply a new Job (under a new name, or after deleting the old one) to run a new version' },
  memory: { field: 'limits.memory', status: 'converted', when: '', how: 'resources.limits.memory: the container is OOM-killed above it and restarted, as tend restarts it' },
  cpu: { field: 'limits.cpu_percent', status: 'approximated', when: '', how: 'resources.limits.cpu in millicores: the container is throttled, where tend restarts it above the limit' },
  maxRuntimeJob: { field: 'limits.max_runtime', status: 'approximated', when: 'a Job', how: 'the pod\'s activeDeadlineSeconds: the pod fails after it, and the Job makes a new pod within backoffLimit' },
  maxRuntime: { field: 'limits.max_runtime', status: 'dropped', when: 'a Deployment or init container', how: 'Kubernetes refuses activeDeadlineSeconds in a Deployment\'s pods, and has no per-container run time' },
  logsDefault: { field: 'logs', status: 'approximated', when: 'tend\'s default (10Mi, 5 files)', how: 'the kubelet rotates container logs at 10Mi and keeps 5 files by default, the same numbers; it is a node setting' },
  logs: { field: 'logs', status: 'dropped', when: 'other values', how: 'log rotation is a setting of each node\'s kubelet (containerLogMaxSize, containerLogMaxFiles), not of a pod' },
  userUid: { field: 'user', status: 'converted', when: 'a numeric uid', how: 'securityContext.runAsUser' },
  userName: { field: 'user', status: 'dropped', when: 'a user name', how: 'runAsUser takes a numeric uid: write the uid in the spec, or set USER in the image' },
  labels: { field: 'labels', status: 'converted', when: 'valid Kubernetes labels', how: 'metadata.labels of the object and its pods' },
  labelsAnnotated: { field: 'labels', status: 'approximated', when: 'not valid as Kubernetes labels', how: 'metadata.annotations (label values are at most 63 letters, digits, -, _ and .)' },
  hostVar: { field: '${VAR}', alsoFor: ['command', 'cwd', 'env', 'readiness', 'liveness'], status: 'approximated', when: 'a ${VAR} that only tend\'s own environment defines', how: 'tend takes it from its own environment, which pods do not share: exported as unset (a :-default applies)' },
} as const satisfies Record<string, Rule>;

const R = K8S_RULES;


// Exports every service; `errors` is non-empty when some service cannot be expressed at all.
export function exportK8s(services: ServiceSpec[], opts: K8sOptions): K8sExport {
  const report = new ReportBuilder();
  const errors: ExportError[] = [];
  const byName = new Map(services.map((s) => [s.name, s]));
  const embedded = new Set<string>();
  for (const s of services) {
    if (s.oneshot) continue;
    for (const dep of Object.keys(s.dependsOn)) if (byName.get(dep)?.oneshot) embedded.add(dep);
  }
  const names = new Map<string, string>();
  for (const s of services) {
    const n = k8sName(s.name);
    const other = names.get(n);
    if (other) errors.push({ service: s.name, field: 'name', message: `its Kubernetes name ${JSON.stringify(n)} is also ${other}'s (Kubernetes names have no "_")` });
    names.set(n, s.name);
    if (!opts.images.has(s.name)) errors.push({ service: s.name, field: 'command', message: `no image for ${s.name}: pass --image ${s.name}=IMAGE (a Kubernetes pod runs an image, not a program on a host)` });
  }
  const ctx: Ctx = { opts, report, byName, embedded };

  const objects: K8sObject[] = [];
  for (const s of services) {
    if (s.oneshot && embedded.has(s.name)) {
      containerOf(ctx, s, { report: true, kind: 'init' });
      const dependents = services.filter((o) => !o.oneshot && s.name in o.dependsOn).map((o) => o.name);
      report.add(s.name, R.oneshotInit, `in the pods of ${dependents.join(', ')}`);
      reportRestart(ctx, s, 'init');
      for (const [dep, condition] of Object.entries(s.dependsOn)) {
        if (byName.get(dep)?.oneshot) report.add(s.name, R.dependsBetweenOneshots, `${dep}: ${condition}`);
        else waitFor(ctx, s, dep, condition); // reported here; the dependent's pod waits for it
      }
      continue;
    }
    objects.push(workload(ctx, s));
    if (Object.keys(s.ports).length > 0) objects.push(serviceObject(ctx, s));
  }
  if (opts.namespace) for (const o of objects) o.metadata.namespace = opts.namespace;
  return {
    objects: objects.map((o) => ({ ...o, yaml: stringify(o, { lineWidth: 0 }) })),
    report: { target: 'kubernetes', rows: report.sorted(services.map((s) => s.name)) },
    errors,
  };
}

interface Ctx {
  opts: K8sOptions;
  report: ReportBuilder;
  byName: Map<string, ServiceSpec>;
  embedded: Set<string>;
}

function workload(ctx: Ctx, s: ServiceSpec): K8sObject {
  const job = s.oneshot;
  const { container, podExtras } = containerOf(ctx, s, { report: true, kind: job ? 'job' : 'deployment' });
  const add = (rule: Rule, detail?: string) => ctx.report.add(s.name, rule, detail);
  const name = k8sName(s.name);
  const { labels, annotations } = labelsOf(s);
  const selector = { [NAME_LABEL]: name };

  // Init containers: waits for long-running dependencies, then the oneshots it depends on.
  const initContainers: IContainer[] = [];
  const oneshots: IContainer[] = [];
  for (const [dep, condition] of Object.entries(s.dependsOn)) {
    const d = ctx.byName.get(dep);
    if (d?.oneshot) {
      if (job) {
        add(R.dependsBetweenOneshots, `${dep}: ${condition}`);
        continue;
      }
      oneshots.push(containerOf(ctx, d, { report: false, kind: 'init' }).container);
      add(R.dependsOneshot, `${dep}: ${condition}`);
      // The oneshot's own dependencies are waited for before it runs.
      for (const inner of Object.keys(d.dependsOn)) {
        const w = ctx.byName.get(inner);
        if (w && !w.oneshot && !(inner in s.dependsOn)) {
          const c = waitContainer(ctx, w);
          if (c && !initContainers.some((i) => i.name === c.name)) initContainers.push(c);
        }
      }
    } else {
      const c = waitFor(ctx, s, dep, condition);
      if (c && !initContainers.some((i) => i.name === c.name)) initContainers.push(c);
    }
  }
  initContainers.push(...oneshots);

  const podSpec: IPodSpec = {
    ...(initContainers.length > 0 ? { initContainers } : {}),
    containers: [container],
    restartPolicy: job ? (s.restart === 'never' ? 'Never' : 'OnFailure') : 'Always',
    terminationGracePeriodSeconds: Math.ceil(s.stopTimeoutMs / 1000),
    ...podExtras,
  };
  const template = { metadata: { labels: { ...labels, ...selector }, ...(annotations ? { annotations } : {}) }, spec: podSpec };
  const metadata = { name, labels: { ...labels, ...selector }, ...(annotations ? { annotations } : {}) };
  reportRestart(ctx, s, job ? 'job' : 'deployment');
  add(s.stopTimeoutMs % 1000 === 0 ? R.stopTimeout : R.stopTimeoutRounded, `${formatDuration(s.stopTimeoutMs)} → ${podSpec.terminationGracePeriodSeconds}s`);

  if (job) {
    add(R.replicasJob, `${s.replicas}`);
    add(R.oneshotJob);
    add(R.updateJob);
    if (s.limits.maxRuntimeMs > 0) {
      podSpec.activeDeadlineSeconds = Math.max(1, Math.ceil(s.limits.maxRuntimeMs / 1000));
      add(R.maxRuntimeJob, `${formatDuration(s.limits.maxRuntimeMs)}`);
    }
    const jobObject: IJob & K8sObject = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata,
      spec: {
        completions: s.replicas,
        parallelism: s.replicas,
        completionMode: 'Indexed',
        backoffLimit: s.restart === 'never' ? 0 : s.maxRestarts === 0 ? INT32_MAX : s.maxRestarts,
        template,
      },
    };
    return jobObject;
  }
  add(R.replicas, `${s.replicas}`);
  const u = s.update;
  const strategy: NonNullable<IDeployment['spec']>['strategy'] =
    u.strategy === 'recreate' ? { type: 'Recreate' } : { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: u.maxUnavailable, maxSurge: u.maxSurge } };
  add(R.update, u.strategy === 'recreate' ? 'Recreate' : `RollingUpdate maxUnavailable ${u.maxUnavailable}, maxSurge ${u.maxSurge}`);
  if (s.limits.maxRuntimeMs > 0) add(R.maxRuntime, formatDuration(s.limits.maxRuntimeMs));
  const deployment: IDeployment & K8sObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata, spec: { replicas: s.replicas, selector: { matchLabels: selector }, strategy, template } };
  return deployment;
}

function serviceObject(ctx: Ctx, s: ServiceSpec): K8sObject {
  const { labels } = labelsOf(s);
  const name = k8sName(s.name);
  const names = k8sPortNames(Object.keys(s.ports));
  const service: IService & K8sObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: serviceName(s.name), labels: { ...labels, [NAME_LABEL]: name } },
    spec: {
      selector: { [NAME_LABEL]: name },
      // The container's port names (the same function of the same names), so targetPort finds them.
      ports: Object.entries(s.ports).map(([k, base]) => ({ name: names.get(k)!.name, port: base, targetPort: names.get(k)!.name, protocol: 'TCP' as const })),
    },
  };
  return service;
}

function reportRestart(ctx: Ctx, s: ServiceSpec, kind: 'deployment' | 'job' | 'init'): void {
  const add = (rule: Rule, detail?: string) => ctx.report.add(s.name, rule, detail);
  if (kind === 'deployment') add(s.restart === 'always' ? R.restart : R.restartOther, s.restart);
  else add(R.restartJob, s.restart);
  add(R.backoff);
  if (kind === 'deployment') add(R.maxRestarts, `${s.maxRestarts}`);
  else add(R.maxRestartsJob, `${s.maxRestarts}`);
  add(R.restartWindow, formatDuration(s.restartWindowMs));
}

// The init container that waits for `dep`, reported on `s`; undefined when there is none to make.
function waitFor(ctx: Ctx, s: ServiceSpec, dep: string, condition: string): IContainer | undefined {
  const d = ctx.byName.get(dep)!;
  const c = waitContainer(ctx, d);
  ctx.report.add(s.name, c ? R.dependsWait : R.dependsNoService, `${dep}: ${condition}`);
  return c;
}

function waitContainer(ctx: Ctx, d: ServiceSpec): IContainer | undefined {
  const port = Object.values(d.ports)[0];
  if (port === undefined) return undefined;
  const host = serviceName(d.name);
  return {
    name: `await-${k8sName(d.name)}`.slice(0, 63).replace(/-+$/, ''),
    image: ctx.opts.waitImage ?? DEFAULT_WAIT_IMAGE,
    command: ['sh', '-c', `until nc -z -w 2 ${host} ${port}; do echo waiting for ${host}:${port}; sleep 2; done`],
  };
}

/** The container of `s`, and pod-level fields it needs (securityContext). */
function containerOf(ctx: Ctx, s: ServiceSpec, how: { report: boolean; kind: 'deployment' | 'job' | 'init' }): { container: IContainer; podExtras: Partial<IPodSpec> } {
  const add = (rule: Rule, detail?: string) => {
    if (how.report) ctx.report.add(s.name, rule, detail);
  };
  const hostVars = new Map<string, string[]>();
  const noteHost = (field: string, names: string[]) => {
    if (names.length > 0) hostVars.set(field, [...(hostVars.get(field) ?? []), ...names]);
  };
  const escape = (lit: string) => lit.replace(/\$\(/g, '$$$$(');

  // env: TEND_* and ports first, so that later entries may refer to them.
  const env: IEnvVar[] = [];
  const defined = new Map<string, string | undefined>(); // name → static value, undefined when only known at run time
  const pushEnv = (name: string, value: string | undefined, valueFrom?: IEnvVarSource) => {
    env.push(valueFrom ? { name, valueFrom } : { name, value });
    defined.set(name, valueFrom ? undefined : value);
  };
  pushEnv('TEND_SERVICE', s.name);
  pushEnv('TEND_REPLICAS', String(s.replicas));
  if (how.kind === 'job') pushEnv('TEND_REPLICA', undefined, { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } });
  else pushEnv('TEND_REPLICA', undefined, { fieldRef: { fieldPath: 'metadata.name' } });
  for (const [k, base] of Object.entries(s.ports)) pushEnv(k, String(base));
  // A reference to an entry defined before it is `$(NAME)`; Kubernetes expands it in order.
  const runtime = (name: string): VarValue | undefined => (defined.has(name) ? { kind: 'ref', text: `$(${name})` } : undefined);
  // Values that must be known now (probes, workingDir): only static entries resolve.
  const fixed = (name: string): VarValue | undefined => {
    const v = defined.get(name);
    return v === undefined ? undefined : { kind: 'value', value: v };
  };
  for (const [k, v] of Object.entries(s.env)) {
    const t = translate(v, runtime, escape);
    noteHost('env', t.unresolved);
    const staticValue = t.refs.length === 0 ? translate(v, fixed).text : undefined;
    env.push({ name: k, value: t.text });
    defined.set(k, staticValue);
  }
  add(R.env);
  const loopback = Object.keys(s.env).filter((k) => LOOPBACK.test(s.env[k]!));
  if (loopback.length > 0) add(R.envLoopback, loopback.join(', '));
  add(how.kind === 'job' ? R.envReplicaJob : R.envReplicaPod);
  if (s.envFiles.length > 0) add(R.envFile, s.envFiles.length === 1 ? '1 file' : `${s.envFiles.length} files`);

  const command = s.command.map((a) => {
    const t = translate(a, runtime, escape);
    noteHost('command', t.unresolved);
    return t.text;
  });
  add(R.command);
  const cwd = translate(s.cwd, fixed);
  noteHost('cwd', cwd.unresolved);
  add(R.cwd, cwd.text);

  const container: IContainer = {
    name: k8sName(s.name).slice(0, 63).replace(/-+$/, ''),
    image: ctx.opts.images.get(s.name) ?? '',
    command,
    workingDir: cwd.text,
    env,
  };
  if (Object.keys(s.ports).length > 0) {
    const names = k8sPortNames(Object.keys(s.ports));
    container.ports = Object.entries(s.ports).map(([k, base]) => ({ name: names.get(k)!.name, containerPort: base, protocol: 'TCP' }));
    const renamed = (k: string) => {
      const n = names.get(k)!;
      return n.note ? ` as port ${n.name} (${n.note})` : '';
    };
    add(R.ports, Object.entries(s.ports).map(([k, v]) => `${k}=${v}${renamed(k)}`).join(', '));
  }

  const limits: Record<string, string> = {};
  if (s.limits.memoryBytes > 0) {
    limits.memory = quantity(s.limits.memoryBytes);
    add(R.memory, limits.memory);
  }
  if (s.limits.cpuPercent > 0) {
    limits.cpu = `${s.limits.cpuPercent * 10}m`;
    add(R.cpu, `${s.limits.cpuPercent}% → ${limits.cpu}`);
  }
  if (Object.keys(limits).length > 0) container.resources = { limits };
  if (how.kind === 'init' && s.limits.maxRuntimeMs > 0) add(R.maxRuntime, formatDuration(s.limits.maxRuntimeMs));

  const probe = (kind: 'readiness' | 'liveness', p: ProbeSpec | undefined) => {
    if (!p) return;
    const exact = kind === 'readiness' ? R.readiness : R.liveness;
    const field = { field: kind };
    if (how.kind === 'init') {
      add({ ...R.probeInit, ...field });
      return;
    }
    const result = probeOf(kind, p, fixed);
    if ('unresolved' in result) {
      add({ ...R.probeUnresolved, ...field }, result.unresolved.map((n) => `\${${n}}`).join(', '));
      return;
    }
    container[kind === 'readiness' ? 'readinessProbe' : 'livenessProbe'] = result.probe;
    if (result.notes.length === 0) add(exact);
    else add({ ...R.probeAdjusted, ...field }, result.notes.join('; '));
  };
  probe('readiness', s.readiness);
  probe('liveness', s.liveness);

  if (s.stopSignal === 'SIGTERM') add(R.stopSignal);
  else add(R.stopSignalOther, s.stopSignal);
  const isDefaultLogs = s.logs.maxSizeBytes === KUBELET_LOGS.maxSizeBytes && s.logs.maxFiles === KUBELET_LOGS.maxFiles;
  add(isDefaultLogs ? R.logsDefault : R.logs, `${s.logs.maxSizeBytes} bytes, ${s.logs.maxFiles} files`);

  const podExtras: Partial<IPodSpec> = {};
  if (s.user !== undefined) {
    if (/^\d+$/.test(s.user)) {
      const uid = Number(s.user);
      if (how.kind === 'init') container.securityContext = { runAsUser: uid };
      else podExtras.securityContext = { runAsUser: uid };
      add(R.userUid, s.user);
    } else add(R.userName, s.user);
  }
  if (how.report) reportLabels(ctx.report, s);
  for (const [field, names] of hostVars) add({ ...R.hostVar, field }, [...new Set(names)].map((n) => `\${${n}}`).join(', '));
  return { container, podExtras };
}

type ProbeResult = { probe: IProbe; notes: string[] } | { unresolved: string[] };

function probeOf(kind: 'readiness' | 'liveness', p: ProbeSpec, fixed: (name: string) => VarValue | undefined): ProbeResult {
  const unresolved: string[] = [];
  const x = (text: string) => {
    const t = translate(text, fixed);
    unresolved.push(...t.unresolved);
    return t.text;
  };
  const notes: string[] = [];
  const loopback = (host: string) => {
    if (/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(host)) notes.push(`${host} → the pod's IP`);
    else return host;
    return undefined;
  };
  let action: Pick<IProbe, 'exec' | 'httpGet' | 'tcpSocket'>;
  switch (p.check.kind) {
    case 'exec':
      action = { exec: { command: p.check.command.map(x) } };
      break;
    case 'http': {
      const url = x(p.check.url);
      const m = /^(https?):\/\/(\[[^\]]*\]|[^/:?#]*)(?::(\d+))?(.*)$/.exec(url);
      if (!m) return { unresolved: unresolved.length > 0 ? unresolved : [url] };
      const host = loopback(m[2]!);
      const path = m[4] === '' || m[4] === undefined ? '/' : m[4];
      action = { httpGet: { ...(host ? { host } : {}), path, port: Number(m[3] ?? (m[1] === 'https' ? 443 : 80)), scheme: m[1] === 'https' ? 'HTTPS' : 'HTTP' } };
      break;
    }
    case 'tcp': {
      const host = loopback(x(p.check.host));
      const port = x(p.check.port);
      if (!/^\d+$/.test(port)) return { unresolved: unresolved.length > 0 ? unresolved : [port] };
      action = { tcpSocket: { ...(host ? { host } : {}), port: Number(port) } };
      break;
    }
  }
  if (unresolved.length > 0) return { unresolved: [...new Set(unresolved)] };
  const seconds = (ms: number, what: string) => {
    const s = Math.max(1, Math.ceil(ms / 1000));
    if (s * 1000 !== ms) notes.push(`${what} ${formatDuration(ms)} → ${s}s`);
    return s;
  };
  const probe: IProbe = {
    ...action,
    periodSeconds: seconds(p.intervalMs, 'interval'),
    timeoutSeconds: seconds(p.timeoutMs, 'timeout'),
    failureThreshold: p.failureThreshold,
    successThreshold: kind === 'liveness' ? 1 : p.successThreshold,
  };
  if (kind === 'liveness' && p.successThreshold !== 1) notes.push(`success_threshold ${p.successThreshold} → 1`);
  if (p.startPeriodMs > 0) {
    probe.initialDelaySeconds = Math.ceil(p.startPeriodMs / 1000);
    notes.push(`start_period ${formatDuration(p.startPeriodMs)} → initialDelaySeconds ${probe.initialDelaySeconds}`);
  }
  return { probe, notes };
}

function labelsOf(s: ServiceSpec): { labels: Record<string, string>; annotations?: Record<string, string> } {
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.labels)) {
    if (validLabelKey(k) && validLabelValue(v)) labels[k] = v;
    else annotations[k] = v;
  }
  return Object.keys(annotations).length > 0 ? { labels, annotations } : { labels };
}

// Reports the labels of `s`: valid ones are labels, the others annotations.
function reportLabels(report: ReportBuilder, s: ServiceSpec): void {
  const bad = Object.entries(s.labels).filter(([k, v]) => !(validLabelKey(k) && validLabelValue(v)));
  if (Object.keys(s.labels).length === 0) return;
  if (bad.length === 0) report.add(s.name, R.labels);
  else report.add(s.name, R.labelsAnnotated, bad.map(([k]) => k).join(', '));
}

function validLabelKey(k: string): boolean {
  const [prefix, name] = k.includes('/') ? [k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)] : [undefined, k];
  if (prefix !== undefined && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(prefix)) return false;
  return /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(name!);
}

function validLabelValue(v: string): boolean {
  return v === '' || /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(v);
}

// Kubernetes object names: lowercase letters, digits and "-" (tend also allows "_").
export function k8sName(name: string): string {
  return name.replace(/_/g, '-').replace(/-+$/, '') || 'x';
}

// A Service name must also start with a letter (RFC 1035).
function serviceName(name: string): string {
  const n = k8sName(name);
  return /^[a-z]/.test(n) ? n : `s-${n}`;
}

// Bytes as a Kubernetes quantity: Mi or Ki when exact, else plain bytes.
function quantity(bytes: number): string {
  if (bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30}Gi`;
  if (bytes % 2 ** 20 === 0) return `${bytes / 2 ** 20}Mi`;
  if (bytes % 1024 === 0) return `${bytes / 1024}Ki`;
  return String(bytes);
}
