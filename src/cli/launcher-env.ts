// Imported first by the CLI (index.ts), so that it runs before any module reads the environment:
// undoes what the launcher did to it (src/util/deferred-ca.ts, src/util/node-options.ts), and
// takes what it recorded (src/util/nofile.ts).

import { restoreExtraCa } from '../util/deferred-ca.js';
import { restoreCallerNodeOptions } from '../util/node-options.js';
import { takeCallerNofile } from '../util/nofile.js';

restoreExtraCa();
restoreCallerNodeOptions();
takeCallerNofile();
