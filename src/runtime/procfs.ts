/** What /proc says about a process: enough to tell it from a later process with the same pid. */
import fs from 'node:fs';

/** Start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat), or undefined if gone. */
export function processStartTime(pid: number): number | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces: count after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X') return undefined;
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : undefined;
}

/** True when `pid` runs and is the same process that started at `startTime`. */
export function isAlive(pid: number | null | undefined, startTime: number | null | undefined): boolean {
  if (!pid || startTime === null || startTime === undefined) return false;
  return processStartTime(pid) === startTime;
}
