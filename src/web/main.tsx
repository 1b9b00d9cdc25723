// The tend dashboard (DESIGN §11): one page, no external assets, live over the event stream.
// The page keeps the status fresh by re-reading /v1/status when an event arrives (coalesced) and
// every 2 s (for CPU and memory), and keeps the last 15 minutes of usage per service in memory.

import { render } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { adoptTokenFromUrl, Api, ApiError, forgetToken, saveToken } from './api.js';
import { ActionDialog, type Pending } from './dialogs.js';
import { EventsPanel } from './events-panel.js';
import { formatAge } from './format.js';
import { DependencyGraph } from './graph.js';
import { ServiceDetail } from './service-detail.js';
import { ServicesTable, type Usage } from './services-table.js';
import { WINDOW_MS } from './sparkline.js';
import type { Alert, PageEvent, Status } from './types.js';

const MAX_EVENTS = 2000;
const POLL_MS = 2000;
const SAMPLE_EVERY_MS = 5000;

function App() {
  const [token, setToken] = useState<string | null>(() => adoptTokenFromUrl());
  const [denied, setDenied] = useState(false);
  const api = useMemo(() => (token ? new Api(token, () => setDenied(true)) : undefined), [token]);
  // A URL from `tend dashboard` pasted into a tab already on the page only changes the fragment.
  useEffect(() => {
    const onHash = () => {
      const next = adoptTokenFromUrl();
      if (next && next !== token) {
        setDenied(false);
        setToken(next);
      }
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, [token]);
  if (!api || denied) {
    return (
      <Login
        wrong={denied && token !== null}
        onToken={(t) => {
          saveToken(t);
          setDenied(false);
          setToken(t);
        }}
      />
    );
  }
  return (
    <Dashboard
      api={api}
      onLogout={() => {
        forgetToken();
        setToken(null);
      }}
    />
  );
}

function Login(props: { wrong: boolean; onToken(t: string): void }) {
  const [value, setValue] = useState('');
  return (
    <main class="login">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) props.onToken(value.trim());
        }}
      >
        <h1>tend</h1>
        <p>This dashboard needs its access token.</p>
        <p class="muted">
          Run <code>tend dashboard</code> where tend runs and open the URL it prints, or paste the token from <code>.tend/http.token</code>.
        </p>
        {props.wrong && (
          <p class="error" role="alert">
            The daemon refused that token (401).
          </p>
        )}
        <label>
          Token <input type="password" name="token" autocomplete="off" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} autofocus />
        </label>
        <button type="submit" class="primary">
          Open dashboard
        </button>
      </form>
    </main>
  );
}

function Dashboard(props: { api: Api; onLogout(): void }) {
  const { api } = props;
  const [status, setStatus] = useState<Status>();
  const [error, setError] = useState<string>();
  const [events, setEvents] = useState<PageEvent[]>([]);
  const [live, setLive] = useState(false);
  const [selected, setSelected] = useState<string>();
  const [pending, setPending] = useState<Pending>();
  const [toast, setToast] = useState<string>();
  const [now, setNow] = useState(Date.now());
  const usage = useRef(new Map<string, Usage>());
  const refresh = useStatusRefresher(api, (s) => {
    setStatus(s);
    setError(undefined);
    setNow(Date.now());
    record(usage.current, s, Date.now());
  }, (err) => setError(err instanceof ApiError ? err.message : String(err)));

  useEffect(() => {
    const ac = new AbortController();
    // Events arrive in bursts (1000 replicas starting): one render per animation frame.
    let batch: PageEvent[] = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      const add = batch;
      batch = [];
      setEvents((old) => {
        const next = old.concat(add);
        return next.length > MAX_EVENTS ? next.slice(-MAX_EVENTS) : next;
      });
    };
    void api.followEvents(ac.signal, {
      onEvent(e) {
        batch.push(e);
        if (!frame) frame = requestAnimationFrame(flush);
        refresh();
      },
      onReset() {
        batch = [];
        setEvents([]);
      },
      onLive(on) {
        setLive(on);
        if (on) refresh();
      },
    });
    const poll = setInterval(refresh, POLL_MS);
    return () => {
      ac.abort();
      clearInterval(poll);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [api, refresh]);

  const service = status?.services.find((s) => s.name === selected);
  return (
    <>
      <header class="top">
        <h1>tend</h1>
        <span class="muted small">{status ? `${status.source} · pid ${status.pid}` : ''}</span>
        {status && (
          <span class={`pill ${status.converged ? 'ok' : 'busy'}`} data-testid="converged">
            {status.converged ? 'converged' : 'converging'}
          </span>
        )}
        <span class="spacer" />
        <ThemeToggle />
        <button type="button" onClick={props.onLogout}>
          Forget token
        </button>
      </header>
      <main>
        <div aria-live="polite" class="toast-region">
          {toast && (
            <p class="toast" role="status">
              {toast}{' '}
              <button type="button" class="small" onClick={() => setToast(undefined)} aria-label="dismiss">
                ×
              </button>
            </p>
          )}
          {error && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
        </div>
        {status?.alerts && status.alerts.length > 0 && <Alerts alerts={status.alerts} now={now} onSelect={setSelected} />}
        {status && status.errors.length > 0 && (
          <section class="panel spec-errors" aria-labelledby="errors-title">
            <h2 id="errors-title">Spec errors</h2>
            <ul>
              {status.errors.map((e) => (
                <li key={`${e.file}:${e.line}:${e.column}:${e.message}`}>
                  <code class="loc">
                    {e.file}:{e.line}:{e.column}
                  </code>{' '}
                  {e.message}
                </li>
              ))}
            </ul>
          </section>
        )}
        {status ? (
          <div class="grid">
            <div class="col">
              <ServicesTable services={status.services} alerts={status.alerts ?? []} usage={usage.current} now={now} selected={selected} onSelect={setSelected} />
              {service ? (
                <ServiceDetail api={api} service={service} now={now} onAction={setPending} />
              ) : (
                <p class="muted panel">Pick a service to see its replicas and logs.</p>
              )}
            </div>
            <div class="col">
              <section class="panel" aria-labelledby="graph-title">
                <h2 id="graph-title">Dependencies</h2>
                <div class="graphwrap">
                  <DependencyGraph services={status.services} onSelect={setSelected} />
                </div>
              </section>
              <EventsPanel events={events} live={live} />
            </div>
          </div>
        ) : (
          !error && <p class="muted">Loading…</p>
        )}
      </main>
      {pending && (
        <ActionDialog
          api={api}
          pending={pending}
          onClose={(done) => {
            setPending(undefined);
            if (done) {
              setToast(done);
              refresh();
            }
          }}
        />
      )}
    </>
  );
}

// Firing alerts, oldest first as the daemon sends them; an alert that resolves leaves the list at
// the next status read (an alert.* event triggers one).
function Alerts(props: { alerts: Alert[]; now: number; onSelect(name: string): void }) {
  return (
    <section class="panel alerts" aria-labelledby="alerts-title" role="region">
      <h2 id="alerts-title">Firing alerts ({props.alerts.length})</h2>
      <ul>
        {props.alerts.map((a) => (
          <li key={`${a.alert}:${a.service}/${a.replica}`} data-alert={`${a.alert}:${a.service}/${a.replica}`}>
            <strong>{a.alert}</strong>{' '}
            <button type="button" class="link" onClick={() => props.onSelect(a.service)}>
              {a.service}/{a.replica}
            </button>{' '}
            <span class="muted">for {formatAge(a.since, props.now)}</span> — {a.summary}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Re-reads the status when asked, at most one request in flight and one more queued behind it. */
function useStatusRefresher(api: Api, onStatus: (s: Status) => void, onError: (err: unknown) => void): () => void {
  const state = useRef({ busy: false, again: false });
  const cb = useRef({ onStatus, onError });
  cb.current = { onStatus, onError };
  return useCallback(() => {
    const s = state.current;
    if (s.busy) {
      s.again = true;
      return;
    }
    s.busy = true;
    const run = () => {
      api.status().then(
        (st) => cb.current.onStatus(st),
        (err: unknown) => cb.current.onError(err),
      ).finally(() => {
        if (s.again) {
          s.again = false;
          setTimeout(run, 100);
        } else s.busy = false;
      });
    };
    run();
  }, [api]);
}

function record(usage: Map<string, Usage>, status: Status, now: number): void {
  for (const s of status.services) {
    const u = usage.get(s.name) ?? { cpu: [], memory: [] };
    const last = u.cpu[u.cpu.length - 1];
    if (!last || now - last.t >= SAMPLE_EVERY_MS) {
      u.cpu.push({ t: now, v: s.cpu });
      u.memory.push({ t: now, v: s.memory });
      while (u.cpu.length > 0 && u.cpu[0]!.t < now - WINDOW_MS) {
        u.cpu.shift();
        u.memory.shift();
      }
    }
    usage.set(s.name, u);
  }
}

type Theme = 'auto' | 'light' | 'dark';
const THEME_KEY = 'tend.theme';

function storedTheme(): Theme {
  const t = localStorage.getItem(THEME_KEY);
  return t === 'light' || t === 'dark' ? t : 'auto';
}

// The theme is put on <html> in the same task as the click (and before the first render), not in
// an effect: effects run after the next frame, so a reader right after the click (a person's eye
// in a screenshot, a test) could still see the old theme.
function applyTheme(theme: Theme): void {
  if (theme === 'auto') delete document.documentElement.dataset['theme'];
  else document.documentElement.dataset['theme'] = theme;
}

function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>(storedTheme);
  const next: Theme = theme === 'auto' ? 'light' : theme === 'light' ? 'dark' : 'auto';
  const choose = () => {
    applyTheme(next);
    localStorage.setItem(THEME_KEY, next);
    setTheme(next);
  };
  return (
    <button type="button" onClick={choose} aria-label={`theme: ${theme}; switch to ${next}`}>
      Theme: {theme}
    </button>
  );
}

applyTheme(storedTheme());
const root = document.getElementById('app')!;
root.textContent = ''; // the "Loading…" placeholder
render(<App />, root);
