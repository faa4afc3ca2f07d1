/**
 * `skiff system service` on a sandbox root, for the tests whose clients speak the Docker
 * Engine API (the docker CLI, docker-compose, dockerode, testcontainers, the Python SDK):
 * busybox imported as `busybox:latest`, the service on a unix socket in the sandbox, and an
 * environment that points a client at it with an empty client config.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { discardRoot } from './container-testing.js';
import { SKIFF_BIN, busyboxTar, makeSandbox, start, waitFor, type Sandbox } from './helpers.js';

export interface ServiceSandbox {
  s: Sandbox;
  socket: string;
  /** DOCKER_HOST and an empty DOCKER_CONFIG: nothing of the machine's own docker set-up. */
  env: Record<string, string>;
  service: ReturnType<typeof start>;
  /** Stops the service and removes the sandbox with everything in it. */
  close(): Promise<void>;
}

export async function startService(prefix: string): Promise<ServiceSandbox> {
  const s = makeSandbox(prefix);
  const socket = path.join(s.dir, 'd.sock');
  const config = path.join(s.dir, 'docker-config');
  let service: ReturnType<typeof start> | undefined;
  const close = async () => {
    if (service && service.child.exitCode === null) service.child.kill('SIGTERM');
    await service?.done;
    await discardRoot(s);
  };
  try {
    fs.mkdirSync(config);
    await s.ok(['import', busyboxTar(), 'busybox:latest']);
    service = start(process.execPath, [
      '--',
      SKIFF_BIN,
      '--root',
      s.root,
      'system',
      'service',
      `unix://${socket}`,
    ]);
    await waitFor('the service socket', () => (fs.existsSync(socket) ? true : undefined), {
      timeout: 30_000,
    });
  } catch (err) {
    // A set-up that failed leaves nothing behind either: no service, no sandbox.
    await close();
    throw err;
  }
  return {
    s,
    socket,
    env: { DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: config },
    service,
    close,
  };
}

export interface ApiResponse {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** One raw request to the service, for what no client can express (bad input, exact statuses). */
export function apiRequest(
  socket: string,
  method: string,
  p: string,
  body?: string | Buffer,
  headers: Record<string, string> = { 'Content-Type': 'application/json' },
): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method, path: p, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          headers: res.headers,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Docker's multiplexed stream split into stdout and stderr (8-byte frame headers). */
export function demux(data: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  for (let at = 0; at + 8 <= data.length; ) {
    const size = data.readUInt32BE(at + 4);
    (data[at] === 2 ? err : out).push(data.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
