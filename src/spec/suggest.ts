// "Did you mean" for misspelt keys and names: the closest candidate within a small edit distance.

import { TendError } from '../errors.js';

// Optimal string alignment distance: Levenshtein plus adjacent transpositions, so that
// `restrat` is one edit from `restart`.
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

// camelCase, kebab-case and case differences are one habit, not a typo: compare without them.
function canonical(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/-/g, '_').toLowerCase();
}

// The candidate closest to `word`, when it is close enough to be what was meant.
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const w = canonical(word);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = editDistance(w, canonical(c));
    if (dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  const allowed = Math.max(1, Math.min(3, Math.floor(w.length / 3)));
  return bestDistance <= allowed ? best : undefined;
}

// ` (did you mean "x"?)`-style suffix, or nothing.
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : `, did you mean "${c}"?`;
}

/** The error for a service name that is not one of `known`: `no service named "apii", did you mean
 *  "api"?` (`where` names where it was looked for), as every command says it. */
export function noSuchService(name: string, known: Iterable<string>, where = ''): TendError {
  return new TendError('API_NOT_FOUND', `no service named "${name}"${where === '' ? '' : ` in ${where}`}${didYouMean(name, known)}`);
}
