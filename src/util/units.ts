// Sizes in messages people read (events, alerts): binary units as the spec writes them (`512Mi`),
// one decimal where it says something (`45.6Mi`, but `200Mi`, not `200.0Mi`).

export function formatBytes(n: number): string {
  const { value, unit } = scaleBytes(n);
  return `${unit === 'B' ? value : Number(value.toFixed(1))}${unit}`;
}

/** `n` bytes in the largest binary unit (B, Ki, Mi, Gi, Ti) that keeps the value at least 1. */
export function scaleBytes(n: number): { value: number; unit: string } {
  const units = ['B', 'Ki', 'Mi', 'Gi', 'Ti'];
  let value = n;
  let u = 0;
  while (value >= 1024 && u < units.length - 1) {
    value /= 1024;
    u++;
  }
  return { value, unit: units[u]! };
}
