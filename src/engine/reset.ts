/** `skiff system reset` (Engine.reset): everything in the store removed, then the store itself. */
import fs from 'node:fs';
import { Proxy } from '../deploy/proxy.js';
import { stopSupervisor } from '../runtime/supervisor.js';
import type { Runtime } from '../runtime/runtime.js';
import { errnoCode } from '../util/errors.js';

/**
 * Removes the proxy, the supervisor, every container (forced), network (with its bridge and
 * nftables table) and volume; calls `close` (the store must be closed before its directory
 * goes), and then removes the store directory `root`.
 */
export async function resetStore(root: string, runtime: Runtime, close: () => void): Promise<void> {
  new Proxy(root).stop();
  await stopSupervisor(root);
  for (const c of runtime.list({ all: true })) await runtime.remove(c.id, { force: true });
  runtime.networks.reset();
  for (const v of runtime.volumes.list()) runtime.volumes.remove(v.name, { force: true });
  close();
  // A supervisor that `run -d` started a moment ago may only now open the store (its pid file
  // came after the stop above) and write into it while it is removed: stop it and try again.
  for (let attempt = 1; ; attempt++) {
    try {
      fs.rmSync(root, { recursive: true, force: true, maxRetries: 3 });
      return;
    } catch (err) {
      if (errnoCode(err) !== 'ENOTEMPTY' || attempt >= 10) throw err;
      await stopSupervisor(root);
    }
  }
}
