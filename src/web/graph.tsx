// The dependency graph as SVG: a column per depth, an arrow from each dependency to the service
// that waits for it, labelled with the condition (started, healthy, completed), nodes coloured by
// state. A dependency that no file defines is drawn dashed.

import { layoutGraph } from './graph-layout.js';
import { stateClass } from './format.js';
import type { Service } from './types.js';

const W = 130;
const H = 34;
const GX = 70;
const GY = 22;

export function DependencyGraph(props: { services: Service[]; onSelect(name: string): void }) {
  const g = layoutGraph(props.services.map((s) => ({ name: s.name, depends_on: s.depends_on ?? [] })));
  if (g.nodes.length === 0) return <p class="muted">No services.</p>;
  const state = new Map(props.services.map((s) => [s.name, s.state]));
  const pos = new Map(g.nodes.map((n) => [n.name, { x: 10 + n.column * (W + GX), y: 10 + n.row * (H + GY) }]));
  const width = 20 + g.columns * (W + GX) - GX;
  const height = 20 + g.rows * (H + GY) - GY;
  return (
    <svg class="graph" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label="dependency graph">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0L10,5L0,10z" class="arrowhead" />
        </marker>
      </defs>
      {g.edges.map((e) => {
        const a = pos.get(e.from)!;
        const b = pos.get(e.to)!;
        const x1 = a.x + W;
        const y1 = a.y + H / 2;
        const x2 = b.x;
        const y2 = b.y + H / 2;
        const mx = (x1 + x2) / 2;
        // The label sits in the first gap after the dependency: over an edge that skips columns,
        // the middle would be where other edges cross.
        const label = pointAtX(x1, y1, mx, x2, y2, Math.min(mx, x1 + GX / 2));
        return (
          <g key={`${e.from}>${e.to}`} class="edge" data-edge={`${e.from}->${e.to}`}>
            <path d={`M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`} marker-end="url(#arrow)" />
            <text x={label.x} y={label.y - 4} text-anchor="middle">
              {e.condition}
            </text>
          </g>
        );
      })}
      {g.nodes.map((n) => {
        const p = pos.get(n.name)!;
        const st = state.get(n.name) ?? 'missing';
        return (
          <g
            key={n.name}
            class={`node ${n.missing ? 'missing' : stateClass(st)}`}
            transform={`translate(${p.x},${p.y})`}
            // Lower case: on SVG, Preact sets attributes as written, and `tabIndex` is not `tabindex`.
            tabindex={n.missing ? undefined : 0}
            role={n.missing ? undefined : 'button'}
            aria-label={`${n.name}: ${n.missing ? 'not defined' : st}`}
            onClick={() => !n.missing && props.onSelect(n.name)}
            onKeyDown={(e) => {
              if ((e.key === 'Enter' || e.key === ' ') && !n.missing) {
                e.preventDefault();
                props.onSelect(n.name);
              }
            }}
          >
            <rect width={W} height={H} rx="6" />
            <text x="10" y="14">
              {n.name}
            </text>
            <text x="10" y="28" class="sub">
              {n.missing ? 'not defined' : st}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** The point at `x` of the cubic curve (x1,y1) (mx,y1) (mx,y2) (x2,y2) that edges are drawn with. */
function pointAtX(x1: number, y1: number, mx: number, x2: number, y2: number, x: number): { x: number; y: number } {
  const at = (t: number, a: number, b: number, c: number, d: number) => (1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t ** 2 * c + t ** 3 * d;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 20; i++) {
    const t = (lo + hi) / 2;
    if (at(t, x1, mx, mx, x2) < x) lo = t;
    else hi = t;
  }
  return { x, y: at(lo, y1, y1, y2, y2) };
}
