// Rewrites tend's `${VAR}` templates into what a target understands. tend expands them itself, per
// replica; a cluster scheduler expands its own variables (`${NOMAD_ALLOC_INDEX}`, Kubernetes'
// `$(VAR)`), or nothing at all. Each variable a template uses is resolved by the exporter to a
// literal value, a reference in the target's syntax, or nothing (it would have come from tend's own
// environment, which the target does not have).

import { interpolate } from '../spec/template.js';

export type VarValue =
  /** Known now: inserted literally (escaped for the target). */
  | { kind: 'value'; value: string }
  /** Known only where the target runs: inserted as written (already in the target's syntax). */
  | { kind: 'ref'; text: string };

export interface Translated {
  text: string;
  /** Variables the template used that the exporter could not resolve: tend would have taken them
   *  from its own environment; here they expand as unset (so a `:-default` applies). */
  unresolved: string[];
  /** Variables resolved to a reference evaluated by the target. */
  refs: string[];
}

/** A value that points at this host: on a cluster, the other end may be elsewhere. */
export const LOOPBACK = /\b(127\.\d+\.\d+\.\d+|localhost)\b|\[::1\]/;

const SENTINEL = /\u0000(\d+)\u0000/g;

// Translates one template. `escape` protects literal text from the target's own expansion.
export function translate(template: string, resolve: (name: string) => VarValue | undefined, escape: (literal: string) => string = (s) => s): Translated {
  const refs: string[] = [];
  const refNames: string[] = [];
  const unresolved: string[] = [];
  const expanded = interpolate(template, (name) => {
    const v = resolve(name);
    if (v === undefined) {
      if (!unresolved.includes(name)) unresolved.push(name);
      return undefined;
    }
    if (v.kind === 'value') return v.value;
    refs.push(v.text);
    if (!refNames.includes(name)) refNames.push(name);
    return `\u0000${refs.length - 1}\u0000`;
  });
  let text = '';
  let last = 0;
  for (const m of expanded.matchAll(SENTINEL)) {
    text += escape(expanded.slice(last, m.index)) + refs[Number(m[1])]!;
    last = m.index! + m[0].length;
  }
  text += escape(expanded.slice(last));
  return { text, unresolved, refs: refNames };
}

// True when a template uses `${...}` at all (`$$` alone is only an escaped `$`).
export function usesVariables(template: string): boolean {
  let used = false;
  interpolate(template, () => {
    used = true;
    return 'x';
  });
  return used;
}
