/**
 * The unix socket and the HTTP server on it. The socket is made 0660, owned by root and group
 * `skiff` when that group exists: whoever can write to it can run privileged containers, so
 * it is as good as root. Only unix:// for now; a TCP listener would need TLS with client
 * certificates. The socket file is removed on SIGTERM and SIGINT.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { FailedPrecondition, InvalidArgument, type Engine } from '../engine.js';
import { AttachSessions } from './attach-sessions.js';
import { containerRoutes } from './containers.js';
import { eventRoutes } from './events.js';
import { logRoutes } from './logs.js';
import { resourceRoutes } from './resources.js';
import { sendError } from './respond.js';
import { Router, type Context } from './router.js';
import { systemRoutes } from './system.js';

export const DEFAULT_URL = 'unix:///run/skiff/docker.sock';

/** What is read and dropped of a refused request body before the connection is cut. */
const DRAIN_LIMIT = 64 << 20;

export interface ServeOptions {
  /** unix:///path/to/socket. */
  url?: string;
  /** Exit after this many seconds without a connection; 0 or absent: never. */
  idleSeconds?: number;
  /** One line per failed request (a 500); default: ignored. */
  log?: (line: string) => void;
  /** Called once the socket is listening. */
  onListening?: (where: string) => void;
}

/** The socket path of a unix:// URL; anything else is refused. */
export function socketPath(url: string): string {
  if (url.startsWith('tcp://') || url.startsWith('http://') || url.startsWith('https://'))
    throw new InvalidArgument(
      `system service: \`${url}\`: a TCP listener needs TLS with client certificates, which is not supported yet; use unix://`,
      { code: 'USAGE' },
    );
  if (!url.startsWith('unix://') || url.length <= 'unix://'.length)
    throw new InvalidArgument(`system service: \`${url}\` is not a unix:// URL`, { code: 'USAGE' });
  return url.slice('unix://'.length);
}

export function routes(engine: Engine, sessions: AttachSessions): Router {
  const router = new Router();
  systemRoutes(router, engine);
  containerRoutes(router, engine, sessions);
  logRoutes(router, engine);
  eventRoutes(router, engine);
  resourceRoutes(router, engine);
  return router;
}

async function dispatch(
  router: Router,
  ctx: Omit<Context, 'params' | 'path'>,
  log: (line: string) => void,
): Promise<void> {
  const full: Context = { ...ctx, params: {}, path: '' };
  try {
    const url = new URL(ctx.req.url ?? '/', 'http://skiff');
    full.query = url.searchParams;
    const { handler, params, path } = router.match(ctx.method, url.pathname);
    full.params = params;
    full.path = path;
    await handler(full);
  } catch (err) {
    if (!(err instanceof Error && 'category' in err))
      log(`${ctx.method} ${ctx.req.url ?? ''}: ${String((err as Error).stack ?? err)}`);
    // The rest of a refused body is read and dropped (a client still sending would otherwise
    // fail on a reset before it reads the answer), up to a bound past which it is cut.
    if (full.res && !ctx.req.complete) {
      let dropped = 0;
      ctx.req.on('data', (chunk: Buffer) => {
        dropped += chunk.length;
        if (dropped > DRAIN_LIMIT) ctx.req.socket.destroy();
      });
      ctx.req.resume();
    }
    sendError(full, err);
  }
}

/** Removes a socket file left by a service that died; refuses when one is still serving. */
async function clearStale(file: string): Promise<void> {
  if (!fs.existsSync(file)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(file, () => {
      probe.destroy();
      resolve(true);
    });
    probe.on('error', () => resolve(false));
  });
  if (alive)
    throw new FailedPrecondition(`system service: \`${file}\` is already being served`, { code: 'IN_USE' });
  fs.rmSync(file, { force: true });
}

/** root:skiff 0660 (root-only 0600 ownership stays when there is no `skiff` group). */
function secure(file: string): void {
  fs.chmodSync(file, 0o660);
  const r = spawnSync('getent', ['group', 'skiff'], { encoding: 'utf8' });
  const gid = r.status === 0 ? Number(r.stdout.split(':')[2]) : NaN;
  if (Number.isInteger(gid)) fs.chownSync(file, 0, gid);
}

/** Serves the Docker API until SIGTERM or SIGINT (or the idle time); resolves once closed. */
export async function serve(engine: Engine, options: ServeOptions = {}): Promise<void> {
  const file = socketPath(options.url ?? DEFAULT_URL);
  const log = options.log ?? (() => {});
  const sessions = new AttachSessions();
  const router = routes(engine, sessions);
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    void dispatch(router, { method: req.method ?? 'GET', req, res, query: new URLSearchParams() }, log);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void dispatch(
      router,
      { method: req.method ?? 'GET', req, upgrade: { socket, head }, query: new URLSearchParams() },
      log,
    );
  });
  // Long streams (logs -f, events, attach) must not be cut by Node's request timeouts.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 5_000;

  // Socket activation (contrib/systemd/skiff.socket): systemd made the socket, with its
  // owner and mode, and hands it over as fd 3; it is systemd's to remove, not ours.
  const activated = process.env['LISTEN_FDS'] === '1' && process.env['LISTEN_PID'] === String(process.pid);
  if (activated) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ fd: 3 }, resolve);
    });
  } else {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    await clearStale(file);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Made 0600 by the umask until secure() widens it to the group: no moment when others can connect.
      const umask = process.umask(0o177);
      server.listen(file, () => {
        process.umask(umask);
        resolve();
      });
    });
    secure(file);
  }
  options.onListening?.(activated ? 'the socket systemd passed' : `unix://${file}`);

  const sockets = new Set<net.Socket>();
  let idleTimer: NodeJS.Timeout | undefined;
  const armIdle = () => {
    if (options.idleSeconds && sockets.size === 0) idleTimer = setTimeout(stop, options.idleSeconds * 1000);
  };
  server.on('connection', (socket: net.Socket) => {
    clearTimeout(idleTimer);
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      armIdle();
    });
  });

  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  function stop(): void {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    clearTimeout(idleTimer);
    sessions.closeAll();
    server.close(() => stopped());
    for (const socket of sockets) socket.destroy();
    if (!activated) fs.rmSync(file, { force: true });
  }
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  armIdle();
  await done;
}
