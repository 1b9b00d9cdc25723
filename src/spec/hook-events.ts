// The names a hook may subscribe to (the keys of `on:`), in one place: short names for a
// service's own events, the full event types, and the alerts. Everything that checks or matches
// an `on:` key (schema test, normaliser, runner, docs test) reads this table.

/** Short name → the event types it stands for. */
export const SHORT_EVENT_NAMES = {
  started: ['replica.started'],
  ready: ['replica.ready'],
  unready: ['replica.unready'],
  exited: ['replica.exited'],
  failed: ['replica.failed'],
  backoff: ['replica.backoff'],
  // A replica started again by tend (after an exit, a failed probe, a limit) or asked for with
  // `tend restart` (service.restarting: the request; its replicas are then replaced).
  restarted: ['replica.restarting', 'service.restarting'],
  unhealthy: ['replica.unhealthy'],
  limit: ['replica.limit'],
  stale: ['replica.stale'],
  stopped: ['replica.stopped'],
  completed: ['replica.completed'],
  scaled: ['service.scaled'],
  alert: ['alert.firing', 'alert.resolved'],
} as const satisfies Record<string, readonly string[]>;

/** Every event type a hook can name in full (`replica.failed`): every type tend emits (a test
 *  holds this equal to the event catalogue, src/reconcile/events.ts). Those without a service
 *  (spec.*, state.corrupt) only reach daemon-wide hooks. */
export const HOOKABLE_EVENT_TYPES = [
  'replica.adopted',
  'replica.starting',
  'replica.restarting',
  'replica.started',
  'replica.ready',
  'replica.unready',
  'replica.unhealthy',
  'replica.limit',
  'replica.stale',
  'replica.stopping',
  'replica.exited',
  'replica.backoff',
  'replica.failed',
  'replica.stopped',
  'replica.completed',
  'replica.paused',
  'replica.resumed',
  'replica.signalled',
  'replica.status',
  'replica.event',
  'replica.event.invalid',
  'service.restarting',
  'service.scaled',
  'service.held',
  'service.released',
  'spec.loaded',
  'spec.invalid',
  'state.corrupt',
  'alert.firing',
  'alert.resolved',
  'hook.failed',
] as const;

/** The alerts tend evaluates; as an `on:` key each means "this alert fires or resolves". */
export const ALERT_NAMES = ['crash_loop', 'restart_rate', 'unhealthy_for', 'cpu_high', 'memory_high', 'watchdog_stale'] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

/** What an `on:` key selects: event types, and for an alert's own name, that alert only. */
export interface EventSelector {
  types: readonly string[];
  alert?: AlertName;
}

/** Every key `on:` accepts, in the order docs list them. */
export const HOOK_KEYS: readonly string[] = [...Object.keys(SHORT_EVENT_NAMES), ...ALERT_NAMES, ...HOOKABLE_EVENT_TYPES];

// The selector of an `on:` key, or undefined for a name tend does not know.
export function selectorOf(key: string): EventSelector | undefined {
  if (key in SHORT_EVENT_NAMES) return { types: SHORT_EVENT_NAMES[key as keyof typeof SHORT_EVENT_NAMES] };
  if ((ALERT_NAMES as readonly string[]).includes(key)) return { types: ['alert.firing', 'alert.resolved'], alert: key as AlertName };
  if ((HOOKABLE_EVENT_TYPES as readonly string[]).includes(key)) return { types: [key] };
  return undefined;
}
