/**
 * The store's settings file, `<root>/settings.json`: a JSON object a user writes by hand, so
 * that a store keeps its own policy whatever command line reaches it. No file means the
 * defaults. It holds the ingest limits (ingest-limits.ts), each optional:
 *
 *   { "maxLayerSize": "64GiB", "maxImageSize": "64GiB", "maxExpansion": 100, "expansionFloor": "1GiB" }
 *
 * Sizes are bytes or strings with a unit (util/byte-size.ts). An unknown key is an error, not
 * ignored: a misspelt limit would otherwise silently not apply.
 */
import fs from 'node:fs';
import { parseByteSize } from '../util/byte-size.js';
import { storePaths } from './paths.js';
import { errnoCode, InvalidArgument } from '../util/errors.js';

export interface StoreSettings {
  maxLayerSize?: number;
  maxImageSize?: number;
  maxExpansion?: number;
  expansionFloor?: number;
}

const SIZES = ['maxLayerSize', 'maxImageSize', 'expansionFloor'] as const;
const KEYS = [...SIZES, 'maxExpansion'] as const;

export function settingsPath(root: string): string {
  return storePaths(root).settings;
}

export function readSettings(root: string): StoreSettings {
  const file = settingsPath(root);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return {};
    throw err;
  }
  const fail = (cause: string): never => {
    throw new InvalidArgument(`read settings \`${file}\`: ${cause}`, { code: 'BAD_SETTINGS' });
  };
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    fail(`not JSON: ${(err as Error).message}`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return fail('expected a JSON object');
  const settings: StoreSettings = {};
  for (const [key, value] of Object.entries(obj as Record<string, unknown>)) {
    if (!(KEYS as readonly string[]).includes(key)) fail(`unknown key \`${key}\` (${KEYS.join(', ')})`);
    const k = key as (typeof KEYS)[number];
    if (k === 'maxExpansion') {
      if (typeof value !== 'number' || !(value >= 1)) fail(`\`maxExpansion\`: expected a number ≥ 1`);
      settings.maxExpansion = value as number;
    } else if (typeof value === 'number' || typeof value === 'string') {
      settings[k] = parseByteSize(String(value), `\`${key}\` in ${file}`);
    } else fail(`\`${key}\`: expected a size (bytes, or a string like "64GiB")`);
  }
  return settings;
}
