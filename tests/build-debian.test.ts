/**
 * The build issue's Debian case: a base made by `debootstrap --variant=minbase bookworm` from
 * Debian's archive, `RUN apt-get install -y memcached` on top over the default (bridge)
 * network, and the result serving memcached's protocol on a published port. Then a rebuild
 * that must come wholly from the cache.
 *
 * Slow (debootstrap alone takes most of a minute), so it is tagged: it skips unless
 * SKIFF_SLOW_TESTS=1, and scripts/test.sh runs it as its own step after the main suite.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertExit, assertGone, discardRoot, runDetached } from './container-testing.js';
import { freePort, makeSandbox, run, waitFor, type Sandbox } from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

const slow =
  process.env.SKIFF_SLOW_TESTS === '1'
    ? false
    : 'slow: set SKIFF_SLOW_TESTS=1 (scripts/test.sh runs it as its own step)';

const MIRROR = 'http://deb.debian.org/debian';
const BASE = 'debian:bookworm';
const IMAGE = 'memcached:deb';
const DOCKERFILE = `FROM ${BASE}
RUN apt-get update && apt-get install -y --no-install-recommends memcached
CMD ["memcached","-u","nobody"]
`;

interface HistoryRow {
  createdBy: string;
  size: number;
}

describe('skiff build on a debootstrapped Debian base', { skip: slow || needs('root') }, () => {
  let s: Sandbox;
  let ctx: string;
  const seconds: Record<string, number> = {};

  before(async () => {
    s = makeSandbox('skiff-build-debian-');
    const rootfs = path.join(s.dir, 'rootfs');
    const tar = path.join(s.dir, 'bookworm.tar');
    let started = performance.now();
    try {
      const r = await run('debootstrap', ['--variant=minbase', 'bookworm', rootfs, MIRROR], {
        timeout: 600_000,
      });
      if (r.code !== 0) throw new Error(`debootstrap exited ${r.code ?? r.signal}: ${r.stderr.slice(-2000)}`);
    } finally {
      // A debootstrap cut short leaves its /proc and /sys mounts in the tree; the sandbox's
      // removal must not walk into them.
      unmountUnder(rootfs);
    }
    seconds.debootstrap = (performance.now() - started) / 1000;
    // GNU tar records owners, modes and device nodes when it creates an archive; numeric owners
    // so that the host's names cannot map them to other IDs.
    const packed = await run('tar', ['-C', rootfs, '--numeric-owner', '-cf', tar, '.']);
    if (packed.code !== 0) throw new Error(`tar -c ${rootfs}: ${packed.stderr}`);
    fs.rmSync(rootfs, { recursive: true, force: true });
    started = performance.now();
    await s.ok([
      'import',
      tar,
      BASE,
      '-c',
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '-c',
      'CMD ["bash"]',
    ]);
    seconds.import = (performance.now() - started) / 1000;
    fs.rmSync(tar);
    ctx = path.join(s.dir, 'ctx');
    fs.mkdirSync(ctx);
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), DOCKERFILE);
  });
  after(() => discardRoot(s));

  it('builds memcached with apt-get from the archive over the bridge network', async (t) => {
    const started = performance.now();
    const r = await s.skiff(['build', '-t', IMAGE, ctx], { timeout: 600_000 });
    seconds.build = (performance.now() - started) / 1000;
    if (r.code !== 0) assert.fail(`build exited ${r.code ?? r.signal}: ${r.stderr}\n${await why()}`);
    assert.match(r.stdout, /Setting up memcached /);
    assert.match(r.stdout, /Successfully tagged memcached:deb\n$/);
    const version = await s.skiff(['run', '--rm', IMAGE, 'memcached', '-V']);
    assertExit(version, 0, 'memcached -V');
    assert.match(version.stdout, /^memcached \d+\.\d+\.\d+\n$/);
    t.diagnostic(
      `debootstrap ${seconds.debootstrap!.toFixed(1)} s, import ${seconds.import!.toFixed(1)} s, build ${seconds.build.toFixed(1)} s`,
    );
  });

  it('the image serves memcached on a published port', async () => {
    const port = await freePort();
    const id = await runDetached(s, ['--name', 'mc', '-p', `127.0.0.1:${port}:11211`, IMAGE]);
    try {
      const reply = await waitFor('memcached to answer', () => memcached(port, 'set k 0 0 1\r\nv\r\n'), {
        timeout: 10_000,
        interval: 100,
      });
      assert.equal(reply, 'STORED\r\n');
      assert.equal(await memcached(port, 'get k\r\n'), 'VALUE k 0 1\r\nv\r\nEND\r\n');
    } finally {
      await s.ok(['rm', '-f', 'mc']);
    }
    await assertGone(s, id);
  });

  it('a rebuild comes wholly from the cache', async (t) => {
    const before = (await s.ok(['inspect', IMAGE])).stdout;
    const started = performance.now();
    const r = await s.ok(['build', '-t', IMAGE, ctx]);
    seconds.cached = (performance.now() - started) / 1000;
    assert.equal((r.stdout.match(/---> Using cache\n/g) ?? []).length, 2, r.stdout);
    assert.doesNotMatch(r.stdout, /Setting up/);
    // The CLI's own figure, without node's start-up: what the cache lookups cost.
    const took = /Successfully built [0-9a-f]{12} in (\d+\.\d+)s\n/.exec(r.stdout);
    assert.ok(took, r.stdout);
    assert.equal(
      (JSON.parse((await s.ok(['inspect', IMAGE])).stdout) as { Id: string }[])[0]!.Id,
      (JSON.parse(before) as { Id: string }[])[0]!.Id,
    );
    t.diagnostic(`cached rebuild ${seconds.cached.toFixed(2)} s (CLI included), ${took[1]} s in the build`);
  });

  it('history and inspect show the RUN layer over the imported base', async () => {
    const rows = JSON.parse((await s.ok(['history', '--format', 'json', IMAGE])).stdout) as HistoryRow[];
    assert.deepEqual(
      rows.map((row) => row.createdBy),
      [
        'CMD ["memcached","-u","nobody"]',
        'RUN apt-get update && apt-get install -y --no-install-recommends memcached',
        'skiff import',
      ],
    );
    // memcached with its libraries and apt's package lists: tens of MB, not an empty layer.
    assert.ok(rows[1]!.size > 10_000_000, `RUN layer is ${rows[1]!.size} bytes`);
    const [image] = JSON.parse((await s.ok(['inspect', IMAGE])).stdout) as {
      RootFS: { Layers: string[] };
      Config: { Cmd: string[] };
    }[];
    const [base] = JSON.parse((await s.ok(['inspect', BASE])).stdout) as { RootFS: { Layers: string[] } }[];
    assert.equal(image!.RootFS.Layers.length, 2);
    assert.equal(image!.RootFS.Layers[0], base!.RootFS.Layers[0]);
    assert.deepEqual(image!.Config.Cmd, ['memcached', '-u', 'nobody']);
  });

  /** What the base sees of the network, for a build that could not reach the archive. */
  async function why(): Promise<string> {
    const lines: string[] = [];
    for (const args of [
      ['getent', 'hosts', 'deb.debian.org'],
      ['cat', '/etc/resolv.conf'],
      ['cat', '/proc/net/route'],
    ]) {
      const r = await s.skiff(['run', '--rm', BASE, ...args]);
      lines.push(`$ ${args.join(' ')} (exit ${r.code})\n${r.stdout}${r.stderr}`);
    }
    return lines.join('\n');
  }
});

/** Sends one memcached text-protocol request and returns the reply once it is complete. */
function memcached(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(2_000, () => socket.destroy(new Error(`memcached on ${port}: timed out`)));
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (/(STORED|END|ERROR[^\r]*)\r\n$/.test(reply)) {
        socket.end();
        resolve(reply);
      }
    });
    socket.on('error', reject);
    socket.on('close', () =>
      reject(new Error(`memcached on ${port}: closed after ${JSON.stringify(reply)}`)),
    );
  });
}

/** Lazily unmounts whatever is mounted under `dir`, deepest first. */
function unmountUnder(dir: string): void {
  const mounts = fs
    .readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync('umount', ['-l', m]);
}
