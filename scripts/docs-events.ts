// Writes docs/events.md from the typed event union (src/reconcile/events.ts): npm run docs:events
import { writeFileSync } from 'node:fs';
import { eventsMarkdown } from '../src/reconcile/events.js';

writeFileSync(new URL('../docs/events.md', import.meta.url), eventsMarkdown());
