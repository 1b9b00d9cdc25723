// Kills a test's daemon before its temp dirs are removed: after-hooks run in the order they were
// registered, and a daemon still writing into its state dir makes removing that dir fail.
import type { TestContext } from 'node:test';
import type { DaemonProcess } from './daemon.js';

/** Call before creating the test's directories; pass the daemon through the returned function. */
export function stopDaemonFirst(t: TestContext): (d: DaemonProcess) => DaemonProcess {
  let daemon: DaemonProcess | undefined;
  t.after(async () => {
    if (!daemon || daemon.child.exitCode !== null || daemon.child.signalCode !== null) return;
    daemon.child.kill('SIGKILL');
    await daemon.exited;
  });
  return (d) => (daemon = d);
}
