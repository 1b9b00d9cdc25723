// Where each service sits in the dependency graph: a column per depth (a service is one column to
// the right of the deepest of its dependencies), rows in name order. Pure; cycles are cut where
// they are found (the daemon reports them as errors; the drawing just has to finish).

export interface GraphInput {
  name: string;
  depends_on: { service: string; condition: string }[];
}

export interface LaidNode {
  name: string;
  column: number;
  row: number;
  /** Named as a dependency but not defined. */
  missing: boolean;
}

export interface LaidEdge {
  from: string; // the dependency
  to: string; // the service that waits for it
  condition: string;
}

export function layoutGraph(services: readonly GraphInput[]): { nodes: LaidNode[]; edges: LaidEdge[]; columns: number; rows: number } {
  const byName = new Map(services.map((s) => [s.name, s]));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) return 0; // a cycle: cut here
    visiting.add(name);
    const deps = byName.get(name)?.depends_on ?? [];
    const d = deps.length === 0 ? 0 : 1 + Math.max(...deps.map((x) => depthOf(x.service)));
    visiting.delete(name);
    depth.set(name, d);
    return d;
  };
  const names = new Set(services.map((s) => s.name));
  for (const s of services) for (const d of s.depends_on) names.add(d.service);
  const sorted = [...names].sort();
  for (const n of sorted) depthOf(n);
  const rowsUsed = new Map<number, number>();
  const nodes = sorted.map((name) => {
    const column = depth.get(name) ?? 0;
    const row = rowsUsed.get(column) ?? 0;
    rowsUsed.set(column, row + 1);
    return { name, column, row, missing: !byName.has(name) };
  });
  const edges = services.flatMap((s) => s.depends_on.map((d) => ({ from: d.service, to: s.name, condition: d.condition })));
  return {
    nodes,
    edges,
    columns: Math.max(0, ...nodes.map((n) => n.column + 1)),
    rows: Math.max(0, ...rowsUsed.values()),
  };
}
