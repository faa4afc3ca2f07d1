/**
 * An exec's output on its way to the caller's streams: several sources may share one stream
 * (stdout and the runtime's stderr with a tty), each stream is ended once its last source has,
 * and the copy keeps to the stream's pace. Once the process has exited, a source that stays
 * silent for `graceMs` while nothing holds it back is cut: a process that left a daemon
 * holding its stdout would otherwise keep the exec open for as long as the daemon lives. A
 * source paused because its reader is slow is never cut; its output is still to come.
 */
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

class Join {
  readonly into = new PassThrough();
  readonly done: Promise<void>;
  private open = 0;
  private sealed = false;

  constructor(dest: Writable) {
    this.done = pipeline(this.into, dest).catch(() => undefined);
  }

  add(source: Readable): void {
    this.open++;
    source.pipe(this.into, { end: false });
    // A destination that failed no longer takes anything: drain the source instead.
    this.into.once('close', () => source.resume());
    source.once('end', () => {
      this.open--;
      this.maybeEnd();
    });
  }

  seal(): void {
    this.sealed = true;
    this.maybeEnd();
  }

  private maybeEnd(): void {
    if (this.sealed && this.open === 0 && !this.into.writableEnded) this.into.end();
  }
}

export class ExecOutput {
  private readonly sources: { source: Readable; last: number }[] = [];
  private readonly joins = new Map<Writable, Join>();
  private readonly drained: Promise<void>[] = [];

  constructor(private readonly graceMs: number) {}

  /** Copies `source` to `dest` (drains it when there is no `dest`). */
  add(source: Readable | null | undefined, dest: Writable | undefined): void {
    if (!source) return;
    const entry = { source, last: Date.now() };
    this.sources.push(entry);
    const clean = endOnClose(source, () => (entry.last = Date.now()));
    if (!dest) {
      this.drained.push(new Promise((resolve) => clean.once('end', resolve)));
      clean.resume();
      return;
    }
    let join = this.joins.get(dest);
    if (!join) this.joins.set(dest, (join = new Join(dest)));
    join.add(clean);
  }

  /** The process has exited and no source will be added: resolves once everything is written. */
  async finish(): Promise<void> {
    for (const join of this.joins.values()) join.seal();
    const exited = Date.now();
    const cut = setInterval(
      () => {
        const now = Date.now();
        for (const e of this.sources) {
          const silent = now - Math.max(e.last, exited) >= this.graceMs;
          if (silent && !e.source.isPaused()) e.source.destroy();
        }
      },
      Math.max(10, this.graceMs / 4),
    );
    try {
      await Promise.all([...this.drained, ...[...this.joins.values()].map((j) => j.done)]);
    } finally {
      clearInterval(cut);
    }
  }
}

/**
 * `source` as a stream that ends, rather than fails, when the source closes or errors: a pty
 * master reads EIO once the last process holding the other end is gone, and a pipe cut after
 * the grace period is closed in the middle. A reader that went away no longer holds it back.
 */
function endOnClose(source: Readable, onData: () => void): Readable {
  const out = new PassThrough();
  const end = () => {
    if (!out.writableEnded && !out.destroyed) out.end();
  };
  source.on('data', (chunk: Buffer) => {
    onData();
    if (out.destroyed || out.writableEnded) return;
    if (!out.write(chunk)) {
      source.pause();
      out.once('drain', () => source.resume());
    }
  });
  out.once('close', () => source.resume());
  source.once('end', end);
  source.once('close', end);
  source.once('error', end);
  return out;
}
