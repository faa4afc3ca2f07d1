/** Helpers for the server's tests: a server on 127.0.0.1 port 0 over a temp root, and raw HTTP. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { digestOf, type Algorithm } from '../../oci/digest.js';
import { MediaType } from '../../oci/media-types.js';
import { RegistryServer, type RunningRegistry, type ServerOptions } from './server.js';

export interface TestRegistry {
  root: string;
  url: string;
  port: number;
  server: RegistryServer;
  running: RunningRegistry;
  close(): Promise<void>;
}

export async function startRegistry(options: Partial<ServerOptions> = {}): Promise<TestRegistry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-registry-'));
  const root = options.root ?? path.join(dir, 'reg');
  const server = new RegistryServer({ ...options, root });
  const running = await server.listen('127.0.0.1', 0);
  return {
    root,
    url: running.url,
    port: running.port,
    server,
    running,
    async close() {
      await running.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every blob file of a registry root, as `algorithm:hex`. */
export function blobFiles(root: string): string[] {
  return ['sha256', 'sha512'].flatMap((a) =>
    fs.readdirSync(path.join(root, 'blobs', a)).map((h) => `${a}:${h}`),
  );
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Every value of a header, in order: `headers` joins repeated lines (OCI-Tag) with commas. */
  all(name: string): string[];
  body: Buffer;
  json<T = Record<string, unknown>>(): T;
}

/** One request with exactly the path given (no URL normalisation, so `..` reaches the server). */
export function raw(
  base: string,
  method: string,
  pathname: string,
  options: { headers?: Record<string, string>; body?: Buffer | string | Readable; ca?: Buffer } = {},
): Promise<RawResponse> {
  const url = new URL(base);
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: pathname,
        headers: options.headers,
        ca: options.ca,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            all: (name) => res.headersDistinct[name.toLowerCase()] ?? [],
            body,
            json: <T>() => JSON.parse(body.toString('utf8')) as T,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const body = options.body;
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}

/** The spec error code of a response. */
export function errorCode(res: RawResponse): string | undefined {
  return res.json<{ errors?: { code: string }[] }>().errors?.[0]?.code;
}

/** Pushes a blob monolithically; returns its digest. */
export async function pushBlob(
  base: string,
  name: string,
  data: Buffer,
  algorithm: Algorithm = 'sha256',
  headers: Record<string, string> = {},
): Promise<string> {
  const digest = digestOf(data, algorithm);
  const res = await raw(base, 'POST', `/v2/${name}/blobs/uploads/?digest=${digest}`, {
    body: data,
    headers: { 'Content-Type': 'application/octet-stream', ...headers },
  });
  if (res.status !== 201) throw new Error(`push blob ${digest}: ${res.status} ${res.body.toString()}`);
  return digest;
}

/** An image manifest over pushed config and layers: its bytes and digest. */
export async function pushImage(
  base: string,
  name: string,
  tag: string,
  options: {
    layer?: Buffer;
    headers?: Record<string, string>;
    subject?: { digest: string; size: number; mediaType: string };
    artifactType?: string;
  } = {},
): Promise<{ bytes: Buffer; digest: string; config: string; layer: string }> {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
  );
  const layer = options.layer ?? Buffer.from(`layer of ${name}:${tag} ${Math.random()}`);
  const configDigest = await pushBlob(base, name, config, 'sha256', options.headers);
  const layerDigest = await pushBlob(base, name, layer, 'sha256', options.headers);
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.length },
    layers: [{ mediaType: MediaType.OciLayerGzip, digest: layerDigest, size: layer.length }],
  };
  if (options.subject) manifest['subject'] = options.subject;
  if (options.artifactType) manifest['artifactType'] = options.artifactType;
  const bytes = Buffer.from(JSON.stringify(manifest, null, 1));
  const res = await raw(base, 'PUT', `/v2/${name}/manifests/${tag}`, {
    body: bytes,
    headers: { 'Content-Type': MediaType.OciManifest, ...options.headers },
  });
  if (res.status !== 201)
    throw new Error(`push manifest ${name}:${tag}: ${res.status} ${res.body.toString()}`);
  return { bytes, digest: digestOf(bytes), config: configDigest, layer: layerDigest };
}

export interface ServedCli {
  url: string;
  host: string;
  child: ChildProcess;
  /** SIGTERM; resolves to what it wrote on stderr, and throws unless it exited 0. */
  stop(): Promise<string>;
}

const serving = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of serving) child.kill('SIGKILL');
});

/** `<bin> registry serve` on a free port, over `root`; resolves once it says where it listens. */
export async function serveCli(bin: string, root: string, extra: string[] = []): Promise<ServedCli> {
  const child = spawn(
    process.execPath,
    ['--', bin, 'registry', 'serve', '--addr', '127.0.0.1:0', '--root', root, ...extra],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  serving.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.on('close', (code, signal) => resolve(code ?? signal ?? '?')),
  );
  const deadline = Date.now() + 15_000;
  let url: string | undefined;
  while ((url = /listening on (\S+)/.exec(stdout)?.[1]) === undefined) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`registry serve did not start (${child.exitCode ?? 'timeout'}): ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url,
    host: new URL(url).host,
    child,
    async stop() {
      child.kill('SIGTERM');
      const status = await exited;
      serving.delete(child);
      if (status !== 0) throw new Error(`registry exited ${status} on SIGTERM: ${stderr}`);
      return stderr;
    },
  };
}

/**
 * An OCI archive of `tar` imported and saved by the CLI (`ok` runs it in a sandbox), and the
 * digest of its manifest as skopeo reads it.
 */
export async function imageArchive(
  ok: (args: string[]) => Promise<unknown>,
  dir: string,
  tar: string,
): Promise<{ archive: string; manifest: string }> {
  await ok(['import', tar, 'base:1']);
  const archive = path.join(dir, 'base.tar');
  await ok(['save', '-o', archive, 'base:1']);
  const r = spawnSync('skopeo', ['inspect', '--raw', `oci-archive:${archive}`]);
  if (r.status !== 0) throw new Error(`skopeo inspect --raw ${archive}: ${r.stderr.toString()}`);
  return { archive, manifest: digestOf(r.stdout) };
}

/** `sha256:<hex>` of a file's bytes. */
export function fileDigest(file: string): string {
  return digestOf(fs.readFileSync(file));
}
