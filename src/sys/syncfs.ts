import fs from 'node:fs';
import { check, libc } from './libc.js';

/**
 * Flushes every dirty page of the filesystem holding `path` to disk: one call instead of an
 * fsync per file when a whole unpacked layer must be durable before it is renamed into place.
 */
export function syncfs(path: string): void {
  const fd = fs.openSync(path, 'r');
  try {
    check(libc.syncfs(fd), 'syncfs', path);
  } finally {
    fs.closeSync(fd);
  }
}
