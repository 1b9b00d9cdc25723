// Every event tend emits, as one typed union (DESIGN §7). The reconciler owns it; the API, hooks,
// alerts and the dashboard import it, never the reverse. Like the kubelet's events, each carries a
// machine `reason` (CamelCase, stable: match on it) and a human `message` (for people: may change).
// Fields that do not apply are omitted. docs/events.md is generated from EVENT_CATALOGUE below
// (`npm run docs:events`), and a test keeps the two equal.

/** Machine reasons, by what caused the event. */
export const Reason = {
  // why a replica starts
  NotRunning: 'NotRunning',
  CrashBackoffDone: 'CrashBackoffDone',
  SpecChanged: 'SpecChanged',
  Surge: 'Surge',
  RestartRequested: 'RestartRequested',
  Replaced: 'Replaced',
  // why a replica stops
  ScaledDown: 'ScaledDown',
  ServiceRemoved: 'ServiceRemoved',
  Shutdown: 'Shutdown',
  Duplicate: 'Duplicate',
  Held: 'Held',
  LivenessFailed: 'LivenessFailed',
  MemoryLimit: 'MemoryLimit',
  CpuLimit: 'CpuLimit',
  MaxRuntime: 'MaxRuntime',
  WatchdogStale: 'WatchdogStale',
  // how a replica ended
  Exited: 'Exited',
  Killed: 'Killed',
  CrashLoop: 'CrashLoop',
  SpawnFailed: 'SpawnFailed',
  ExitUnknown: 'ExitUnknown',
  StopFailed: 'StopFailed',
  Completed: 'Completed',
  // probes and notify
  StayedUp: 'StayedUp',
  ProbeSucceeded: 'ProbeSucceeded',
  ProbeFailed: 'ProbeFailed',
  NotifyReady: 'NotifyReady',
  NotifyReadyTimeout: 'NotifyReadyTimeout',
  // what a replica said (src/notify)
  NotifyStatus: 'NotifyStatus',
  NotifyStopping: 'NotifyStopping',
  NotifyReloading: 'NotifyReloading',
  NotifyErrno: 'NotifyErrno',
  EventUnknown: 'EventUnknown',
  EventInvalid: 'EventInvalid',
  // spec and state
  SpecLoaded: 'SpecLoaded',
  SpecInvalid: 'SpecInvalid',
  StateCorrupt: 'StateCorrupt',
  Adopted: 'Adopted',
  // operator actions
  Paused: 'Paused',
  Resumed: 'Resumed',
  Signalled: 'Signalled',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** Who an event is about: a replica slot. */
interface ReplicaRef {
  service: string;
  replica: number;
  pid?: number;
}

interface Exit {
  exit_code?: number | null;
  signal?: string | null;
}

/** The fields of each event type. */
export interface EventFields {
  'spec.loaded': { reason: 'SpecLoaded'; message: string };
  'spec.invalid': { service?: string; reason: 'SpecInvalid'; message: string; detail: string };
  'state.corrupt': { reason: 'StateCorrupt'; message: string; detail: string };
  'service.scaled': { service: string; message: string; from: number; to: number };
  'service.restarting': { service: string; replica?: number; reason: 'RestartRequested'; message: string };
  'service.held': { service: string; reason: 'Held'; message: string };
  'service.released': { service: string; reason: 'Held'; message: string };
  'replica.starting': ReplicaRef & { reason: Reason; message: string };
  'replica.restarting': ReplicaRef & { reason: Reason; message: string };
  'replica.started': ReplicaRef & { pid: number };
  'replica.adopted': ReplicaRef & { pid: number; reason: 'Adopted'; message: string };
  'replica.ready': ReplicaRef & { reason: Reason; message?: string; detail?: string };
  'replica.unready': ReplicaRef & { reason: 'ProbeFailed'; message: string; detail?: string };
  'replica.unhealthy': ReplicaRef & { reason: Reason; message: string; detail?: string };
  'replica.limit': ReplicaRef & { reason: Reason; message: string };
  'replica.stopping': ReplicaRef & { reason: Reason; message: string };
  'replica.exited': ReplicaRef & Exit & { reason: Reason; message: string };
  'replica.backoff': ReplicaRef & Exit & { reason: Reason; message: string; next_start_at: string };
  'replica.stopped': ReplicaRef & Exit & { reason: Reason; message: string };
  'replica.completed': ReplicaRef & Exit & { reason: 'Completed'; message: string };
  'replica.failed': ReplicaRef & Exit & { reason: Reason; message: string };
  'replica.paused': ReplicaRef & { reason: 'Paused'; message: string };
  'replica.resumed': ReplicaRef & { reason: 'Resumed'; message: string };
  'replica.signalled': ReplicaRef & { reason: 'Signalled'; message: string; signal: string };
  // replicas that talk back (src/notify)
  'replica.status': ReplicaRef & { reason: 'NotifyStatus' | 'NotifyStopping' | 'NotifyReloading' | 'NotifyErrno'; message: string };
  'replica.event': ReplicaRef & { name: string; data?: unknown; message?: string };
  'replica.event.invalid': ReplicaRef & { name: string; reason: 'EventUnknown' | 'EventInvalid'; message: string };
  'replica.stale': ReplicaRef & { reason: 'WatchdogStale'; message: string };
  // hooks and alerts (src/hooks, src/alerts)
  'hook.failed': { service?: string; replica?: number; hook: string; event: string; message: string; exit_code?: number | null; output?: string };
  'alert.firing': { service?: string; replica?: number; alert: string; message: string; labels?: Record<string, string> };
  'alert.resolved': { service?: string; replica?: number; alert: string; message: string; labels?: Record<string, string> };
}

export type EventType = keyof EventFields;

/** An event as emitted: its type and its fields (no id or time yet). */
export type EventBody = { [T in EventType]: { type: T } & EventFields[T] }[EventType];

/** An event as stored, served and read: a monotonic `id` (per state directory), the time, and the
 *  fields of its type (EventFields), all optional to a generic reader. Emitters use EventBody, so
 *  what is written is always typed; readers of many types (the CLI, hooks) use this flat view. */
export interface TendEvent {
  id?: number;
  ts: string;
  type: EventType;
  service?: string;
  replica?: number;
  pid?: number;
  exit_code?: number | null;
  signal?: string | null;
  reason?: string;
  message?: string;
  detail?: string;
  /** alert.firing / alert.resolved: the alert's name; hook.failed: which hook. */
  alert?: string;
  hook?: string;
  [field: string]: unknown;
}

/** The event of one type, for handlers that subscribe to one. */
export type EventOf<T extends EventType> = { type: T; id?: number; ts: string } & EventFields[T];

/** What each type means and which fields it has, for docs/events.md and for hook validation. */
export const EVENT_CATALOGUE: Record<EventType, { doc: string; fields: string[] }> = {
  'spec.loaded': { doc: 'The services directory was read and something in it changed.', fields: ['reason', 'message'] },
  'spec.invalid': { doc: 'A problem in a spec file; the last good version of its services stays in force.', fields: ['service', 'reason', 'message', 'detail (file:line:col)'] },
  'state.corrupt': { doc: 'state.json could not be read at start-up; it was moved aside.', fields: ['reason', 'message', 'detail (where it was moved)'] },
  'service.scaled': { doc: '`replicas:` changed.', fields: ['service', 'message', 'from', 'to'] },
  'service.restarting': { doc: '`tend restart` asked for a rolling restart.', fields: ['service', 'replica', 'reason', 'message'] },
  'service.held': { doc: '`tend stop` put a run-time hold on the service: its replicas are stopped until `tend start`.', fields: ['service', 'reason', 'message'] },
  'service.released': { doc: '`tend start` lifted the hold.', fields: ['service', 'reason', 'message'] },
  'replica.starting': { doc: 'A replica is being spawned for the first time in its slot (or after a replacement).', fields: ['service', 'replica', 'reason', 'message'] },
  'replica.restarting': { doc: 'A replica is spawned again after a crash, a failed liveness probe or a limit.', fields: ['service', 'replica', 'reason', 'message'] },
  'replica.started': { doc: 'The process runs.', fields: ['service', 'replica', 'pid'] },
  'replica.adopted': { doc: 'A replica left running by an earlier tend was taken over.', fields: ['service', 'replica', 'pid', 'reason', 'message'] },
  'replica.ready': { doc: 'Readiness passed (at once without a probe): it counts as available. Never for a oneshot.', fields: ['service', 'replica', 'pid', 'reason', 'message', 'detail'] },
  'replica.unready': { doc: 'Readiness failed after passing.', fields: ['service', 'replica', 'pid', 'reason', 'message', 'detail'] },
  'replica.unhealthy': { doc: 'Liveness failed (or, with `readiness: { notify: true }`, no READY within its timeout): the replica will be restarted.', fields: ['service', 'replica', 'pid', 'reason', 'message', 'detail'] },
  'replica.limit': { doc: 'A memory, CPU or max_runtime limit was passed: the replica will be restarted.', fields: ['service', 'replica', 'pid', 'reason', 'message'] },
  'replica.stopping': { doc: 'The stop signal was sent.', fields: ['service', 'replica', 'pid', 'reason', 'message'] },
  'replica.exited': { doc: 'The process exited (for a stop: its whole group is gone).', fields: ['service', 'replica', 'pid', 'exit_code', 'signal', 'reason', 'message'] },
  'replica.backoff': { doc: 'It will be restarted at `next_start_at`.', fields: ['service', 'replica', 'pid', 'exit_code', 'signal', 'reason', 'message', 'next_start_at'] },
  'replica.stopped': { doc: 'Stopped and not wanted (scaled away, replaced, removed, shut down, or exited under its restart policy).', fields: ['service', 'replica', 'pid', 'exit_code', 'signal', 'reason', 'message'] },
  'replica.completed': { doc: 'A oneshot exited 0.', fields: ['service', 'replica', 'pid', 'exit_code', 'reason', 'message'] },
  'replica.failed': { doc: 'Gave up: crash loop, cannot be spawned, cannot be stopped, or an exit that cannot be known.', fields: ['service', 'replica', 'pid', 'exit_code', 'signal', 'reason', 'message'] },
  'replica.paused': { doc: '`tend pause` sent SIGSTOP.', fields: ['service', 'replica', 'pid', 'reason', 'message'] },
  'replica.resumed': { doc: '`tend resume` sent SIGCONT.', fields: ['service', 'replica', 'pid', 'reason', 'message'] },
  'replica.signalled': { doc: '`tend kill` sent a signal.', fields: ['service', 'replica', 'pid', 'reason', 'message', 'signal'] },
  'replica.status': { doc: 'The replica reported a STATUS text (sd_notify or tend\'s protocol; `message` is the text), or STOPPING=1, RELOADING=1 or ERRNO= (the `reason` says which).', fields: ['service', 'replica', 'pid', 'reason', 'message'] },
  'replica.event': { doc: 'The replica sent a typed event declared in its spec.', fields: ['service', 'replica', 'pid', 'name', 'data', 'message'] },
  'replica.event.invalid': { doc: 'The replica sent an event that is not declared (`EventUnknown`) or fails its schema (`EventInvalid`, `message` is the schema error); not forwarded.', fields: ['service', 'replica', 'pid', 'name', 'reason', 'message'] },
  'replica.stale': { doc: 'No heartbeat within `watchdog`: the replica is restarted.', fields: ['service', 'replica', 'pid', 'reason', 'message'] },
  'hook.failed': { doc: 'A hook command or webhook failed, timed out or was dropped.', fields: ['service', 'replica', 'hook', 'event', 'message', 'exit_code', 'output'] },
  'alert.firing': { doc: 'An alert condition held for its duration.', fields: ['service', 'replica', 'alert', 'message', 'labels'] },
  'alert.resolved': { doc: 'A firing alert\'s condition no longer holds.', fields: ['service', 'replica', 'alert', 'message', 'labels'] },
};

/** Renders docs/events.md from the catalogue. */
export function eventsMarkdown(): string {
  const rows = Object.entries(EVENT_CATALOGUE).map(([type, e]) => `| \`${type}\` | ${e.doc} | ${e.fields.map((f) => `\`${f.split(' ')[0]}\``).join(', ')} |`);
  const reasons = Object.keys(Reason).map((r) => `\`${r}\``).join(', ');
  return `# Events

<!-- Generated from src/reconcile/events.ts by \`npm run docs:events\`; do not edit by hand. -->

Every state change is an event, appended to \`.tend/events.jsonl\`, served by \`tend events\`
(\`GET /v1/events\`, server-sent events), passed to hooks and written to the daemon's log. Each
event has \`id\` (monotonic per state directory; SSE \`id:\`, resume with \`Last-Event-ID\`), \`ts\`
(ISO 8601) and \`type\`; the other fields appear only where they apply:

- \`service\`, \`replica\` (0-based index), \`pid\`;
- \`reason\`: a machine reason in CamelCase, stable across versions — match on it;
- \`message\`: what happened, for people — it may be reworded;
- \`exit_code\`, \`signal\`: how a process ended; \`detail\`: a probe's output, a file position.

| type | meaning | fields |
|---|---|---|
${rows.join('\n')}

Reasons: ${reasons}.
`;
}
