// Pure dependency analysis over normalised specs: which services cannot start, and why. A problem
// blocks only the services involved and those that wait on them; everything else goes on. Start
// and stop order need no precomputed levels: the planner starts a service once its conditions
// hold and stops dependents first, both from the live state (reconcile/plan.ts).

import type { ErrorCode } from '../errors.js';
import { didYouMean } from '../spec/suggest.js';
import type { ServiceSpec } from '../spec/types.js';

/** One root cause in the graph; `dependency` names the depends_on entry at fault, when there is one. */
export interface GraphIssue {
  service: string;
  dependency?: string;
  code: ErrorCode;
  message: string;
  /** For a cycle: the whole path, first name repeated at the end. */
  cycle?: string[];
}

export interface GraphAnalysis {
  issues: GraphIssue[];
  /** Service → why it cannot start: its own issue, or the blocked service it waits on. */
  blocked: Map<string, string>;
}

type Deps = Pick<ServiceSpec, 'name' | 'dependsOn' | 'oneshot'>;

// Root causes (the loader turns them into positioned problems) and the services they block.
export function graphIssues(services: readonly Deps[]): GraphAnalysis {
  const byName = new Map(services.map((s) => [s.name, s]));
  const issues: GraphIssue[] = [];
  const blocked = new Map<string, string>();
  const block = (name: string, reason: string) => {
    if (!blocked.has(name)) blocked.set(name, reason);
  };

  for (const s of services) {
    for (const [dep, condition] of Object.entries(s.dependsOn)) {
      const target = byName.get(dep);
      if (dep === s.name) {
        const message = `${JSON.stringify(s.name)} depends on itself`;
        issues.push({ service: s.name, dependency: dep, code: 'GRAPH_CYCLE', message, cycle: [s.name, s.name] });
        block(s.name, message);
      } else if (!target) {
        const message = `depends on ${JSON.stringify(dep)}, which is not defined${didYouMean(dep, byName.keys())}`;
        issues.push({ service: s.name, dependency: dep, code: 'GRAPH_MISSING_DEP', message });
        block(s.name, message);
      } else if (condition === 'completed' && !target.oneshot) {
        const message = `waits for ${JSON.stringify(dep)} to be completed, but ${dep} is not a oneshot (use started or healthy, or set oneshot: true on ${dep})`;
        issues.push({ service: s.name, dependency: dep, code: 'SPEC_INVALID', message });
        block(s.name, message);
      }
    }
  }

  for (const cycle of findCycles(services, byName)) {
    // One problem per member, each rotated to start at it, so every file involved says why.
    for (let i = 0; i < cycle.length - 1; i++) {
      const path = [...cycle.slice(i, -1), ...cycle.slice(0, i), cycle[i]!];
      const message = `dependency cycle: ${path.join(' → ')}`;
      issues.push({ service: path[0]!, dependency: path[1]!, code: 'GRAPH_CYCLE', message, cycle: path });
      block(path[0]!, message);
    }
  }

  // Waiting on a blocked service blocks too, transitively.
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of services) {
      if (blocked.has(s.name)) continue;
      const dep = Object.keys(s.dependsOn).find((d) => blocked.has(d));
      if (dep !== undefined) {
        blocked.set(s.name, `waits for ${JSON.stringify(dep)}, which cannot start: ${blocked.get(dep)}`);
        changed = true;
      }
    }
  }

  return { issues, blocked };
}

// Strongly connected components (Tarjan) of two or more services, each as one simple cycle path.
function findCycles(services: readonly Deps[], byName: Map<string, Deps>): string[][] {
  const next = (name: string) => Object.keys(byName.get(name)!.dependsOn).filter((d) => d !== name && byName.has(d)).sort();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let counter = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) components.push(comp);
    }
  };
  for (const s of [...services].sort((a, b) => a.name.localeCompare(b.name))) if (!index.has(s.name)) visit(s.name);

  // Within a component, walk from its first name back to itself (BFS gives the shortest cycle).
  return components.map((comp) => {
    const members = new Set(comp);
    const start = [...comp].sort()[0]!;
    const parent = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0) {
      const v = queue.shift()!;
      for (const w of next(v)) {
        if (!members.has(w)) continue;
        if (w === start) {
          const path = [start];
          for (let u = v; u !== start; u = parent.get(u)!) path.splice(1, 0, u);
          return [...path, start];
        }
        if (!parent.has(w)) {
          parent.set(w, v);
          queue.push(w);
        }
      }
    }
    return [start, start];
  });
}
