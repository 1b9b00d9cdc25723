// A live tail of one service's (or one replica's) output: GET /v1/logs/:name?follow=1 streams
// `svc/n | line` text. Paused, lines keep arriving into a buffer and are shown on resume; the
// search box shows only the lines that contain its text (case-insensitive), marked.

import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from './api.js';
import { VirtualList } from './virtual-list.js';

const MAX_LINES = 5000;
const TAIL = 200;
const ROW = 18;

/** Following every replica of a large service costs the daemon a poll of each file ten times a
 *  second: past this many, the tail of the whole service starts when asked. */
export const AUTO_FOLLOW_MAX = 50;

export function LogTail(props: { api: Api; service: string; replica?: number; replicas: number }) {
  const who = props.replica === undefined ? props.service : `${props.service}/${props.replica}`;
  const [asked, setAsked] = useState<string>();
  if (props.replica === undefined && props.replicas > AUTO_FOLLOW_MAX && asked !== who) {
    return (
      <section class="logs" aria-label={`logs of ${who}`}>
        <div class="toolbar">
          <h3>Logs: {who}</h3>
          <button type="button" onClick={() => setAsked(who)}>
            Follow all {props.replicas} replicas
          </button>
          <span class="muted">or pick one replica's logs above</span>
        </div>
      </section>
    );
  }
  return <Tail {...props} />;
}

function Tail(props: { api: Api; service: string; replica?: number }) {
  const [lines, setLines] = useState<string[]>([]);
  const [paused, setPaused] = useState(false);
  const [held, setHeld] = useState(0);
  const [query, setQuery] = useState('');
  const [state, setState] = useState<'connecting' | 'live' | 'ended' | string>('connecting');
  const pausedRef = useRef(false);
  const buffer = useRef<string[]>([]);

  useEffect(() => {
    const ac = new AbortController();
    setLines([]);
    buffer.current = [];
    setState('connecting');
    const qs = new URLSearchParams({ follow: '1', tail: String(TAIL) });
    if (props.replica !== undefined) qs.set('replica', String(props.replica));
    // Lines are gathered for one animation frame, so a burst of output is one render.
    let pending: string[] = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      const add = pending;
      pending = [];
      if (pausedRef.current) {
        buffer.current = buffer.current.concat(add).slice(-MAX_LINES);
        setHeld(buffer.current.length);
      } else {
        setLines((old) => trim(old.concat(add)));
      }
    };
    (async () => {
      try {
        const res = await props.api.stream(`/v1/logs/${encodeURIComponent(props.service)}?${qs}`, ac.signal);
        setState('live');
        const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
        let partial = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const parts = (partial + value).split('\n');
          partial = parts.pop() ?? '';
          pending.push(...parts);
          if (!frame) frame = requestAnimationFrame(flush);
        }
        setState('ended');
      } catch (err) {
        if (!ac.signal.aborted) setState(`error: ${(err as Error).message}`);
      }
    })();
    return () => {
      ac.abort();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [props.api, props.service, props.replica]);

  const togglePause = () => {
    const next = !paused;
    pausedRef.current = next;
    setPaused(next);
    if (!next) {
      const add = buffer.current;
      buffer.current = [];
      setHeld(0);
      setLines((old) => trim(old.concat(add)));
    }
  };

  const q = query.trim().toLowerCase();
  const shown = q ? lines.filter((l) => l.toLowerCase().includes(q)) : lines;
  const who = props.replica === undefined ? props.service : `${props.service}/${props.replica}`;
  return (
    <section class="logs" aria-label={`logs of ${who}`}>
      <div class="toolbar">
        <h3>Logs: {who}</h3>
        <span class={`pill ${state === 'live' ? 'ok' : 'idle'}`} data-testid="log-state">
          {paused ? `paused${held ? ` (${held} new)` : ''}` : state}
        </span>
        <button type="button" onClick={togglePause} aria-pressed={paused}>
          {paused ? 'Resume tail' : 'Pause tail'}
        </button>
        <input type="search" placeholder="search the log" aria-label="search the log" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
        {q && <span class="muted">{shown.length} matching</span>}
      </div>
      <VirtualList
        count={shown.length}
        rowHeight={ROW}
        height={260}
        stickToBottom={!paused}
        label={`log lines of ${who}`}
        className="loglines"
        renderRow={(i) => <LogLine line={shown[i]!} query={q} />}
      />
    </section>
  );
}

function trim(lines: string[]): string[] {
  return lines.length > MAX_LINES ? lines.slice(-MAX_LINES) : lines;
}

function LogLine(props: { line: string; query: string }) {
  const bar = props.line.indexOf(' | ');
  const prefix = bar >= 0 ? props.line.slice(0, bar) : '';
  const text = bar >= 0 ? props.line.slice(bar + 3) : props.line;
  const hue = prefixHue(prefix);
  return (
    <div class="logline" role="listitem">
      {prefix && (
        <span class="prefix" data-hue={hue}>
          {prefix} |{' '}
        </span>
      )}
      <Marked text={text} query={props.query} />
    </div>
  );
}

function Marked(props: { text: string; query: string }) {
  if (!props.query) return <>{props.text}</>;
  const lower = props.text.toLowerCase();
  const out = [];
  let at = 0;
  for (let i = lower.indexOf(props.query); i >= 0; i = lower.indexOf(props.query, i + props.query.length)) {
    out.push(props.text.slice(at, i), <mark key={i}>{props.text.slice(i, i + props.query.length)}</mark>);
    at = i + props.query.length;
  }
  out.push(props.text.slice(at));
  return <>{out}</>;
}

// One of 6 colours per replica, like docker compose's prefixes.
function prefixHue(prefix: string): number {
  const n = Number(prefix.slice(prefix.lastIndexOf('/') + 1));
  return Number.isInteger(n) ? n % 6 : 0;
}
