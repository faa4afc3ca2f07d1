/**
 * Starting a container through conmon (docs/runtime.md#conmon-command-line, #conmon-pipes):
 * conmon holds the container's stdio, writes its log and its exit code, and outlives us, so no
 * skiff process stays behind.
 * We talk to it over two pipes: a start byte (fd 4) and one JSON line back (fd 3) carrying the
 * container's pid or the runtime's error.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { FailedPrecondition, SkiffError } from '../util/errors.js';
import { programPath } from '../util/programs.js';

export interface ConmonOptions {
  id: string;
  bundle: string;
  runtimePath: string;
  logPath: string;
  exitDir: string;
  tty: boolean;
  stdin: boolean;
  /** Bytes after which conmon starts the log anew. */
  logSizeMax?: number;
  /** Run after the exit file is written (skiff's cleanup: --rm, restart policies). */
  exitCommand?: string[];
}

/** The runtime could not start the process: 127 when not found, 126 when not runnable. */
export class CannotRun extends SkiffError {
  readonly status: number;
  constructor(message: string, status: number) {
    super(status === 127 ? 'COMMAND_NOT_FOUND' : 'COMMAND_CANNOT_RUN', 'failed_precondition', message);
    this.status = status;
  }
}

export function conmonArgs(o: ConmonOptions): string[] {
  const args = [
    '--api-version',
    '1',
    '-c',
    o.id,
    '-u',
    o.id,
    '-r',
    o.runtimePath,
    '-b',
    o.bundle,
    '-p',
    path.join(o.bundle, 'pidfile'),
    '-n',
    o.id,
    '--exit-dir',
    o.exitDir,
    '--full-attach',
    '-l',
    `k8s-file:${o.logPath}`,
    '--log-level',
    'warning',
    '--conmon-pidfile',
    path.join(o.bundle, 'conmon.pid'),
    '--runtime-arg',
    '--log-format=json',
    '--runtime-arg',
    '--log',
    `--runtime-arg=${path.join(o.bundle, 'oci-log')}`,
  ];
  if (o.logSizeMax !== undefined) args.push('--log-size-max', String(o.logSizeMax));
  if (o.tty) args.push('-t');
  if (o.stdin) args.push('-i');
  if (o.exitCommand && o.exitCommand.length > 0) {
    args.push('--exit-command', o.exitCommand[0]!);
    for (const arg of o.exitCommand.slice(1)) args.push('--exit-command-arg', arg);
  }
  return args;
}

/** Creates the container (runtime `create` under conmon); resolves to its pid and conmon's. */
export async function createContainer(o: ConmonOptions): Promise<{ pid: number; conmonPid: number }> {
  fs.mkdirSync(o.exitDir, { recursive: true });
  const child = spawn(programPath('conmon'), conmonArgs(o), {
    cwd: o.bundle,
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    env: {
      PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      _OCI_SYNCPIPE: '3',
      _OCI_STARTPIPE: '4',
    },
  });
  const stderr: Buffer[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  const sync = child.stdio[3] as Readable;
  const start = child.stdio[4] as Writable;
  try {
    start.end(Buffer.from([0]));
    const line = await firstLine(sync);
    if (line === undefined) {
      const why = Buffer.concat(stderr).toString().trim() || runtimeLog(o.bundle) || 'no reason given';
      throw new FailedPrecondition(`create container \`${o.id.slice(0, 12)}\`: conmon exited: ${why}`);
    }
    const reply = JSON.parse(line) as { data: number; message?: string };
    if (reply.data < 0) {
      const message = (runtimeLog(o.bundle) || reply.message || 'runtime failed').trim();
      throw runtimeError(message);
    }
    const conmonPid = Number(fs.readFileSync(path.join(o.bundle, 'conmon.pid'), 'utf8').trim());
    return { pid: reply.data, conmonPid };
  } finally {
    // conmon keeps its end open until the container dies: let go of ours now.
    sync.destroy();
    child.stderr!.destroy();
    child.unref();
  }
}

function firstLine(stream: Readable): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const nl = text.indexOf('\n');
      if (nl >= 0) {
        cleanup();
        resolve(text.slice(0, nl));
      }
    };
    const onEnd = () => {
      cleanup();
      resolve(text.trim() === '' ? undefined : text.trim());
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('close', onEnd);
    stream.on('error', onError);
  });
}

/** The last error the runtime wrote to its JSON log, without the JSON. */
function runtimeLog(bundle: string): string {
  let text: string;
  try {
    text = fs.readFileSync(path.join(bundle, 'oci-log'), 'utf8');
  } catch {
    return '';
  }
  const lines = text.trim().split('\n').filter(Boolean);
  for (const line of lines.reverse()) {
    try {
      const entry = JSON.parse(line) as { msg?: string; level?: string };
      if (entry.level === 'error' && entry.msg) return entry.msg;
    } catch {
      return line;
    }
  }
  return '';
}

/** Maps the runtime's message to Docker's statuses: 127 not found, 126 cannot run. */
export function runtimeError(message: string): SkiffError {
  const short = message.replace(/\s+/g, ' ').trim();
  if (/not found in \$PATH|no such file or directory/i.test(short) && /exec|executable/i.test(short)) {
    return new CannotRun(short, 127);
  }
  if (/permission denied|exec format error|is a directory|open executable/i.test(short))
    return new CannotRun(short, 126);
  return new FailedPrecondition(`create container: ${short}`, { code: 'RUNTIME_FAILED' });
}
