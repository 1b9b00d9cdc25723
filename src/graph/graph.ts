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
  /** For a cycle: the path, first name repeated at the end (for more than 12 names, its first and last five). */
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
    // A long cycle keeps only its ends in each member's path (as its message does), so that a
    // cycle of thousands costs linear memory, not one full copy per member.
    const n = cycle.length - 1;
    for (let i = 0; i < n; i++) {
      const at = (k: number) => cycle[(i + k) % n]!;
      const path = n + 1 <= 12 ? Array.from({ length: n + 1 }, (_, k) => at(k)) : [...[0, 1, 2, 3, 4].map(at), ...[n - 4, n - 3, n - 2, n - 1, n].map(at)];
      const message = `dependency cycle: ${n + 1 <= 12 ? path.join(' → ') : [...path.slice(0, 5), `… (${n + 1 - 10} more)`, ...path.slice(5)].join(' → ')}`;
      issues.push({ service: path[0]!, dependency: path[1]!, code: 'GRAPH_CYCLE', message, cycle: path });
      block(path[0]!, message);
    }
  }

  // Waiting on a blocked service blocks too, transitively: a breadth-first walk from the blocked
  // services along "is depended on by" (linear; a pass-until-stable loop was quadratic on chains).
  const dependents = new Map<string, string[]>();
  for (const s of services) for (const d of Object.keys(s.dependsOn)) dependents.set(d, [...(dependents.get(d) ?? []), s.name]);
  // Each message names the dependency waited on and the root cause, not every link between: a
  // chain of thousands would otherwise make messages of quadratic length.
  const root = new Map(blocked);
  const queue = [...blocked.keys()];
  for (let i = 0; i < queue.length; i++) {
    const dep = queue[i]!;
    for (const name of (dependents.get(dep) ?? []).sort()) {
      if (blocked.has(name)) continue;
      blocked.set(name, `waits for ${JSON.stringify(dep)}, which cannot start: ${root.get(dep)}`);
      root.set(name, root.get(dep)!);
      queue.push(name);
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
  // Iterative: a chain of thousands of services (s0 → s1 → … → s4999) would overflow the stack
  // of a recursive visit. Each frame is a node and the position in its list of successors.
  const visit = (root: string) => {
    const frames: { v: string; succ: string[]; i: number }[] = [];
    const enter = (v: string) => {
      index.set(v, counter);
      low.set(v, counter++);
      stack.push(v);
      onStack.add(v);
      frames.push({ v, succ: next(v), i: 0 });
    };
    enter(root);
    while (frames.length > 0) {
      const f = frames[frames.length - 1]!;
      if (f.i < f.succ.length) {
        const w = f.succ[f.i++]!;
        if (!index.has(w)) enter(w);
        else if (onStack.has(w)) low.set(f.v, Math.min(low.get(f.v)!, index.get(w)!));
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) low.set(parent.v, Math.min(low.get(parent.v)!, low.get(f.v)!));
      if (low.get(f.v) === index.get(f.v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
        } while (w !== f.v);
        if (comp.length > 1) components.push(comp);
      }
    }
  };
  // sort()'s code-unit order: names are ASCII (spec/load.ts), and localeCompare's first call sets
  // up ICU's collator, 14 ms and ~160 pages of a daemon's start on a slow VM (FINDINGS §19).
  for (const name of services.map((s) => s.name).sort()) if (!index.has(name)) visit(name);

  // Within a component, walk from its first name back to itself (BFS gives the shortest cycle).
  return components.map((comp) => {
    const members = new Set(comp);
    const start = [...comp].sort()[0]!;
    const parent = new Map<string, string>();
    const queue = [start];
    for (let qi = 0; qi < queue.length; qi++) {
      const v = queue[qi]!;
      for (const w of next(v)) {
        if (!members.has(w)) continue;
        if (w === start) {
          const back: string[] = [];
          for (let u = v; u !== start; u = parent.get(u)!) back.push(u);
          return [start, ...back.reverse(), start];
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
