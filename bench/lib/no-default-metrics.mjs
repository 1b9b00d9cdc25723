// Preload for bench/startup-attribution.ts: turns prom-client's collectDefaultMetrics into a no-op,
// to measure what registering Node's default metrics costs the daemon's start-up and idle time.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const promClient = createRequire(join(process.cwd(), 'package.json'))('prom-client');
promClient.collectDefaultMetrics = () => {};
