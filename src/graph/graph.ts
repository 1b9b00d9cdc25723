// Pure dependency analysis over normalised specs: which services cannot start (and why), the order
// the others start in, and who depends on whom (for stop order). A problem blocks only the
// services involved and those that wait on them; everything else goes on.

import toposort from 'toposort';
import type { ErrorCode, SpecProblem } from '../errors.js';
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
  /** Start order of the services not blocked: level 0 has no dependencies; one level can start in parallel. */
  levels: string[][];
}

type Deps = Pick<ServiceSpec, 'name' | 'dependsOn' | 'oneshot'>;

// Root causes, blocked services and start levels, with no positions (see checkGraph for problems).
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

  const free = services.filter((s) => !blocked.has(s.name));
  const edges: [string, string][] = free.flatMap((s) => Object.keys(s.dependsOn).map((d): [string, string] => [d, s.name]));
  const level = new Map<string, number>();
  for (const name of toposort.array(free.map((s) => s.name), edges)) {
    const deps = Object.keys(byName.get(name)!.dependsOn);
    level.set(name, deps.length === 0 ? 0 : 1 + Math.max(...deps.map((d) => level.get(d)!)));
  }
  const levels: string[][] = [];
  for (const [name, l] of level) (levels[l] ??= []).push(name);
  for (const l of levels) l.sort();
  return { issues, blocked, levels };
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

// Problems (at each service's own position; loadDirectory points them at the depends_on entry),
// blocked services with their reasons, and the start levels of the others.
export function checkGraph(services: ServiceSpec[]): { problems: SpecProblem[]; blocked: Map<string, string>; levels: string[][] } {
  const { issues, blocked, levels } = graphIssues(services);
  const byName = new Map(services.map((s) => [s.name, s]));
  const problems = issues.map((i): SpecProblem => {
    const s = byName.get(i.service)!;
    return { file: s.file, line: s.line, column: 1, code: i.code, service: i.service, message: i.message };
  });
  return { problems, blocked, levels };
}

// Services that depend on `name`, directly or (with transitive) through others: they must stop
// before it does, and wait again when it restarts.
export function dependentsOf(services: readonly Deps[], name: string, { transitive = false } = {}): string[] {
  const found = new Set<string>();
  const todo = [name];
  while (todo.length > 0) {
    const target = todo.pop()!;
    for (const s of services) {
      if (target in s.dependsOn && !found.has(s.name) && s.name !== name) {
        found.add(s.name);
        if (transitive) todo.push(s.name);
      }
    }
  }
  return [...found].sort();
}

// Stop order: the start levels reversed, so dependents stop before what they depend on.
export function stopLevels(levels: readonly string[][]): string[][] {
  return [...levels].reverse().map((l) => [...l]);
}
