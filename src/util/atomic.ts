import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** A name in `dir` that no other writer picks: temp files live beside their final place. */
export function tempName(dir: string, prefix: string): string {
  return path.join(dir, `${prefix}${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** fsync a directory so a rename inside it survives a crash. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Temp name in the same directory → write → fsync → rename → fsync the directory. */
export function writeFileAtomic(file: string, data: Buffer | string, mode = 0o644): void {
  const dir = path.dirname(file);
  const tmp = tempName(dir, '.tmp-');
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  fsyncDir(dir);
}
