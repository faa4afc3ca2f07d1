import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { lastError, libc } from './libc.js';

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

export type LockMode = 'shared' | 'exclusive';

/** A held flock(2) lock on a file; the kernel drops it if the process dies. */
export interface FileLock {
  release(): void;
}

/** Tries once; returns undefined when another process holds a conflicting lock. */
export function tryLock(path: string, mode: LockMode): FileLock | undefined {
  const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  const op = (mode === 'shared' ? LOCK_SH : LOCK_EX) | LOCK_NB;
  if (libc.flock(fd, op) !== 0) {
    const err = lastError('flock', path);
    fs.closeSync(fd);
    if (err.code === 'EWOULDBLOCK' || err.code === 'EAGAIN') return undefined;
    throw err;
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      libc.flock(fd, LOCK_UN);
      fs.closeSync(fd);
    },
  };
}

/**
 * Waits for the lock without blocking the event loop: flock(2) with LOCK_NB, retried with a
 * short back-off, so a signal or an AbortSignal can still end the wait.
 */
export async function lock(
  path: string,
  mode: LockMode,
  options: { signal?: AbortSignal } = {},
): Promise<FileLock> {
  let delay = 2;
  for (;;) {
    options.signal?.throwIfAborted();
    const held = tryLock(path, mode);
    if (held !== undefined) return held;
    await sleep(delay, undefined, { signal: options.signal });
    delay = Math.min(delay * 2, 100);
  }
}
