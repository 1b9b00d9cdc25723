// Sizes in messages people read (events, alerts): binary units as the spec writes them (`512Mi`),
// one decimal where it says something (`45.6Mi`, but `200Mi`, not `200.0Mi`).

export function formatBytes(n: number): string {
  const units = ['B', 'Ki', 'Mi', 'Gi', 'Ti'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : Number(v.toFixed(1))}${units[u]}`;
}
