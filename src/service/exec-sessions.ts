/**
 * Exec instances, which Docker's API makes in two steps (`POST /containers/{id}/exec`, then
 * `POST /exec/{id}/start`) and reads back after (`GET /exec/{id}/json`: clients take the exit
 * status from there once the stream has closed). They live in this process's memory only: an
 * instance is a client's handle on one command, worth keeping for as long as a client may
 * still ask about it, and forgotten some minutes after its command ended (or, never started,
 * some time after it was made).
 */
import { randomBytes } from 'node:crypto';
import type { ExecProcess } from '../engine.js';
import { FailedPrecondition, NotFound } from '../engine.js';

/** After its command ended, an instance is kept this long for a client to read its status. */
const KEEP_ENDED_MS = 5 * 60_000;
/** An instance nobody started is dropped after this long. */
const KEEP_UNSTARTED_MS = 30 * 60_000;

export interface ExecConfig {
  cmd: string[];
  tty: boolean;
  env: string[];
  user: string;
  workdir: string;
  privileged: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  detachKeys: string;
}

export interface ExecSession {
  id: string;
  containerId: string;
  config: ExecConfig;
  state: 'created' | 'running' | 'exited';
  pid: number;
  /** Final once set: the status clients read after the stream closed. */
  exitCode: number | null;
  process?: ExecProcess;
  /** A window size asked for before the command's tty existed. */
  pendingSize?: { rows: number; cols: number };
}

export class ExecSessions {
  private readonly sessions = new Map<string, ExecSession>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  create(containerId: string, config: ExecConfig): ExecSession {
    const session: ExecSession = {
      id: randomBytes(32).toString('hex'),
      containerId,
      config,
      state: 'created',
      pid: 0,
      exitCode: null,
    };
    this.sessions.set(session.id, session);
    this.forgetAfter(session.id, KEEP_UNSTARTED_MS);
    return session;
  }

  /** By full ID or unique prefix, as Docker finds them. */
  get(id: string): ExecSession {
    const found = this.sessions.get(id) ?? this.byPrefix(id);
    if (!found) throw new NotFound(`No such exec instance: ${id}`, { code: 'EXEC_NOT_FOUND' });
    return found;
  }

  private byPrefix(prefix: string): ExecSession | undefined {
    if (!/^[0-9a-f]{1,63}$/.test(prefix)) return undefined;
    const matches = [...this.sessions.values()].filter((s) => s.id.startsWith(prefix));
    return matches.length === 1 ? matches[0] : undefined;
  }

  /** Marks it started; a second start of one instance is refused, as Docker does. */
  claim(session: ExecSession): void {
    if (session.state !== 'created')
      throw new FailedPrecondition(
        session.state === 'running'
          ? `Error: Exec command ${session.id} is already running`
          : `Error: Exec command ${session.id} has already run`,
        { code: 'EXEC_STARTED' },
      );
    session.state = 'running';
    clearTimeout(this.timers.get(session.id));
  }

  /** The command runs: its pid, and a window size asked for before. */
  running(session: ExecSession, process: ExecProcess): void {
    session.process = process;
    session.pid = process.pid;
    if (session.pendingSize) process.resize(session.pendingSize.rows, session.pendingSize.cols);
  }

  /** The command is over (or never ran): the status clients read, kept for a while. */
  ended(session: ExecSession, exitCode: number): void {
    session.state = 'exited';
    session.exitCode = exitCode;
    session.process = undefined;
    this.forgetAfter(session.id, KEEP_ENDED_MS);
  }

  resize(session: ExecSession, rows: number, cols: number): void {
    if (session.process) session.process.resize(rows, cols);
    else session.pendingSize = { rows, cols };
  }

  private forgetAfter(id: string, ms: number): void {
    clearTimeout(this.timers.get(id));
    const timer = setTimeout(() => {
      this.sessions.delete(id);
      this.timers.delete(id);
    }, ms);
    // The service's own lifetime is its listener's business, not these timers'.
    timer.unref();
    this.timers.set(id, timer);
  }

  /** The service is stopping: no timer outlives it. */
  closeAll(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.sessions.clear();
  }
}
