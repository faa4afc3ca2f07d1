/**
 * Reading conmon's k8s-file log (docs/runtime.md#k8s-file-log-format):
 * `<time> <stdout|stderr> <F|P> <text>` per line; P marks a partial line continued by the next
 * record.
 */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LogLine {
  time: string;
  stream: 'stdout' | 'stderr';
  text: string;
}

/** Complete lines of a log file's text, partial records joined. */
export function parseLog(text: string): LogLine[] {
  const out: LogLine[] = [];
  let pending: LogLine | undefined;
  for (const record of text.split('\n')) {
    if (record === '') continue;
    const a = record.indexOf(' ');
    const b = record.indexOf(' ', a + 1);
    const c = record.indexOf(' ', b + 1);
    if (a < 0 || b < 0 || c < 0) continue;
    const time = record.slice(0, a);
    const stream = record.slice(a + 1, b) === 'stderr' ? 'stderr' : 'stdout';
    const tag = record.slice(b + 1, c);
    const body = record.slice(c + 1);
    if (pending && pending.stream === stream) pending.text += body;
    else pending = { time, stream, text: body };
    if (tag === 'F') {
      out.push({ ...pending, text: `${pending.text}\n` });
      pending = undefined;
    }
  }
  if (pending) out.push(pending);
  return out;
}

export interface ReadLogOptions {
  tail?: number;
  follow?: boolean;
  /** While following: stop once this says the container is gone and the file is drained. */
  done?: () => boolean;
  signal?: AbortSignal;
}

export async function* readLog(file: string, options: ReadLogOptions = {}): AsyncGenerator<LogLine> {
  let offset = 0;
  let carry = '';
  let first = true;
  for (;;) {
    // The first read starts with the rotated files, oldest first.
    let chunk = first ? rotatedText(file) : '';
    try {
      const st = fs.statSync(file);
      if (st.size < offset) offset = 0; // the log was started anew (size limit): read it from the top
      if (st.size > offset) {
        const fd = fs.openSync(file, 'r');
        try {
          const buf = Buffer.alloc(st.size - offset);
          fs.readSync(fd, buf, 0, buf.length, offset);
          offset = st.size;
          chunk += buf.toString('utf8');
        } finally {
          fs.closeSync(fd);
        }
      }
    } catch {
      // No log yet: the container has written nothing.
    }
    const text = carry + chunk;
    const cut = text.lastIndexOf('\n') + 1;
    carry = text.slice(cut);
    let lines = parseLog(text.slice(0, cut));
    if (first && options.tail !== undefined && options.tail >= 0)
      lines = lines.slice(Math.max(0, lines.length - options.tail));
    first = false;
    for (const line of lines) yield line;
    if (!options.follow) return;
    if (options.done?.() && chunk === '') return;
    options.signal?.throwIfAborted();
    await sleep(50, undefined, { signal: options.signal });
  }
}

/** Rotated logs are kept as <file>.1 (newest) … <file>.<count>. */
function rotatedText(file: string): string {
  let text = '';
  for (let n = LOG_FILES - 1; n >= 1; n--) {
    try {
      text += fs.readFileSync(`${file}.${n}`, 'utf8');
    } catch {
      // Not rotated that far yet.
    }
  }
  return text;
}

/** Bytes a log file may reach before it is rotated, and how many files are kept in all. */
export const LOG_MAX_BYTES = 10 * 1024 * 1024;
export const LOG_FILES = 3;

/**
 * Rotates a container's log when it has passed `maxBytes`: older files shift up, the current
 * one becomes <file>.1, and conmon is told through its ctl FIFO ("2 0 0") to start a new one —
 * conmon empties whatever is at the log path, so the old file must be moved away first.
 */
export function rotateLog(bundle: string, file: string, maxBytes = LOG_MAX_BYTES): boolean {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    return false;
  }
  if (size <= maxBytes) return false;
  for (let n = LOG_FILES - 1; n >= 1; n--) {
    try {
      fs.renameSync(n === 1 ? file : `${file}.${n - 1}`, `${file}.${n}`);
    } catch {
      // A missing older file is fine.
    }
  }
  try {
    const ctl = fs.openSync(`${bundle}/ctl`, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    try {
      fs.writeSync(ctl, '2 0 0\n');
    } finally {
      fs.closeSync(ctl);
    }
  } catch {
    // conmon is gone: nothing writes to the log any more.
  }
  return true;
}
