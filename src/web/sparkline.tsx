// A small line chart of the last 15 minutes of one number (CPU or memory), drawn as SVG.

export interface Sample {
  t: number;
  v: number | null;
}

export const WINDOW_MS = 15 * 60 * 1000;

export function Sparkline(props: { samples: readonly Sample[]; now: number; label: string; width?: number; height?: number }) {
  const w = props.width ?? 90;
  const h = props.height ?? 22;
  const pts = props.samples.filter((s) => s.v !== null && s.t >= props.now - WINDOW_MS) as { t: number; v: number }[];
  const max = Math.max(1e-9, ...pts.map((p) => p.v));
  const x = (t: number) => ((t - (props.now - WINDOW_MS)) / WINDOW_MS) * w;
  const y = (v: number) => h - 1 - (v / max) * (h - 2);
  const d = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join('');
  return (
    <svg class="spark" width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={props.label}>
      <title>{props.label}</title>
      {d && <path d={d} />}
    </svg>
  );
}
