/**
 * Durations a user writes in flags and files ("30s", "1m30s", "500ms", "2h"), as Docker's
 * `--health-interval` takes them: the parse shared by containers' health checks and deploys.
 */
import { InvalidArgument } from './errors.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Milliseconds of `s`; `flag` names it in the error (without its dashes). */
export function parseDuration(s: string, flag: string): number {
  const parts = [...s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== s) {
    throw new InvalidArgument(`invalid duration \`${s}\` for --${flag} (e.g. 30s, 1m30s, 500ms)`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2] as keyof typeof UNIT_MS], 0);
}
