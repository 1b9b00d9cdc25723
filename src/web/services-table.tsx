// The services table: READY n/m, state, restarts, CPU and memory with their last 15 minutes, age,
// labels. Sortable by any column (a button in its header; aria-sort tells screen readers) and
// filtered by name, state or label (`team=payments`).

import { useState } from 'preact/hooks';
import { formatAge, formatBytes, formatCpu, stateClass } from './format.js';
import { Sparkline, type Sample } from './sparkline.js';
import type { Alert, Service } from './types.js';

type Key = 'name' | 'ready' | 'state' | 'restarts' | 'cpu' | 'memory' | 'age';

const COLUMNS: [Key, string][] = [
  ['name', 'Service'],
  ['ready', 'Ready'],
  ['state', 'State'],
  ['restarts', 'Restarts'],
  ['cpu', 'CPU'],
  ['memory', 'Memory'],
  ['age', 'Age'],
];

export interface Usage {
  cpu: Sample[];
  memory: Sample[];
}

export function ServicesTable(props: {
  services: Service[];
  alerts: readonly Alert[];
  usage: Map<string, Usage>;
  now: number;
  selected: string | undefined;
  onSelect(name: string): void;
}) {
  const [sort, setSort] = useState<{ key: Key; desc: boolean }>({ key: 'name', desc: false });
  const [query, setQuery] = useState('');
  const q = query.trim().toLowerCase();
  const rows = props.services.filter((s) => !q || matches(s, q)).sort((a, b) => compare(a, b, sort.key) * (sort.desc ? -1 : 1));
  return (
    <section aria-labelledby="services-title" class="panel">
      <div class="toolbar">
        <h2 id="services-title">Services</h2>
        <input
          type="search"
          placeholder="filter: name, state, label=value"
          aria-label="filter services"
          value={query}
          onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
        />
        <span class="muted">
          {rows.length} of {props.services.length}
        </span>
      </div>
      <div class="tablewrap">
        <table class="services">
          <thead>
            <tr>
              {COLUMNS.map(([key, title]) => (
                <th key={key} aria-sort={sort.key === key ? (sort.desc ? 'descending' : 'ascending') : 'none'} scope="col">
                  <button type="button" class="sort" onClick={() => setSort({ key, desc: sort.key === key ? !sort.desc : false })}>
                    {title}
                    <span aria-hidden="true">{sort.key === key ? (sort.desc ? ' ▼' : ' ▲') : ''}</span>
                  </button>
                </th>
              ))}
              <th scope="col">Labels</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => {
              const u = props.usage.get(s.name);
              return (
                <tr key={s.name} class={props.selected === s.name ? 'selected' : ''} data-service={s.name}>
                  <th scope="row">
                    <button type="button" class="link" onClick={() => props.onSelect(s.name)} aria-current={props.selected === s.name}>
                      {s.name}
                    </button>
                  </th>
                  <td class="num" data-col="ready">
                    {s.ready}/{s.replicas_desired}
                  </td>
                  <td data-col="state">
                    <span class={`badge ${stateClass(s.state)}`}>{s.state}</span>
                    {s.waiting_for && <span class="muted small"> {s.waiting_for}</span>}
                    <AlertMark alerts={props.alerts.filter((a) => a.service === s.name)} />
                  </td>
                  <td class="num" data-col="restarts">
                    {s.restarts}
                  </td>
                  <td class="num chart" data-col="cpu">
                    <Sparkline samples={u?.cpu ?? []} now={props.now} label={`CPU of ${s.name}, last 15 minutes`} format={formatCpu} /> {formatCpu(s.cpu)}
                  </td>
                  <td class="num chart" data-col="memory">
                    <Sparkline samples={u?.memory ?? []} now={props.now} label={`memory of ${s.name}, last 15 minutes`} format={formatBytes} /> {formatBytes(s.memory)}
                  </td>
                  <td class="num" data-col="age">
                    {formatAge(s.started_at, props.now)}
                  </td>
                  <td class="labels">
                    {Object.entries(s.labels ?? {}).map(([k, v]) => (
                      <span key={k} class="label">
                        {k}={v}
                      </span>
                    ))}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function AlertMark(props: { alerts: Alert[] }) {
  if (props.alerts.length === 0) return null;
  const names = [...new Set(props.alerts.map((a) => a.alert))].join(', ');
  return (
    <>
      {' '}
      <span class="badge bad alert-mark" title={props.alerts.map((a) => a.summary).join('\n')}>
        ⚠ {names}
      </span>
    </>
  );
}

function matches(s: Service, q: string): boolean {
  if (s.name.includes(q) || s.state.includes(q)) return true;
  return Object.entries(s.labels ?? {}).some(([k, v]) => `${k}=${v}`.toLowerCase().includes(q));
}

function compare(a: Service, b: Service, key: Key): number {
  const num = (x: number | null | undefined) => x ?? -1;
  switch (key) {
    case 'name':
      return a.name.localeCompare(b.name);
    case 'ready':
      return a.ready / Math.max(1, a.replicas_desired) - b.ready / Math.max(1, b.replicas_desired) || a.name.localeCompare(b.name);
    case 'state':
      return a.state.localeCompare(b.state) || a.name.localeCompare(b.name);
    case 'restarts':
      return a.restarts - b.restarts;
    case 'cpu':
      return num(a.cpu) - num(b.cpu);
    case 'memory':
      return num(a.memory) - num(b.memory);
    case 'age':
      return (b.started_at ? Date.parse(b.started_at) : 0) - (a.started_at ? Date.parse(a.started_at) : 0);
  }
}
