/**
 * The listener and the HTTP server on it. The unix socket is made 0660, owned by root and
 * group `skiff` when that group exists: whoever can write to it can run privileged
 * containers, so it is as good as root. TCP is served only over TLS with client certificates
 * (listen-address.ts). The socket file is removed on SIGTERM and SIGINT.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { FailedPrecondition, type Engine } from '../engine.js';
import { archiveRoutes } from './archive.js';
import { AttachSessions } from './attach-sessions.js';
import { containerProcessRoutes } from './container-processes.js';
import { ExecSessions, execRoutes } from './exec.js';
import { pauseRoutes } from './container-pause.js';
import { buildRoutes } from './build.js';
import { containerRoutes } from './containers.js';
import { eventRoutes } from './events.js';
import { imageRoutes } from './images.js';
import { listenAddress, type TlsFiles } from './listen-address.js';
import { logRoutes } from './logs.js';
import { networkConnectRoutes } from './network-connect.js';
import { pruneRoutes } from './prune.js';
import { registryAuthRoutes } from './registry-auth.js';
import { registryTransferRoutes } from './registry-transfer.js';
import { resourceRoutes } from './resources.js';
import { sendError } from './respond.js';
import { Router, type Context } from './router.js';
import { systemDfRoutes } from './system-df.js';
import { systemRoutes } from './system.js';

export const DEFAULT_URL = 'unix:///run/skiff/docker.sock';

/** What is read and dropped of a refused request body before the connection is cut. */
const DRAIN_LIMIT = 64 << 20;

export interface ServeOptions {
  /** unix:///path/to/socket, or tcp://HOST:PORT with `tls`. */
  url?: string;
  /** Certificate, key and client CA files, for tcp:// only. */
  tls?: Partial<TlsFiles>;
  /** Exit after this many seconds without a connection; 0 or absent: never. */
  idleSeconds?: number;
  /** One line per failed request (a 500); default: ignored. */
  log?: (line: string) => void;
  /** Called once the socket is listening. */
  onListening?: (where: string) => void;
}

export function routes(engine: Engine, sessions: AttachSessions, execs = new ExecSessions()): Router {
  const router = new Router();
  systemRoutes(router, engine);
  containerRoutes(router, engine, sessions);
  containerProcessRoutes(router, engine);
  execRoutes(router, engine, execs);
  logRoutes(router, engine);
  eventRoutes(router, engine);
  resourceRoutes(router, engine);
  archiveRoutes(router, engine);
  pruneRoutes(router, engine);
  systemDfRoutes(router, engine);
  networkConnectRoutes(router, engine);
  pauseRoutes(router, engine);
  imageRoutes(router, engine);
  registryTransferRoutes(router, engine);
  registryAuthRoutes(router, engine);
  buildRoutes(router, engine);
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
  const address = listenAddress(options.url ?? DEFAULT_URL, options.tls);
  const file = address.kind === 'unix' ? address.path : undefined;
  const log = options.log ?? (() => {});
  const sessions = new AttachSessions();
  const execs = new ExecSessions();
  const router = routes(engine, sessions, execs);
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    void dispatch(router, { method: req.method ?? 'GET', req, res, query: new URLSearchParams() }, log);
  };
  const server =
    address.kind === 'tcp'
      ? // A client without a certificate the CA signed never gets past the handshake.
        https.createServer({ ...address.tls, requestCert: true, rejectUnauthorized: true }, onRequest)
      : http.createServer(onRequest);
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
  let where = activated ? 'the socket systemd passed' : `unix://${file}`;
  if (activated) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ fd: 3 }, resolve);
    });
  } else if (address.kind === 'tcp') {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new FailedPrecondition(`system service: ${options.url}: address already in use`, {
                code: 'IN_USE',
              })
            : err,
        ),
      );
      server.listen(address.port, address.host, resolve);
    });
    const bound = server.address() as net.AddressInfo;
    where = `tcp://${address.host.includes(':') ? `[${address.host}]` : address.host}:${bound.port} (TLS, client certificates required)`;
  } else if (file) {
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
  options.onListening?.(where);

  const sockets = new Set<net.Socket>();
  let idleTimer: NodeJS.Timeout | undefined;
  const armIdle = () => {
    if (options.idleSeconds && sockets.size === 0) idleTimer = setTimeout(stop, options.idleSeconds * 1000);
  };
  // TLS connections are counted once they are through the handshake.
  server.on(address.kind === 'tcp' ? 'secureConnection' : 'connection', (socket: net.Socket) => {
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
    execs.closeAll();
    server.close(() => stopped());
    for (const socket of sockets) socket.destroy();
    if (!activated && file) fs.rmSync(file, { force: true });
  }
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  armIdle();
  await done;
}
