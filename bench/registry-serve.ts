/**
 * Serving blobs: `skiff registry serve` against Debian's `docker-registry` (distribution),
 * the same image pushed to both by skopeo (a 200 MB random layer and a 200 MB compressible
 * one, which skopeo gzips on the way), then 8 parallel clients GET both layers as each
 * registry's manifest names them. Prints MB/s per registry and the
 * ratio, for skiff with one process and with `--workers 2`. Not a test: a timing never fails CI.
 *
 *   node dist/bench/registry-serve.js [--mb 200] [--clients 8] [--rounds 3]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const MB = arg('mb', 200);
const CLIENTS = arg('clients', 8);
const ROUNDS = arg('rounds', 3);

function must(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 4).join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function writeBlob(layout: string, data: Buffer): { digest: string; size: number } {
  const hex = createHash('sha256').update(data).digest('hex');
  fs.writeFileSync(path.join(layout, 'blobs', 'sha256', hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

/** An OCI layout with two big layers: random bytes, and a repeated text (compressible). */
function makeLayout(dir: string): void {
  const layout = path.join(dir, 'layout');
  fs.mkdirSync(path.join(layout, 'blobs', 'sha256'), { recursive: true });
  const random = randomBytes(MB << 20);
  // Hex text: gzip halves it, so it stays big on the wire after skopeo compresses it.
  const text = Buffer.from(randomBytes((MB << 20) / 2).toString('hex'));
  const layers = [writeBlob(layout, random), writeBlob(layout, text)];
  const config = writeBlob(
    layout,
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      }),
    ),
  );
  const manifest = writeBlob(
    layout,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l })),
      }),
    ),
  );
  fs.writeFileSync(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  fs.writeFileSync(
    path.join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'org.opencontainers.image.ref.name': 'bench' },
        },
      ],
    }),
  );
}

/** The layer digests of the manifest a registry holds (skopeo compressed them on the way). */
function layersAt(port: number): string[] {
  const manifest = JSON.parse(
    must('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://127.0.0.1:${port}/bench/app:v1`]),
  ) as { layers: { digest: string }[] };
  return manifest.layers.map((l) => l.digest);
}

async function waitUp(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((resolve) => {
      http
        .get({ host: '127.0.0.1', port, path: '/v2/', agent: false }, (res) => (res.resume(), resolve(true)))
        .on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`registry on port ${port} did not come up`);
}

function download(port: number, pathname: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: pathname, agent: false }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`GET ${pathname}: ${res.statusCode}`));
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve(bytes));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** Every client fetches every layer once: MB/s over all clients, and the MB moved. */
async function measure(port: number, layers: string[]): Promise<{ rate: number; mb: number }> {
  const t0 = process.hrtime.bigint();
  const sizes = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      let total = 0;
      for (const d of c % 2 === 0 ? layers : [...layers].reverse())
        total += await download(port, `/v2/bench/app/blobs/${d}`);
      return total;
    }),
  );
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const mb = sizes.reduce((a, b) => a + b, 0) / (1 << 20);
  return { rate: mb / seconds, mb };
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-registry-'));
  const children: ChildProcess[] = [];
  try {
    makeLayout(work);
    const startSkiff = async (workers: number) => {
      const port = await freePort();
      const args = [
        'registry',
        'serve',
        '--addr',
        `127.0.0.1:${port}`,
        '--root',
        path.join(work, `skiff-reg-${workers}`),
      ];
      children.push(
        spawn(process.execPath, [path.join(repo, 'bin/skiff.js'), ...args, '--workers', String(workers)], {
          stdio: 'ignore',
        }),
      );
      return port;
    };
    const skiffPort = await startSkiff(1);
    const skiff2Port = await startSkiff(2);
    const distPort = await freePort();
    const config = path.join(work, 'config.yml');
    fs.writeFileSync(
      config,
      `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(work, 'dist-reg')}\nhttp:\n  addr: 127.0.0.1:${distPort}\n`,
    );
    const dist = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
    children.push(dist);
    await Promise.all([waitUp(skiffPort), waitUp(skiff2Port), waitUp(distPort)]);
    const sides = [
      { label: 'docker-registry', port: distPort, best: 0, mb: 0, layers: [] as string[] },
      { label: 'skiff', port: skiffPort, best: 0, mb: 0, layers: [] as string[] },
      { label: 'skiff --workers 2', port: skiff2Port, best: 0, mb: 0, layers: [] as string[] },
    ];
    for (const side of sides) {
      must('skopeo', [
        'copy',
        '-q',
        '--dest-tls-verify=false',
        `oci:${path.join(work, 'layout')}:bench`,
        `docker://127.0.0.1:${side.port}/bench/app:v1`,
      ]);
      side.layers = layersAt(side.port);
    }
    // Alternate the two, best of ROUNDS each: the machine is shared, so load comes and goes.
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of sides) {
        const { rate, mb } = await measure(side.port, side.layers);
        side.best = Math.max(side.best, rate);
        side.mb = mb;
      }
    }
    for (const side of sides)
      console.log(
        `${side.label.padEnd(18)} ${CLIENTS} clients, ${side.mb.toFixed(0)} MB a round: ${side.best.toFixed(0)} MB/s (best of ${ROUNDS})`,
      );
    console.log(
      `skiff / docker-registry: ${(sides[1]!.best / sides[0]!.best).toFixed(2)}×; ` +
        `with 2 workers: ${(sides[2]!.best / sides[0]!.best).toFixed(2)}×`,
    );
  } finally {
    for (const child of children) child.kill('SIGTERM');
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
