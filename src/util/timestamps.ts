/**
 * Times as Docker's `--since`/`--until` take them: Unix seconds (with a fraction), a date or
 * an RFC 3339 time, or a Go duration (`10m`, `1h30m`) counted back from now.
 */
import { InvalidArgument } from './errors.js';

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** A Go duration (`1h30m`, `250ms`, `10s`) in nanoseconds, or undefined when `text` is none. */
export function goDuration(text: string): bigint | undefined {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0n;
  for (const [, whole, fraction, unit] of text.matchAll(/(\d+)(?:\.(\d+))?(ns|us|µs|ms|s|m|h)/g)) {
    const scale = UNIT_NS[unit!]!;
    total += BigInt(whole!) * scale;
    if (fraction) total += (BigInt(fraction) * scale) / 10n ** BigInt(fraction.length);
  }
  return total;
}

/** `text` as nanoseconds since the epoch; `flag` names it in the error. */
export function parseTimestamp(text: string, flag: string, nowMs = Date.now()): bigint {
  const seconds = /^(\d+)(?:\.(\d{1,9}))?$/.exec(text);
  if (seconds) return BigInt(seconds[1]!) * 1_000_000_000n + BigInt((seconds[2] ?? '').padEnd(9, '0'));
  const ago = goDuration(text);
  if (ago !== undefined) return BigInt(nowMs) * 1_000_000n - ago;
  const ms = Date.parse(text);
  if (!Number.isNaN(ms) && /^\d{4}-\d{2}-\d{2}/.test(text)) return BigInt(ms) * 1_000_000n;
  throw new InvalidArgument(
    `invalid value \`${text}\` for ${flag}: not a Unix time, a date, an RFC 3339 time or a duration`,
  );
}

/** An ISO time as Unix seconds, as the Docker API gives times; 0 when absent or unreadable. */
export function unixSeconds(iso: string | null | undefined): number {
  const ms = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}
