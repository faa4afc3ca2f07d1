/**
 * Whether a new replica is ready for traffic, checked by skiff itself before HAProxy sees it:
 * a server enabled in HAProxy comes out UP before its first check
 * (docs/haproxy.md#server-lifecycle), so the proxy's checks cannot be the gate.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeHttp } from '../util/lazy-node.js';

export interface ReadinessTarget {
  address: string;
  port: number;
  /** HTTP path that must answer 200; without one, an accepted TCP connection is enough */
  path?: string;
}

/**
 * Polls until the target is ready or the deadline passes; `alive` is asked between attempts
 * so that a replica that exited fails at once instead of at the deadline.
 */
export async function waitReady(
  target: ReadinessTarget,
  options: { timeoutMs: number; alive: () => boolean; signal?: AbortSignal },
): Promise<{ ready: true } | { ready: false; last: string }> {
  const deadline = Date.now() + options.timeoutMs;
  let last = 'not checked yet';
  let delay = 5;
  for (;;) {
    try {
      if (target.path === undefined) await connects(target);
      else {
        const status = await get(target);
        if (status === 200) return { ready: true };
        last = `GET ${target.path} answered ${status}`;
      }
      if (target.path === undefined) return { ready: true };
    } catch (err) {
      last = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    }
    if (!options.alive()) return { ready: false, last: `the container exited (${last})` };
    if (Date.now() >= deadline) return { ready: false, last };
    await sleep(delay, undefined, { signal: options.signal });
    delay = Math.min(delay * 2, 200);
  }
}

function get(t: ReadinessTarget): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = nodeHttp().get(
      { host: t.address, port: t.port, path: t.path, timeout: 2_000, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
  });
}

function connects(t: ReadinessTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: t.address, port: t.port, timeout: 2_000 });
    socket.on('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.on('timeout', () => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    socket.on('error', reject);
  });
}
