/**
 * The ingest-limit flags of pull, load and import: each overrides the store's settings.json
 * for one command (store/ingest-limits.ts has the defaults and the rules).
 */
import type { IngestLimits } from '../engine.js';
import { parseByteSize } from '../util/byte-size.js';
import { InvalidArgument } from '../util/errors.js';
import { str, type FlagSpec, type Parsed } from './args.js';

export const LIMIT_FLAGS: FlagSpec[] = [
  {
    name: 'max-layer-size',
    kind: 'string',
    value: 'SIZE',
    help: 'refuse a layer that unpacks past SIZE',
  },
  { name: 'max-image-size', kind: 'string', value: 'SIZE', help: 'refuse an image that unpacks past SIZE' },
  {
    name: 'max-expansion',
    kind: 'string',
    value: 'N',
    help: 'refuse a layer that unpacks past N times its size (and 1 GiB)',
  },
];

/** For the `details` of the verbs that take LIMIT_FLAGS. */
export const LIMIT_DETAILS =
  "The --max-… flags override the store's settings.json for this command; skiff system info shows\n" +
  'the limits in force.';

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
