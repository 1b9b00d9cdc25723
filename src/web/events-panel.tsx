// The event stream, newest first, with a filter; virtualised (the page keeps the last 2000).

import { useState } from 'preact/hooks';
import { formatTime } from './format.js';
import type { PageEvent } from './types.js';
import { VirtualList } from './virtual-list.js';

export function EventsPanel(props: { events: PageEvent[]; live: boolean }) {
  const [query, setQuery] = useState('');
  const q = query.trim().toLowerCase();
  const list = props.events.slice().reverse();
  const shown = q ? list.filter((e) => describe(e).toLowerCase().includes(q)) : list;
  return (
    <section aria-labelledby="events-title" class="panel">
      <div class="toolbar">
        <h2 id="events-title">Events</h2>
        <span class={`pill ${props.live ? 'ok' : 'warn'}`} data-testid="stream-state">
          {props.live ? 'live' : 'reconnecting'}
        </span>
        <input type="search" placeholder="filter events" aria-label="filter events" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
        <span class="muted" data-testid="event-count">
          {q ? `${shown.length} of ${list.length}` : list.length} events
        </span>
      </div>
      <VirtualList
        count={shown.length}
        rowHeight={22}
        height={300}
        label="events, newest first"
        className="events"
        renderRow={(i) => {
          const e = shown[i]!;
          return (
            <div class={`event t-${e.type.replace(/\./g, '-')}`} role="listitem" data-event-id={e.id}>
              <time>{formatTime(e.ts)}</time> <span class="etype">{e.type}</span> {who(e)} <span class="muted">{detail(e)}</span>
            </div>
          );
        }}
      />
    </section>
  );
}

function who(e: PageEvent): string {
  if (e.service === undefined) return '';
  return e.replica === undefined ? e.service : `${e.service}/${e.replica}`;
}

function detail(e: PageEvent): string {
  const parts: string[] = [];
  if (e.alert) parts.push(e.alert);
  if (e.pid) parts.push(`pid ${e.pid}`);
  if (e.exit_code !== undefined && e.exit_code !== null) parts.push(`code ${e.exit_code}`);
  if (e.signal) parts.push(e.signal);
  if (e.reason) parts.push(e.reason);
  if (e.detail) parts.push(e.detail);
  // What people read: an alert's summary, a STATUS text, a hold. Other messages repeat the reason.
  if (e.message && (!e.reason || e.type.startsWith('alert.') || e.type === 'replica.status' || e.type.startsWith('service.'))) parts.push(e.message);
  return parts.join(' · ');
}

function describe(e: PageEvent): string {
  return `${e.type} ${who(e)} ${detail(e)}`;
}
