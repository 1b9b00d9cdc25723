// The parts of prom-client tend uses, loaded file by file. Its index also loads the Pushgateway
// (node:https, node:tls, node:zlib), the cluster aggregator and the default process metrics (with
// @opentelemetry/api), none of which a daemon needs before its first replica runs: ~2 ms of its
// start-up (bench/FINDINGS.md §16). The default metrics are loaded at the first scrape.

export { default as Registry } from 'prom-client/lib/registry.js';
export { default as Counter } from 'prom-client/lib/counter.js';
export { default as Gauge } from 'prom-client/lib/gauge.js';
export { default as Histogram } from 'prom-client/lib/histogram.js';

/** prom-client's collectDefaultMetrics, loaded when first asked for. */
export async function loadDefaultMetrics(): Promise<typeof import('prom-client').collectDefaultMetrics> {
  return (await import('prom-client/lib/defaultMetrics.js')).default;
}
