// A minimal launcher for the tend daemon, for when the CLI cannot be used (not built, or broken
// mid-edit): node --import tsx bench/lib/run-daemon.ts <dir> <stateDir> [settleMs]
import { runDaemon } from '../../src/daemon.js';

const [dir, stateDir, settle] = process.argv.slice(2);
if (!dir || !stateDir) {
  process.stderr.write('usage: run-daemon.ts <dir> <stateDir> [settleMs]\n');
  process.exit(2);
}
const code = await runDaemon({ dir, stateDir, ...(settle ? { settleMs: Number(settle) } : {}) });
process.exit(code);
