// Confirmations: every action is confirmed in a modal <dialog> (focus is trapped and Escape closes
// it, by the browser), and an error from the API is shown in the dialog that caused it.

import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Action, type Api } from './api.js';
import type { ScaleResult } from './types.js';

export type Pending =
  | { kind: 'action'; action: Action; service: string; replica?: number }
  | { kind: 'scale'; service: string; current: number };

export function ActionDialog(props: { api: Api; pending: Pending; onClose(done?: string): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="dialog-title" onClose={() => props.onClose()} onCancel={() => props.onClose()}>
      {props.pending.kind === 'scale' ? (
        <ScaleForm api={props.api} pending={props.pending} onClose={props.onClose} />
      ) : (
        <ActionForm api={props.api} pending={props.pending} onClose={props.onClose} />
      )}
    </dialog>
  );
}

function errorText(err: unknown): string {
  return err instanceof ApiError ? `${err.message} (${err.code})` : String(err);
}

// What each action does, in the words of the dialog that asks for it. Those that interrupt work
// (restart, pause, stop) start with the focus on Cancel, so a stray Enter does nothing.
const ACTIONS: Record<Action, { verb: string; interrupts: boolean; explain(target: string, service: string): string }> = {
  restart: { verb: 'Restart', interrupts: true, explain: (t) => `This restarts ${t} (by its update strategy) and resets crash-loop counters.` },
  pause: { verb: 'Pause', interrupts: true, explain: (t) => `This stops ${t} with SIGSTOP until resumed.` },
  resume: { verb: 'Resume', interrupts: false, explain: (t) => `This continues ${t} with SIGCONT.` },
  stop: {
    verb: 'Stop',
    interrupts: true,
    explain: (_t, s) => `This stops every replica of ${s} and holds it stopped until Start (like \`tend stop\`). Its file is not changed.`,
  },
  start: { verb: 'Start', interrupts: false, explain: (_t, s) => `This lifts the hold: ${s} runs as its file says again (like \`tend start\`).` },
};

function ActionForm(props: { api: Api; pending: Extract<Pending, { kind: 'action' }>; onClose(done?: string): void }) {
  const { action, service, replica } = props.pending;
  const target = replica === undefined ? `every replica of ${service}` : `${service}/${replica}`;
  const what = ACTIONS[action];
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await props.api.act(action, service, replica);
      props.onClose(`${action}: ${replica === undefined && (action === 'stop' || action === 'start') ? service : target}`);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  };
  return (
    <form method="dialog" onSubmit={submit}>
      <h2 id="dialog-title">
        {what.verb} {replica === undefined ? service : `${service}/${replica}`}?
      </h2>
      <p>{what.explain(target, service)}</p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="buttons">
        <button type="button" onClick={() => props.onClose()} autofocus={what.interrupts}>
          Cancel
        </button>
        <button type="submit" class={what.interrupts ? 'danger' : 'primary'} disabled={busy} autofocus={!what.interrupts}>
          {what.verb}
        </button>
      </div>
    </form>
  );
}

// Two steps: the count, then the diff of the file as the daemon would write it, then Apply (which
// only writes if the file is still the one the diff was made from).
function ScaleForm(props: { api: Api; pending: Extract<Pending, { kind: 'scale' }>; onClose(done?: string): void }) {
  const { service, current } = props.pending;
  const [count, setCount] = useState(String(current));
  const [plan, setPlan] = useState<ScaleResult>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const preview = async (e: Event) => {
    e.preventDefault();
    const n = Number(count);
    if (!/^\d+$/.test(count.trim()) || !Number.isSafeInteger(n)) {
      setError(`replicas must be a whole number, got "${count}"`);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      setPlan(await props.api.scale(service, n, { dryRun: true }));
    } catch (err) {
      setError(errorText(err));
    }
    setBusy(false);
  };
  const apply = async (e: Event) => {
    e.preventDefault();
    if (!plan) return;
    setBusy(true);
    setError(undefined);
    try {
      await props.api.scale(service, plan.replicas, { dryRun: false, base: plan.base });
      props.onClose(`${service} scaled to ${plan.replicas} (${plan.file})`);
    } catch (err) {
      setError(errorText(err));
      setPlan(undefined);
      setBusy(false);
    }
  };
  return (
    <form method="dialog" onSubmit={plan ? apply : preview}>
      <h2 id="dialog-title">Scale {service}</h2>
      {!plan ? (
        <label>
          Replicas{' '}
          <input name="replicas" type="number" min="0" step="1" value={count} onInput={(e) => setCount((e.target as HTMLInputElement).value)} autofocus />
        </label>
      ) : (
        <>
          <p>
            {plan.diff ? `This edits ${plan.file}:` : `${plan.file} already says replicas: ${plan.replicas}; nothing to change.`}
          </p>
          {plan.diff && (
            <pre class="diff" aria-label="change to the file">
              {plan.diff.split('\n').map((l, i) => (
                <span key={i} class={l.startsWith('+') && !l.startsWith('+++') ? 'add' : l.startsWith('-') && !l.startsWith('---') ? 'del' : ''}>
                  {l + '\n'}
                </span>
              ))}
            </pre>
          )}
        </>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="buttons">
        <button type="button" onClick={() => props.onClose()}>
          Cancel
        </button>
        {plan && (
          <button type="button" onClick={() => setPlan(undefined)}>
            Back
          </button>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {plan ? 'Apply' : 'Show change'}
        </button>
      </div>
    </form>
  );
}
