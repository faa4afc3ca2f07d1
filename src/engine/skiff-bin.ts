/** Where the `skiff` program of this package is, for commands run after the CLI has exited. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * bin/skiff.js of the package this code was loaded from (the module tree in dist/src/ or the
 * bundle in dist/), for the commands conmon runs after the CLI has exited.
 */
export function skiffBin(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const bin = path.join(dir, 'bin', 'skiff.js');
    if (fs.existsSync(bin)) return bin;
    if (path.dirname(dir) === dir) return path.resolve('bin/skiff.js');
  }
}
