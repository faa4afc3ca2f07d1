/**
 * Reading typed fields out of untrusted JSON. Every check names where the value sits
 * ("layers[2].size") so an error points at the offending field; the public parsers add the
 * verb ("parse manifest: layers[2].size: …").
 */

import { InvalidArgument } from '../util/errors.js';

const QUOTE_LIMIT = 100;

/** A value for an error message, in backticks, cut short so a hostile input cannot flood a log. */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const shown = text === undefined ? String(value) : text;
  return '`' + (shown.length > QUOTE_LIMIT ? shown.slice(0, QUOTE_LIMIT) + '…' : shown) + '`';
}

/** The JSON type of a value, as error messages name it. */
export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Path of a member: ("", "config") → "config"; ("layers", 2) → "layers[2]". */
export function at(where: string, key: string | number): string {
  if (typeof key === 'number') return `${where}[${key}]`;
  return where === '' ? key : `${where}.${key}`;
}

export function fail(where: string, problem: string): never {
  throw new InvalidArgument(where === '' ? problem : `${where}: ${problem}`);
}

/** Runs `fn`, prefixing any InvalidArgument it throws with `prefix` (the verb and object). */
export function withContext<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof InvalidArgument)
      throw new InvalidArgument(`${prefix}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** JSON.parse that reports a syntax error as InvalidArgument. */
export function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new InvalidArgument(`invalid JSON: ${(err as Error).message}`, { cause: err });
  }
}

export function asObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(where, `expected an object, got ${jsonType(value)}`);
  }
  return value as Record<string, unknown>;
}

export function asArray(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) fail(where, `expected an array, got ${jsonType(value)}`);
  return value;
}

export function asString(value: unknown, where: string): string {
  if (typeof value !== 'string') fail(where, `expected a string, got ${jsonType(value)}`);
  return value;
}

export function asNonEmptyString(value: unknown, where: string): string {
  const s = asString(value, where);
  if (s === '') fail(where, 'must not be empty');
  return s;
}

export function asBoolean(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean') fail(where, `expected a boolean, got ${jsonType(value)}`);
  return value;
}

/** A whole number in [0, 2^53): sizes, counts and durations. */
export function asNonNegativeInteger(value: unknown, where: string): number {
  if (typeof value !== 'number') fail(where, `expected a number, got ${jsonType(value)}`);
  if (!Number.isSafeInteger(value) || value < 0) {
    fail(where, `must be a non-negative integer, got ${quote(value)}`);
  }
  return value;
}

export function asStringArray(value: unknown, where: string): string[] {
  return asArray(value, where).map((item, i) => asString(item, at(where, i)));
}

export function asStringMap(value: unknown, where: string): Record<string, string> {
  const obj = asObject(value, where);
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(obj)) out[key] = asString(item, at(where, key));
  return out;
}

/** A map whose values must be objects (Docker's `{"80/tcp": {}}` sets). */
export function asObjectMap(value: unknown, where: string): Record<string, object> {
  const obj = asObject(value, where);
  const out: Record<string, object> = {};
  for (const [key, item] of Object.entries(obj)) out[key] = asObject(item, at(where, key));
  return out;
}

/**
 * Reads `obj[key]` through `read` when present. Go encoders write absent slices and maps as
 * `null`, so with `nullIsAbsent` a null reads as absent rather than as a type error.
 */
export function optional<T>(
  obj: Record<string, unknown>,
  key: string,
  where: string,
  read: (value: unknown, where: string) => T,
  options?: { nullIsAbsent?: boolean },
): T | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  if (value === null && options?.nullIsAbsent) return undefined;
  return read(value, at(where, key));
}

export function required<T>(
  obj: Record<string, unknown>,
  key: string,
  where: string,
  read: (value: unknown, where: string) => T,
): T {
  const value = obj[key];
  if (value === undefined) fail(where, `missing required field \`${key}\``);
  return read(value, at(where, key));
}
