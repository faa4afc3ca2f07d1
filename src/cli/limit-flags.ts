/**
 * The ingest-limit flags of pull, load and import: each overrides the store's settings.json
 * for one command (store/ingest-limits.ts has the defaults and the rules).
 */
import type { IngestLimits } from '../store/ingest-limits.js';
import { parseByteSize } from '../util/byte-size.js';
import { InvalidArgument } from '../util/errors.js';
import { str, type FlagSpec, type Parsed } from './args.js';

export const LIMIT_FLAGS: FlagSpec[] = [
  { name: 'max-layer-size', kind: 'string' },
  { name: 'max-image-size', kind: 'string' },
  { name: 'max-expansion', kind: 'string' },
];

export const LIMIT_USAGE = '[--max-layer-size SIZE] [--max-image-size SIZE] [--max-expansion N]';

export function limitsOf(p: Parsed, command: string): Partial<IngestLimits> {
  const limits: Partial<IngestLimits> = {};
  const layer = str(p, 'max-layer-size');
  const image = str(p, 'max-image-size');
  const expansion = str(p, 'max-expansion');
  if (layer !== undefined) limits.maxLayerSize = parseByteSize(layer, `${command}: --max-layer-size`);
  if (image !== undefined) limits.maxImageSize = parseByteSize(image, `${command}: --max-image-size`);
  if (expansion !== undefined) {
    const n = Number(expansion);
    if (!(n >= 1))
      throw new InvalidArgument(`${command}: --max-expansion \`${expansion}\`: not a number ≥ 1`, {
        code: 'USAGE',
      });
    limits.maxExpansion = n;
  }
  return limits;
}
