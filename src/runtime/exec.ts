/**
 * `runtime exec`: a command in a running container, run by the container's own OCI runtime
 * (crun, or runc) as a child of this process. Two ways to join it:
 *
 * - `'inherit'`: this process's stdio, handed to the command itself (the CLI's `skiff exec`);
 *   with a tty the runtime makes one from this terminal.
 * - streams: pipes, or with a tty the pty master crun passes over `--console-socket` (runc
 *   would want this process's own terminal: refused), copied to and from the caller's
 *   streams (the API service's exec start). Output keeps to the pace of its reader.
 *
 * The process is built from the container's config.json (exec-process.ts). The runtime's own
 * failure — the command does not exist or cannot be executed — is read from its JSON log, not
 * guessed from the output, and becomes Docker's 127 or 126.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { FailedPrecondition, type SkiffError } from '../util/errors.js';
import { allCapabilities } from './capabilities.js';
import { listenConsole, type Console, type ConsoleSocket } from './console-socket.js';
import { CannotRun, runtimeError } from './conmon.js';
import { ExecOutput } from './exec-output.js';
import { execProcess, type ExecOptions } from './exec-process.js';
import type { OciSpec } from './spec.js';
import { resolveUser } from './user.js';

export type { ExecOptions } from './exec-process.js';

/** After the process exits, a pause this long in its output ends the output (exec-output.ts). */
const OUTPUT_GRACE_MS = 1000;

export interface ExecTarget {
  id: string;
  /** The container's runtime binary (crun or runc). */
  runtimePath: string;
  bundle: string;
}

export interface ExecStreams {
  /** Copied to the command; its end is the command's EOF (with a tty nothing is sent). */
  stdin?: Readable;
  /** The command's output (all of it with a tty); absent: discarded. Ended once the output is over. */
  stdout?: Writable;
  /** Ignored with a tty. Ended once the output is over. */
  stderr?: Writable;
}

export interface ExecProcess {
  /** The command's pid on the host; 0 when it never started. */
  pid: number;
  /**
   * Its exit status once it has exited and its output has all been written (never rejects):
   * 127 when the command does not exist and 126 when it cannot run, as Docker's.
   */
  exited: Promise<number>;
  /** Why the runtime could not run the command, once `exited` has resolved. */
  readonly failure: SkiffError | undefined;
  /** The window size of its tty (streams with a tty only; otherwise nothing happens). */
  resize(rows: number, cols: number): void;
}

/** Starts `command` in the running container `target`; resolves once it runs. */
export async function startExec(
  target: ExecTarget,
  command: string[],
  options: ExecOptions,
  io: ExecStreams | 'inherit',
): Promise<ExecProcess> {
  const config = JSON.parse(fs.readFileSync(path.join(target.bundle, 'config.json'), 'utf8')) as OciSpec;
  const spec = execProcess(config.process, command, options, {
    user: (user) => resolveUser(config.root.path, user),
    capabilities: () => allCapabilities(),
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-exec-'));
  try {
    return await run(target, dir, spec, io);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function run(
  target: ExecTarget,
  dir: string,
  spec: OciSpec['process'],
  io: ExecStreams | 'inherit',
): Promise<ExecProcess> {
  const tty = spec.terminal === true;
  const streams: ExecStreams = io === 'inherit' ? {} : io;
  const files = {
    process: path.join(dir, 'process.json'),
    pid: path.join(dir, 'pid'),
    log: path.join(dir, 'log'),
  };
  fs.writeFileSync(files.process, JSON.stringify(spec));
  // runc hands a tty's master over only when it detaches, and a detached command's status is
  // lost to whoever reaps it; in the foreground it wants this process's own terminal.
  if (tty && io !== 'inherit' && path.basename(target.runtimePath) === 'runc')
    throw new FailedPrecondition(
      `exec in \`${target.id.slice(0, 12)}\`: a tty for an exec joined to streams needs crun; this container runs on runc`,
      { code: 'RUNTIME_FAILED' },
    );
  const consoleSocket: ConsoleSocket | undefined =
    tty && io !== 'inherit' ? await listenConsole(path.join(dir, 'console')) : undefined;
  const args = [`--log=${files.log}`, '--log-format=json', 'exec', '--process', files.process];
  args.push('--pid-file', files.pid);
  if (consoleSocket) args.push('--console-socket', consoleSocket.path);
  args.push(target.id);

  const out = (w: Writable | undefined) => (w ? 'pipe' : 'ignore');
  const child = spawn(target.runtimePath, args, {
    stdio:
      io === 'inherit'
        ? ['inherit', 'inherit', tty ? 'inherit' : 'pipe']
        : [
            streams.stdin ? 'pipe' : 'ignore',
            consoleSocket ? 'ignore' : out(streams.stdout),
            // With a console the command's output is on the pty; what comes here is the runtime's.
            consoleSocket ? out(streams.stdout) : out(tty ? streams.stdout : streams.stderr),
          ],
  });
  let failure: SkiffError | undefined;
  let exitedAt: number | undefined;
  const exit = new Promise<number>((resolve) => {
    child.once('error', (err) => {
      exitedAt ??= Date.now();
      failure ??= new FailedPrecondition(`exec in \`${target.id.slice(0, 12)}\`: ${err.message}`, {
        code: 'RUNTIME_FAILED',
      });
      resolve(126);
    });
    child.once('exit', (code, signal) => {
      exitedAt ??= Date.now();
      resolve(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 1));
    });
  });
  // The runtime's log is complete once it has exited.
  const judged = exit.then(() => {
    const reason = runtimeFailure(files.log);
    if (reason === undefined || failure !== undefined) return failure;
    const error = runtimeError(reason);
    failure =
      error instanceof CannotRun
        ? error
        : new FailedPrecondition(`exec in \`${target.id.slice(0, 12)}\`: ${reason}`, {
            code: 'RUNTIME_FAILED',
          });
    return failure;
  });

  const output = new ExecOutput(OUTPUT_GRACE_MS);
  const copies: Promise<void>[] = [];
  let stopInput: (() => void) | undefined;
  if (io === 'inherit') {
    if (child.stderr) copies.push(holdRuntimeErrors(child.stderr, judged));
  } else {
    if (!consoleSocket) {
      output.add(child.stdout, streams.stdout);
      output.add(child.stderr, tty ? streams.stdout : streams.stderr);
      const stdin = child.stdin;
      if (streams.stdin && stdin) stopInput = feed(streams.stdin, stdin, () => stdin.end());
    } else {
      output.add(child.stderr, streams.stdout);
    }
    // A tty has one output: a stderr stream given anyway is ended at once, never left open.
    if (tty) streams.stderr?.end();
  }

  let pendingSize: { rows: number; cols: number } | undefined;
  let master: Console | undefined;
  const consoleReady = consoleSocket?.console.then(
    (c) => {
      master = c;
      output.add(c.stream, streams.stdout);
      // A pty has no EOF to pass on. The end of its input is taken as the terminal going away,
      // as when an ssh client disconnects: the master is closed and the process gets SIGHUP.
      // (A killed client's connection reads as a half-close too; a shell would wait forever.)
      if (streams.stdin) stopInput = feed(streams.stdin, c.stream, () => c.stream.destroy());
      if (pendingSize) c.resize(pendingSize.rows, pendingSize.cols);
    },
    () => undefined,
  );

  const pid = await waitForPid(files.pid, () => exitedAt !== undefined);

  const exited = (async () => {
    let status = await exit;
    await judged;
    consoleSocket?.close();
    await consoleReady;
    try {
      await Promise.all([output.finish(), ...copies]);
    } finally {
      stopInput?.();
      child.stdin?.destroy();
    }
    fs.rmSync(dir, { recursive: true, force: true });
    if (failure) status = failure instanceof CannotRun ? failure.status : 126;
    return status;
  })();

  return {
    pid,
    exited,
    get failure() {
      return failure;
    },
    resize(rows, cols) {
      if (master) master.resize(rows, cols);
      else pendingSize = { rows, cols };
    },
  };
}

/** The pid the runtime writes once the process exists; 0 if it exits before. */
async function waitForPid(file: string, over: () => boolean): Promise<number> {
  for (let delay = 1; ; delay = Math.min(delay * 2, 10)) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8').trim();
    } catch {
      // Not written yet.
    }
    if (/^\d+$/.test(text)) return Number(text);
    if (over()) return 0;
    await sleep(delay);
  }
}

/**
 * Copies `input` into `sink` at the sink's pace; `onEnd` runs once the input ends, fails or
 * closes (the client half-closed, or went away). Returns the function that stops copying.
 */
function feed(input: Readable, sink: Writable, onEnd: () => void): () => void {
  const onData = (chunk: Buffer) => {
    if (sink.destroyed || sink.writableEnded) return;
    if (!sink.write(chunk)) {
      input.pause();
      sink.once('drain', () => input.resume());
    }
  };
  const over = () => {
    stop();
    onEnd();
  };
  const stop = () => {
    input.off('data', onData);
    input.off('end', over);
    input.off('close', over);
    input.off('error', over);
  };
  // The command may exit without reading all of it: EPIPE is not an error of ours.
  sink.on('error', () => {});
  input.on('data', onData);
  input.once('end', over);
  input.once('close', over);
  input.once('error', over);
  // A stream paused by whoever read its first bytes (the request body before stdin) flows now.
  input.resume();
  return stop;
}

/**
 * The runtime's stderr passed to ours, except a line that reads like its own exec failure:
 * held back until the exit, and dropped when the log confirms the failure, which the CLI then
 * reports as its one error line.
 */
function holdRuntimeErrors(stderr: Readable, judged: Promise<SkiffError | undefined>): Promise<void> {
  return new Promise((resolve) => {
    let held: Buffer | undefined;
    stderr.on('data', (chunk: Buffer) => {
      if (held) process.stderr.write(held);
      held = runtimeError(chunk.toString('utf8')) instanceof CannotRun ? chunk : undefined;
      if (!held) process.stderr.write(chunk);
    });
    stderr.once('close', () => {
      void judged.then((failure) => {
        if (held && failure === undefined) process.stderr.write(held);
        resolve();
      });
    });
  });
}

/** The last error the runtime wrote to its JSON log, or undefined. */
function runtimeFailure(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let found: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; level?: string };
      if (entry.level === 'error' && entry.msg) found = entry.msg;
    } catch {
      found = line.trim();
    }
  }
  return found;
}
