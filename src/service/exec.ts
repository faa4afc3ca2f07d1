/**
 * Exec: `POST /containers/{id}/exec` makes an instance, `POST /exec/{id}/start` runs it and
 * streams it, `GET /exec/{id}/json` reads it back, `POST /exec/{id}/resize` sizes its tty.
 *
 * Start takes the connection over like attach: with `Upgrade: tcp` (the CLI, compose,
 * docker-py) a 101 and a raw socket both ways, where the command's stdin follows the JSON body
 * on the same connection and a half-close is its EOF; without (testcontainers) a 200 whose
 * body is the output until the connection closes. Output is framed without a tty, raw with
 * one. The exit status is recorded before the stream closes: clients read it from
 * `/exec/{id}/json` as soon as they see the end. A command that cannot run (testcontainers
 * tries `/bin/bash` in busybox) is not an HTTP error: its reason comes on stderr and its
 * status is 127 or 126, as Docker does.
 */
import type { Engine, ExecOptions, ExecProcess, ExecStreams } from '../engine.js';
import { FailedPrecondition, InvalidArgument } from '../engine.js';
import type { ExecConfig, ExecSession, ExecSessions } from './exec-sessions.js';
import { sendEmpty, sendJson } from './respond.js';
import { int, jsonBody, type Context, type Router } from './router.js';
import { frame, hijack, outputStream, upgradeBody } from './streams.js';

export { ExecSessions } from './exec-sessions.js';

export function execRoutes(router: Router, engine: Engine, sessions: ExecSessions): void {
  router
    .add('POST', '/containers/{id}/exec', async (ctx) => {
      const body = object(await jsonBody(ctx.req));
      const config = execConfig(body);
      const row = engine.container(ctx.params['id']!);
      if (row.state !== 'running')
        throw new FailedPrecondition(`Container ${row.id} is not running`, { code: 'CONTAINER_NOT_RUNNING' });
      if (row.paused)
        throw new FailedPrecondition(`Container ${row.id} is paused, unpause the container before exec`);
      const session = sessions.create(row.id, config);
      // API 1.42's initial window size; applied as soon as the tty exists.
      const size = body['ConsoleSize'];
      if (Array.isArray(size) && size.length === 2 && size.every((n) => Number.isInteger(n) && n > 0))
        session.pendingSize = { rows: size[0] as number, cols: size[1] as number };
      sendJson(ctx, 201, { Id: session.id });
    })
    .add('POST', '/exec/{id}/start', (ctx) => start(engine, sessions, ctx))
    .add('GET', '/exec/{id}/json', (ctx) => sendJson(ctx, 200, execInspect(sessions.get(ctx.params['id']!))))
    .add('POST', '/exec/{id}/resize', (ctx) => {
      const session = sessions.get(ctx.params['id']!);
      const { rows, cols } = windowSize(ctx.query);
      sessions.resize(session, rows, cols);
      sendEmpty(ctx, 200);
    });
}

/** A JSON body's fields; none for an empty body (or anything but an object). */
function object(body: unknown): Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : {};
}

/** `h` and `w` of a resize, both required. */
export function windowSize(query: URLSearchParams): { rows: number; cols: number } {
  const rows = int(query, 'h');
  const cols = int(query, 'w');
  if (rows === undefined || cols === undefined || rows < 0 || cols < 0)
    throw new InvalidArgument('resize: `h` and `w` must be given as non-negative integers');
  return { rows, cols };
}

function execConfig(b: Record<string, unknown>): ExecConfig {
  const cmd = typeof b['Cmd'] === 'string' ? [b['Cmd']] : b['Cmd'];
  if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every((c) => typeof c === 'string'))
    throw new InvalidArgument('No exec command specified');
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((e) => typeof e === 'string') : []);
  return {
    cmd: cmd as string[],
    tty: b['Tty'] === true,
    env: strings(b['Env']),
    user: typeof b['User'] === 'string' ? b['User'] : '',
    workdir: typeof b['WorkingDir'] === 'string' ? b['WorkingDir'] : '',
    privileged: b['Privileged'] === true,
    attachStdin: b['AttachStdin'] === true,
    attachStdout: b['AttachStdout'] === true,
    attachStderr: b['AttachStderr'] === true,
    detachKeys: typeof b['DetachKeys'] === 'string' ? b['DetachKeys'] : '',
  };
}

async function start(engine: Engine, sessions: ExecSessions, ctx: Context): Promise<void> {
  const session = sessions.get(ctx.params['id']!);
  // Exactly the body's bytes: with an upgrade, what follows is already the command's stdin.
  const body = object(ctx.upgrade ? await upgradeBody(ctx) : await jsonBody(ctx.req));
  const config = session.config;
  // The process's tty is the one asked for at create; the framing follows the start (moby).
  const framedTty = typeof body['Tty'] === 'boolean' ? body['Tty'] : config.tty;
  const detach = body['Detach'] === true;
  sessions.claim(session);

  const options = {
    tty: config.tty,
    env: config.env,
    user: config.user || undefined,
    workdir: config.workdir || undefined,
    privileged: config.privileged,
  };
  if (detach) {
    const exec = await startOrEnd(engine, sessions, session, options, {});
    void exec.exited.then((status) => sessions.ended(session, status));
    sendEmpty(ctx, 200);
    return;
  }
  // A container that stopped is an HTTP error; anything later comes in the stream.
  if (engine.container(session.containerId).state !== 'running') {
    sessions.ended(session, 126);
    throw new FailedPrecondition(`Container ${session.containerId} is not running`, {
      code: 'CONTAINER_NOT_RUNNING',
    });
  }
  // The answer goes out before the command starts, as dockerd's does: docker-py reads the
  // stream from the raw socket after the headers, so output sent along with them (in what its
  // buffered reader takes in one read) would be lost to it.
  const socket = hijack(ctx, framedTty);
  const streams = {
    stdin: config.attachStdin ? ctx.upgrade?.socket : undefined,
    stdout: config.attachStdout ? outputStream(socket, 1, framedTty) : undefined,
    // With a tty there is one output: the command's stderr is on it.
    stderr: config.attachStderr && !config.tty ? outputStream(socket, 2, framedTty) : undefined,
  };
  let status: number;
  let failure: Error | undefined;
  try {
    const exec = await startOrEnd(engine, sessions, session, options, streams);
    status = await exec.exited;
    // The runtime wrote why on the command's stderr (or tty); without either, it is told here.
    if (!config.attachStderr && !config.tty) failure = exec.failure;
  } catch (err) {
    // What Docker reports from the runtime (a user the container does not have): status 126.
    status = 126;
    failure = err as Error;
  }
  sessions.ended(session, status);
  if (failure && !socket.destroyed) {
    const text = Buffer.from(`${failure.message}\n`);
    socket.write(framedTty ? text : frame(streams.stderr ? 2 : 1, text));
  }
  socket.end();
  // Read what the client still sends (it may never half-close) so the connection can finish.
  socket.resume();
}

/** The command started and the instance marked running; ended with 126 if it cannot start. */
async function startOrEnd(
  engine: Engine,
  sessions: ExecSessions,
  session: ExecSession,
  options: ExecOptions,
  streams: ExecStreams,
): Promise<ExecProcess> {
  try {
    const exec = await engine.startExec(session.containerId, session.config.cmd, { ...options, streams });
    sessions.running(session, exec);
    return exec;
  } catch (err) {
    sessions.ended(session, 126);
    throw err;
  }
}

/** `GET /exec/{id}/json`, the fields clients read. */
export function execInspect(s: ExecSession): Record<string, unknown> {
  return {
    ID: s.id,
    Running: s.state === 'running',
    ExitCode: s.exitCode,
    ProcessConfig: {
      tty: s.config.tty,
      entrypoint: s.config.cmd[0],
      arguments: s.config.cmd.slice(1),
      privileged: s.config.privileged,
      user: s.config.user,
    },
    OpenStdin: s.config.attachStdin,
    OpenStderr: s.config.attachStderr,
    OpenStdout: s.config.attachStdout,
    CanRemove: false,
    ContainerID: s.containerId,
    DetachKeys: s.config.detachKeys,
    Pid: s.pid,
  };
}
