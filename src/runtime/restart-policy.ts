/** Docker's restart policies: whether a container that exited is started again. */
import type { ContainerRow } from './records.js';

export function shouldRestart(policy: string | undefined, row: ContainerRow): boolean {
  if (!policy || policy === 'no') return false;
  if (policy === 'always' || policy === 'unless-stopped') return true;
  const m = /^on-failure(?::(\d+))?$/.exec(policy);
  if (!m) return false;
  if (row.exit_code === 0) return false;
  const max = m[1] === undefined ? Infinity : Number(m[1]);
  return row.restart_count < max;
}
