/**
 * Registries for the registry client's tests: Debian's CNCF distribution registry
 * (`docker-registry serve`) on loopback, optionally with htpasswd auth and a self-signed TLS
 * certificate made with the openssl CLI; a proxy in front of one that drops a blob download once;
 * and hand-made images (a docker-archive with the busybox layer plus one more).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { freePort, sha256, waitFor } from './helpers.js';

export interface Registry {
  host: string;
  dir: string;
  /** The CA file trusting its certificate (TLS registries only). */
  ca?: string;
  log(): string;
  stop(): Promise<void>;
}

export async function startRegistry(
  dir: string,
  options: { htpasswd?: { user: string; password: string }; tls?: boolean } = {},
): Promise<Registry> {
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${path.join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  let ca: string | undefined;
  if (options.tls) {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    const r = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`openssl req: ${r.stderr}`);
    lines.push('  tls:', `    certificate: ${cert}`, `    key: ${key}`);
    ca = cert;
  }
  if (options.htpasswd) {
    const file = path.join(dir, 'htpasswd');
    const r = spawnSync('htpasswd', ['-Bbn', options.htpasswd.user, options.htpasswd.password], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`htpasswd: ${r.stderr}`);
    fs.writeFileSync(file, r.stdout);
    lines.push('auth:', '  htpasswd:', '    realm: skiff-test', `    path: ${file}`);
  }
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(config, `${lines.join('\n')}\n`);
  const logFile = path.join(dir, 'registry.log');
  const out = fs.openSync(logFile, 'w');
  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', config], {
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  await waitFor('docker-registry to listen', () => tcpProbe(port), { timeout: 15_000 });
  return {
    host: `127.0.0.1:${port}`,
    dir,
    ...(ca ? { ca } : {}),
    log: () => fs.readFileSync(logFile, 'utf8'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function tcpProbe(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(undefined));
  });
}

/**
 * A proxy to `upstream` that cuts the first GET of the blob `cut` names after `after` bytes, or
 * (mode `corrupt`) flips the byte at offset `after` in every GET of it, or (mode `cut-upload`)
 * hangs up on the first PATCH after `after` bytes.
 */
export async function startCuttingProxy(
  upstream: string,
  cut: () => string | undefined,
  after: number,
  mode: 'cut' | 'corrupt' | 'cut-upload' = 'cut',
): Promise<{ host: string; ranges: string[]; cuts: number; close(): Promise<void> }> {
  const [upHost, upPort] = upstream.split(':') as [string, string];
  const state = { ranges: [] as string[], cuts: 0 };
  const server = http.createServer((req, res) => {
    const digest = cut();
    const cutThis =
      state.cuts === 0 &&
      req.method === 'GET' &&
      digest !== undefined &&
      req.url?.endsWith(`/blobs/${digest}`);
    if (req.headers.range) state.ranges.push(req.headers.range);
    if (mode === 'cut-upload' && state.cuts === 0 && req.method === 'PATCH') {
      // Take `after` bytes of the upload, then hang up without an answer.
      state.cuts++;
      let seen = 0;
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen >= after) req.socket.destroy();
      });
      req.on('end', () => req.socket.destroy());
      return;
    }
    const up = http.request(
      { host: upHost, port: Number(upPort), path: req.url, method: req.method, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        if (!cutThis) {
          upRes.pipe(res);
          return;
        }
        state.cuts++;
        let sent = 0;
        if (mode === 'corrupt') {
          // Every byte arrives, one of them changed: only the digest can tell.
          upRes.on('data', (chunk: Buffer) => {
            const copy = Buffer.from(chunk);
            if (sent <= after && after < sent + copy.length) copy[after - sent] = copy[after - sent]! ^ 0xff;
            sent += copy.length;
            res.write(copy);
          });
          upRes.on('end', () => res.end());
          return;
        }
        upRes.on('data', (chunk: Buffer) => {
          if (sent >= after) return;
          const room = after - sent;
          res.write(chunk.subarray(0, room));
          sent += Math.min(room, chunk.length);
          if (sent >= after) {
            upRes.destroy();
            res.socket?.destroy();
          }
        });
        upRes.on('end', () => res.end());
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${port}`,
    get ranges() {
      return state.ranges;
    },
    get cuts() {
      return state.cuts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A docker-archive of the busybox layer plus one layer holding `files` (name → content), tagged
 * `tag`: `skiff load` of it gives an image that shares its base with `skiff import` of busybox.
 */
export function appArchive(
  dir: string,
  busybox: string,
  tag: string,
  files: Record<string, string | Buffer>,
): string {
  const work = fs.mkdtempSync(path.join(dir, 'archive-'));
  const tree = path.join(work, 'tree');
  fs.mkdirSync(path.join(tree, 'app'), { recursive: true });
  for (const [name, content] of Object.entries(files))
    fs.writeFileSync(path.join(tree, 'app', name), content);
  const layer = path.join(work, 'new.tar');
  const r = spawnSync(
    'tar',
    ['-C', tree, '--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '-cf', layer, 'app'],
    {
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`tar: ${r.stderr}`);
  fs.mkdirSync(path.join(work, 'out', 'base'), { recursive: true });
  fs.mkdirSync(path.join(work, 'out', 'new'), { recursive: true });
  fs.copyFileSync(busybox, path.join(work, 'out', 'base', 'layer.tar'));
  fs.renameSync(layer, path.join(work, 'out', 'new', 'layer.tar'));
  const diffIds = [
    sha256(fs.readFileSync(busybox)),
    sha256(fs.readFileSync(path.join(work, 'out', 'new', 'layer.tar'))),
  ];
  const config = {
    architecture: 'amd64',
    os: 'linux',
    created: '2026-01-01T00:00:00Z',
    config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: [{ created_by: 'busybox' }, { created_by: 'app files' }],
  };
  fs.writeFileSync(path.join(work, 'out', 'config.json'), JSON.stringify(config));
  fs.writeFileSync(
    path.join(work, 'out', 'manifest.json'),
    JSON.stringify([{ Config: 'config.json', RepoTags: [tag], Layers: ['base/layer.tar', 'new/layer.tar'] }]),
  );
  const archive = path.join(work, 'app.tar');
  const t = spawnSync('tar', ['-C', path.join(work, 'out'), '-cf', archive, '.'], { encoding: 'utf8' });
  if (t.status !== 0) throw new Error(`tar: ${t.stderr}`);
  return archive;
}

/** A raw request to a plain-http registry, for writing what skiff has no verb for (an index). */
export function registryRequest(
  host: string,
  method: string,
  urlPath: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `http://${host}${urlPath}`,
      { method, headers: { ...headers, ...(body ? { 'Content-Length': String(body.length) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Uploads a blob monolithically (POST, then PUT with the digest). */
export async function uploadBlob(host: string, repository: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const start = await registryRequest(host, 'POST', `/v2/${repository}/blobs/uploads/`);
  if (start.status !== 202) throw new Error(`POST upload: ${start.status}`);
  const location = new URL(String(start.headers.location), `http://${host}`);
  location.searchParams.set('digest', digest);
  const put = await registryRequest(host, 'PUT', location.pathname + location.search, data, {
    'Content-Type': 'application/octet-stream',
  });
  if (put.status !== 201) throw new Error(`PUT upload: ${put.status} ${put.body.toString()}`);
  return digest;
}
