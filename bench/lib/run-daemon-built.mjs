// Runs the compiled daemon (runDaemon from <build>/dist/daemon.js) with options the CLI does not
// expose, for the idle-attribution experiment (bench/idle-attribution.ts). Plain JS: no transpiler
// thread in the measured process.
//   node run-daemon-built.mjs <buildDir> <servicesDir> <stateDir> <statsIntervalMs>
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const [build, dir, stateDir, stats] = process.argv.slice(2);
const { runDaemon } = await import(pathToFileURL(join(build, 'dist/daemon.js')).href);
process.exit(await runDaemon({ dir, stateDir, statsIntervalMs: Number(stats) }));
