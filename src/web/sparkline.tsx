// A small line chart of the last 15 minutes of one number (CPU or memory), drawn as SVG. The page
// only knows what it sampled since it opened: until it has 15 minutes, the chart spans what it has
// (so a fresh page shows a line after ten seconds, not a dot one pixel wide), and its tooltip says
// how long that is.

export interface Sample {
  t: number;
  v: number | null;
}

export const WINDOW_MS = 15 * 60 * 1000;

export function Sparkline(props: { samples: readonly Sample[]; now: number; label: string; format(v: number): string; width?: number; height?: number }) {
  const w = props.width ?? 90;
  const h = props.height ?? 22;
  const pts = props.samples.filter((s) => s.v !== null && s.t >= props.now - WINDOW_MS) as { t: number; v: number }[];
  const start = pts.length > 0 ? Math.max(props.now - WINDOW_MS, pts[0]!.t) : props.now - WINDOW_MS;
  const span = Math.max(1, props.now - start);
  const max = Math.max(1e-9, ...pts.map((p) => p.v));
  const x = (t: number) => ((t - start) / span) * (w - 1);
  const y = (v: number) => h - 1 - (v / max) * (h - 2);
  const d = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join('');
  const title = pts.length < 2 ? `${props.label}: no samples yet` : `${props.label}: ${Math.round(span / 1000)} s sampled so far, peak ${props.format(max)}`;
  return (
    <svg class="spark" width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={props.label}>
      <title>{title}</title>
      {d && <path d={d} />}
    </svg>
  );
}
