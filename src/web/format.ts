// Numbers as people read them in a table.

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

export function formatCpu(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : `${n >= 10 ? Math.round(n) : n.toFixed(1)}%`;
}

/** `3s`, `5m`, `2h`, `4d` since an ISO time. */
export function formatAge(iso: string | null | undefined, now: number): string {
  if (!iso) return '–';
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString(undefined, { hour12: false });
}

/** CSS class of a state: its colour in badges, rows and the graph. */
export function stateClass(state: string): string {
  switch (state) {
    case 'running':
    case 'completed':
      return 'ok';
    case 'starting':
    case 'pending':
    case 'updating':
    case 'stopping':
      return 'busy';
    case 'backoff':
    case 'paused':
    case 'held':
      return 'warn';
    case 'failed':
    case 'blocked':
      return 'bad';
    default:
      return 'idle';
  }
}
