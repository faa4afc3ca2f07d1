import fs from 'node:fs';
import { DataLoss } from '../util/errors.js';

/** Reads exactly `length` bytes of a file into `into` at `at`; `short()` is thrown at an early end. */
export function readFully(fd: number, into: Buffer, at: number, length: number, short: () => Error): void {
  for (let done = 0; done < length; ) {
    const n = fs.readSync(fd, into, at + done, length - done, null);
    if (n === 0) throw short();
    done += n;
  }
}

/** A file of a layer got shorter between its stat and its read. */
export function shrank(verb: string, rel: string): DataLoss {
  return new DataLoss(`${verb}: file \`${rel}\`: shrank while being read`);
}
