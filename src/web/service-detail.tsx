// One service: its actions (scale, restart, pause, resume, stop/start), its replicas (virtualised: 1000 rows
// cost what 30 do) with state, pid, reason and STATUS text, and a log tail of the service or of
// the replica picked in the list.

import { useState } from 'preact/hooks';
import type { Action, Api } from './api.js';
import type { Pending } from './dialogs.js';
import { formatAge, formatBytes, formatCpu, stateClass } from './format.js';
import { LogTail } from './log-tail.js';
import type { Replica, Service } from './types.js';
import { VirtualList } from './virtual-list.js';

const ROW = 30;

export function ServiceDetail(props: { api: Api; service: Service; now: number; onAction(p: Pending): void }) {
  const s = props.service;
  const [logReplica, setLogReplica] = useState<number | undefined>(undefined);
  const [query, setQuery] = useState('');
  const q = query.trim().toLowerCase();
  const replicas = q ? s.replicas.filter((r) => replicaText(s.name, r).includes(q)) : s.replicas;
  const act = (action: Action, replica?: number) =>
    props.onAction({ kind: 'action', action, service: s.name, ...(replica === undefined ? {} : { replica }) });
  return (
    <section class="panel detail" aria-labelledby="detail-title">
      <div class="toolbar">
        <h2 id="detail-title">
          {s.name} <span class={`badge ${stateClass(s.state)}`}>{s.state}</span>
        </h2>
        <span class="muted" data-testid="detail-ready">
          {s.ready}/{s.replicas_desired} ready
        </span>
        <span class="spacer" />
        <button type="button" onClick={() => props.onAction({ kind: 'scale', service: s.name, current: s.replicas_desired })}>
          Scale…
        </button>
        <button type="button" onClick={() => act('restart')} disabled={s.held}>
          Restart
        </button>
        <button type="button" onClick={() => act('pause')} disabled={s.held}>
          Pause
        </button>
        <button type="button" onClick={() => act('resume')} disabled={s.held}>
          Resume
        </button>
        {s.held ? (
          <button type="button" class="primary" onClick={() => act('start')}>
            Start
          </button>
        ) : (
          <button type="button" class="danger" onClick={() => act('stop')}>
            Stop
          </button>
        )}
      </div>
      <p class="muted small file">{s.file}</p>
      {s.held && (
        <p class="held-note" data-testid="held-note">
          Held stopped (by Stop or <code>tend stop</code>): its replicas stay stopped until Start. The file is unchanged.
        </p>
      )}
      {s.blocked && <p class="error">blocked: {s.blocked}</p>}
      {s.waiting_for && <p class="muted">waiting for {s.waiting_for}</p>}
      <div class="toolbar">
        <h3>Replicas</h3>
        <input type="search" placeholder="filter replicas" aria-label="filter replicas" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
        <span class="muted" data-testid="replica-count">
          {replicas.length} of {s.replicas.length}
        </span>
      </div>
      <div class="replica-head" aria-hidden="true">
        <span>#</span>
        <span>state</span>
        <span>pid</span>
        <span>restarts</span>
        <span>cpu</span>
        <span>mem</span>
        <span>age</span>
        <span>reason / status</span>
        <span />
      </div>
      <VirtualList
        count={replicas.length}
        rowHeight={ROW}
        height={Math.min(360, Math.max(ROW * 2, replicas.length * ROW))}
        label={`replicas of ${s.name}`}
        className="replicas"
        renderRow={(i) => {
          const r = replicas[i]!;
          return (
            <div class={`replica ${logReplica === r.index ? 'selected' : ''}`} role="listitem" data-replica={r.index}>
              <span class="num">{r.index}</span>
              <span>
                <span class={`badge ${stateClass(r.state)}`}>{r.state}</span>
                {r.state === 'running' && !r.ready ? <span class="muted small"> not ready</span> : null}
              </span>
              <span class="num">{r.pid ?? '–'}</span>
              <span class="num">{r.restarts}</span>
              <span class="num">{formatCpu(r.cpu)}</span>
              <span class="num">{formatBytes(r.memory)}</span>
              <span class="num">{formatAge(r.started_at, props.now)}</span>
              <span class="reason" title={reasonText(r)}>
                {reasonText(r)}
              </span>
              <span class="row-actions">
                <button type="button" class="small" aria-label={`logs of ${s.name}/${r.index}`} onClick={() => setLogReplica(logReplica === r.index ? undefined : r.index)}>
                  logs
                </button>
                <button type="button" class="small" aria-label={`restart ${s.name}/${r.index}`} onClick={() => act('restart', r.index)} disabled={s.held}>
                  restart
                </button>
                {r.state === 'paused' ? (
                  <button type="button" class="small" aria-label={`resume ${s.name}/${r.index}`} onClick={() => act('resume', r.index)} disabled={s.held}>
                    resume
                  </button>
                ) : (
                  <button type="button" class="small" aria-label={`pause ${s.name}/${r.index}`} onClick={() => act('pause', r.index)} disabled={s.held}>
                    pause
                  </button>
                )}
              </span>
            </div>
          );
        }}
      />
      {logReplica !== undefined && (
        <p>
          <button type="button" class="link" onClick={() => setLogReplica(undefined)}>
            ← all replicas' logs
          </button>
        </p>
      )}
      <LogTail api={props.api} service={s.name} replicas={s.replicas.length} {...(logReplica === undefined ? {} : { replica: logReplica })} />
    </section>
  );
}

function reasonText(r: Replica): string {
  const parts: string[] = [];
  if (r.reason) parts.push(r.reason);
  if (r.exit_code !== null && r.state !== 'running') parts.push(`exit ${r.exit_code}`);
  if (r.signal && r.state !== 'running') parts.push(r.signal);
  if (r.status_text) parts.push(`“${r.status_text}”`);
  return parts.join(' · ');
}

function replicaText(service: string, r: Replica): string {
  return `${service}/${r.index} ${r.state} ${r.pid ?? ''} ${reasonText(r)}`.toLowerCase();
}
