/**
 * A replica with a health check is ready when the check says so: the per-host supervisor runs
 * the check (runtime/supervisor.ts) and writes its state to the container's row, and the
 * deploy waits for `healthy` — as Compose's `depends_on: condition: service_healthy` waits.
 * `unhealthy` or an exit fails at once; the deadline is only a backstop past what the check's
 * own settings allow, since the check itself decides within them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { HealthState } from '../runtime/health.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ServiceSpec } from './releases.js';

/** Docker's defaults for what a check leaves out. */
const DEFAULTS = { intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0 };

/** How long a check with these settings can take to decide, and some slack; an image's check gets 5 min. */
export function healthDeadlineMs(spec: ServiceSpec): number {
  if (!spec.healthcheck) return Math.max(spec.healthTimeoutMs, 300_000);
  const c = { ...DEFAULTS, ...dropUndefined(spec.healthcheck) };
  return c.startPeriodMs + (c.intervalMs + c.timeoutMs) * (c.retries + 1) + 10_000;
}

export async function waitHealthy(
  runtime: Runtime,
  id: string,
  timeoutMs: number,
): Promise<{ healthy: true } | { healthy: false; last: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = runtime.records.get(id);
    const row = found && runtime.refresh(found);
    if (!row || row.state !== 'running') return { healthy: false, last: 'the container exited' };
    const state = row.health ? (JSON.parse(row.health) as HealthState) : undefined;
    if (!state) return { healthy: false, last: 'it has no health check' };
    if (state.status === 'healthy') return { healthy: true };
    const output = state.log.at(-1);
    const last = output
      ? `health check exited ${output.exitCode}${output.output.trim() ? `: ${oneLine(output.output)}` : ''}`
      : 'no health check has finished yet';
    if (state.status === 'unhealthy') return { healthy: false, last: `unhealthy, ${last}` };
    if (Date.now() >= deadline) return { healthy: false, last };
    await sleep(100);
  }
}

function oneLine(text: string): string {
  const line = text.trim().split('\n').pop() ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
