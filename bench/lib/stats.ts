// Small statistics for bench figures: median, percentiles and a summary with min–max.

export interface Summary {
  /** Number of samples. */
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
  /** Every sample, in the order measured. */
  samples: number[];
}

export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/** Nearest-rank percentile with linear interpolation between ranks; NaN for no samples. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo]! + (s[hi]! - s[lo]!) * (rank - lo);
}

export function summarize(xs: readonly number[]): Summary {
  const samples = xs.map((x) => round(x, 2));
  return {
    n: xs.length,
    median: round(median(xs), 2),
    p95: round(percentile(xs, 95), 2),
    min: xs.length ? round(Math.min(...xs), 2) : NaN,
    max: xs.length ? round(Math.max(...xs), 2) : NaN,
    samples,
  };
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
