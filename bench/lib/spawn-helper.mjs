// A spawn helper as issue 13 describes it, for bench/spawn-helper.ts only: a small node process
// (no heap to speak of) that spawns what it is asked on stdin, one JSON a line
// {"id":N,"argv":[...],"env":{...},"log":PATH}, detached with an O_APPEND log fd (as tend's
// runtime does), and answers {"id":N,"pid":P} (or {"id":N,"error":CODE}) on stdout.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createInterface } from 'node:readline';

const out = [];
let flushing = false;
function reply(obj) {
  out.push(JSON.stringify(obj));
  if (flushing) return;
  flushing = true;
  setImmediate(() => {
    flushing = false;
    process.stdout.write(out.splice(0).join('\n') + '\n');
  });
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const req = JSON.parse(line);
  let fd;
  try {
    fd = openSync(req.log, 'a');
    const child = spawn(req.argv[0], req.argv.slice(1), { env: req.env, detached: true, stdio: ['ignore', fd, fd] });
    child.on('error', () => {});
    if (child.pid === undefined) reply({ id: req.id, error: 'spawn failed' });
    else reply({ id: req.id, pid: child.pid });
  } catch (err) {
    reply({ id: req.id, error: String(err?.code ?? err) });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
});
