// Preload for the idle-attribution experiment: makes perf_hooks.monitorEventLoopDelay (which
// prom-client's collectDefaultMetrics starts with a 10 ms resolution) sample once a second instead,
// to measure what the 10 ms timer costs an idle daemon.
import { createRequire } from 'node:module';

const perfHooks = createRequire(import.meta.url)('node:perf_hooks');
const original = perfHooks.monitorEventLoopDelay;
perfHooks.monitorEventLoopDelay = (opts) => original({ ...opts, resolution: 1000 });
