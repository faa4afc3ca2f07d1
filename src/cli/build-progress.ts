/**
 * `skiff build --progress=tty`, the default on a terminal: one line per step, redrawn in
 * place with its running time while it works, `CACHED` for a step taken from the cache, and
 * a RUN's output dimmed and indented under its step. Plain output (`Step 2/6 : …`, as the
 * classic `docker build`) is for logs; json for programs.
 */
import { Writable } from 'node:stream';
import type { BuildEvent } from '../engine.js';

const DIM = '\x1b[2m';
const BLUE = '\x1b[34m';
const RESET = '\x1b[0m';
const CLEAR_LINE = '\r\x1b[2K';

export class TtyProgress {
  private readonly steps = new Map<number, { text: string; total: number; started: number }>();
  /** The step whose line is the last one on the screen, unfinished; redrawn by the timer. */
  private open: number | undefined;
  private readonly timer: NodeJS.Timeout;
  /** Where RUN output goes: under its step, dimmed and indented. */
  readonly output: Writable;

  constructor(
    private readonly write: (text: string) => void,
    private readonly explain: boolean,
  ) {
    this.timer = setInterval(() => this.redraw(), 100);
    this.timer.unref();
    let partial = '';
    this.output = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop()!;
        if (lines.length > 0) {
          this.closeLine();
          this.write(lines.map((l) => `${DIM}    ${l}${RESET}\n`).join(''));
        }
        done();
      },
      final: (done) => {
        if (partial !== '') this.write(`${DIM}    ${partial}${RESET}\n`);
        done();
      },
    });
  }

  onEvent(e: BuildEvent): void {
    switch (e.type) {
      case 'step':
        this.closeLine();
        this.steps.set(e.index, { text: e.text.split('\n')[0]!, total: e.total, started: performance.now() });
        this.open = e.index;
        this.write(this.line(e.index, ''));
        break;
      case 'cached':
        this.finish(e.index, 'CACHED ', '');
        break;
      case 'miss':
        if (this.explain) {
          this.closeLine();
          this.write(`${DIM}    cache miss: ${e.why}${RESET}\n`);
        }
        break;
      case 'done':
        this.finish(e.index, '', e.ms > 0 ? `${(e.ms / 1000).toFixed(1)}s` : '');
        break;
    }
  }

  /** Stops the timer; the last line is ended. */
  close(): void {
    clearInterval(this.timer);
    this.closeLine();
  }

  private finish(index: number, prefix: string, time: string): void {
    const text = this.line(index, time, prefix);
    if (this.open === index) {
      this.write(`${CLEAR_LINE}${text}\n`);
      this.open = undefined;
    } else {
      this.closeLine();
      this.write(`${text}\n`);
    }
  }

  private redraw(): void {
    if (this.open === undefined) return;
    const step = this.steps.get(this.open)!;
    this.write(
      CLEAR_LINE + this.line(this.open, `${((performance.now() - step.started) / 1000).toFixed(1)}s`),
    );
  }

  private closeLine(): void {
    if (this.open === undefined) return;
    this.write('\n');
    this.open = undefined;
  }

  private line(index: number, time: string, prefix = ''): string {
    const step = this.steps.get(index)!;
    const width = Math.max(40, (process.stdout.columns || 100) - 10);
    const head = `${BLUE}=>${RESET} ${prefix}[${index}/${step.total}] ${step.text}`;
    const plain = `=> ${prefix}[${index}/${step.total}] ${step.text}`;
    const clipped =
      plain.length > width ? `${head.slice(0, head.length - (plain.length - width) - 1)}…` : head;
    return time === '' ? clipped : `${clipped}  ${DIM}${time}${RESET}`;
  }
}
