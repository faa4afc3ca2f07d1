/**
 * Sizes a user writes for limits ("64GiB", "512m", "100MB", "1048576") and the binary form
 * skiff prints them in. Units follow Docker's flags (`--memory 512m`, `--shm-size 64m`): one
 * letter or a `b`/`ib` suffix, case-insensitive, all powers of 1024, since a limit is about
 * disk and memory, which count in them.
 */
import { InvalidArgument } from './errors.js';

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** Bytes of `text`; `what` names it in the error ("--max-layer-size"). */
export function parseByteSize(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$/i.exec(text);
  const bytes = m === null ? NaN : Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(bytes) || bytes <= 0)
    throw new InvalidArgument(
      `${what} \`${text}\`: not a size (a positive number of bytes, or with a unit: 512m, 64GiB)`,
      { code: 'USAGE' },
    );
  return bytes;
}

/** `bytes` in the largest binary unit it reaches: 1536 → { value: 1.5, unit: 'KiB' }. */
export function binaryScale(bytes: number): { value: number; unit: string } {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return { value, unit: units[unit]! };
}

/** "64 GiB", "4 MiB", "1.5 KiB", "100 B": exact when it can be, one decimal otherwise. */
export function formatByteSize(bytes: number): string {
  const { value, unit } = binaryScale(bytes);
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
}
