/**
 * Bad input: hostile layer tars (path escapes, symlink and hardlink tricks, duplicates),
 * broken streams and lying archives. Each must fail with one "Error: …" line that names the
 * input or entry, change nothing outside the store (a sentinel directory and /etc/passwd are
 * watched), and leave the store as it was: `system check` without problems and no new file
 * outside tmp/ (DESIGN.md: bad input "never leaves partial state behind").
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import {
  busyboxTar,
  makeSandbox,
  oneLineError,
  sha256,
  snapshotDiff,
  storeSnapshot,
  walkTree,
  type RunResult,
  type Sandbox,
} from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

interface TarEntry {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  data?: string | Buffer;
  linkname?: string;
  mode?: number;
}

const TYPEFLAG = { file: '0', hardlink: '1', symlink: '2', dir: '5' } as const;

/** A ustar archive written header by hand (POSIX.1-1988 ustar), so nothing sanitises the names. */
function ustar(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'file';
    const data = type === 'file' ? Buffer.from(e.data ?? '') : Buffer.alloc(0);
    const h = Buffer.alloc(512);
    const field = (value: string, offset: number, length: number) => {
      const bytes = Buffer.from(value, 'utf8');
      assert.ok(bytes.length <= length, `ustar field too long: ${value}`);
      bytes.copy(h, offset);
    };
    const octal = (value: number, offset: number, length: number) =>
      field(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length);
    field(e.name, 0, 100);
    octal(e.mode ?? (type === 'dir' ? 0o755 : 0o644), 100, 8);
    octal(0, 108, 8);
    octal(0, 116, 8);
    octal(data.length, 124, 12);
    octal(1_700_000_000, 136, 12);
    field(TYPEFLAG[type], 156, 1);
    field(e.linkname ?? '', 157, 100);
    field('ustar\0', 257, 6);
    field('00', 263, 2);
    field('root', 265, 32);
    field('root', 297, 32);
    h.fill(' ', 148, 156);
    let sum = 0;
    for (const byte of h) sum += byte;
    field(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** What must not change outside the store: the sentinel tree and /etc/passwd. */
function outsideState(sentinel: string): string {
  const passwd = fs.statSync('/etc/passwd');
  return JSON.stringify({
    sentinel: [...walkTree(sentinel)],
    passwd: [passwd.ino, passwd.nlink, passwd.size, passwd.mtimeMs, sha256(fs.readFileSync('/etc/passwd'))],
    abs: fs.existsSync('/abs'),
  });
}

/** Every path under `dir` whose last part is one of `names`. */
function findNamed(dir: string, names: string[]): string[] {
  return [...walkTree(dir).keys()].filter((p) => names.includes(path.basename(p)));
}

describe('bad input is rejected and leaves no trace', { skip: needs('root') }, () => {
  let s: Sandbox;
  let inputs: string;
  let sentinel: string;

  before(async () => {
    s = makeSandbox();
    inputs = path.join(s.dir, 'inputs');
    sentinel = path.join(s.dir, 'sentinel');
    fs.mkdirSync(inputs);
    fs.mkdirSync(path.join(sentinel, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(sentinel, 'keep.txt'), 'untouched\n');
    fs.writeFileSync(path.join(sentinel, 'sub', 'file'), 'untouched too\n');
    // The store holds an image already: bad input must not disturb what is there.
    await s.ok(['import', busyboxTar(), 'base:1']);
  });
  after(() => s.cleanup());

  /**
   * Runs `args`, which must fail with one line mentioning `mentions`; then the store, the
   * sentinel and /etc/passwd must be as they were and `system check` clean.
   */
  async function rejects(
    args: string[],
    mentions: (string | RegExp)[],
    options: { input?: Buffer; store?: Sandbox } = {},
  ): Promise<RunResult> {
    const target = options.store ?? s;
    const store = storeSnapshot(target.root);
    const outside = outsideState(sentinel);
    const wanted = (await target.ok(['images', '--format', 'json'])).stdout;
    const r = await target.skiff(args, { input: options.input });
    assert.notEqual(r.code, 0, `skiff ${args.join(' ')} must fail; stdout: ${r.stdout}`);
    assert.equal(r.signal, null);
    const line = oneLineError(r.stderr);
    for (const m of mentions) {
      if (typeof m === 'string') assert.ok(line.includes(m), `error names ${m}: ${line}`);
      else assert.match(line, m);
    }
    assert.equal(outsideState(sentinel), outside, 'nothing outside the store changed');
    assert.deepEqual(
      snapshotDiff(store, storeSnapshot(target.root)),
      [],
      'no new or changed file outside tmp/',
    );
    const report = await target.check();
    assert.deepEqual(report.problems, []);
    assert.equal(report.garbage.unreferencedBlobs, 0, 'no blob left behind');
    assert.equal(report.garbage.unreferencedLayers, 0, 'no layer left behind');
    assert.equal((await target.ok(['images', '--format', 'json'])).stdout, wanted);
    return r;
  }

  function layerTar(name: string, entries: TarEntry[]): string {
    const file = path.join(inputs, name);
    fs.writeFileSync(file, ustar(entries));
    return file;
  }

  // Enough `..` to reach / from anywhere in the store, then down into the sentinel.
  const up = (): string => '../'.repeat(s.root.split('/').length + 4);

  it('the hand-written tar writer makes archives GNU tar reads', () => {
    const file = layerTar('good.tar', [
      { name: 'etc/', type: 'dir' },
      { name: 'etc/hello', data: 'hi\n' },
      { name: 'etc/link', type: 'symlink', linkname: 'hello' },
      { name: 'etc/hard', type: 'hardlink', linkname: 'etc/hello' },
    ]);
    const r = spawnSync('tar', ['-tvf', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /etc\/link -> hello/);
    assert.match(r.stdout, /etc\/hard link to etc\/hello/);
  });

  it('a good hand-written layer imports (the rejections below are about the entries)', async () => {
    const file = layerTar('fine.tar', [
      { name: 'etc/', type: 'dir' },
      { name: 'etc/hello', data: 'hi\n' },
    ]);
    const r = await s.ok(['import', file, 'fine:1']);
    await s.ok(['rmi', 'fine:1']);
    assert.match(r.stdout, /^sha256:/);
  });

  it('rejects ../ paths', async () => {
    await rejects(
      ['import', layerTar('dotdot.tar', [{ name: 'ok' }, { name: '../evil', data: 'x' }])],
      ['`../evil`'],
    );
    const deep = `${up()}${sentinel.slice(1)}/evil`;
    await rejects(['import', layerTar('dotdot-deep.tar', [{ name: deep, data: 'x' }])], [deep]);
    await rejects(
      ['import', layerTar('dotdot-mid.tar', [{ name: 'a/../../evil', data: 'x' }])],
      ['a/../../evil'],
    );
    assert.deepEqual(findNamed(s.root, ['evil']), []);
  });

  it('rejects absolute paths', async () => {
    await rejects(['import', layerTar('abs.tar', [{ name: '/abs/path', data: 'x' }])], ['/abs/path']);
    const into = `${sentinel}/abs-evil`;
    await rejects(['import', layerTar('abs-sentinel.tar', [{ name: into, data: 'x' }])], [into]);
  });

  it('never writes through a symlink that points outside', async () => {
    await rejects(
      [
        'import',
        layerTar('symlink-abs.tar', [
          { name: 'esc', type: 'symlink', linkname: sentinel },
          { name: 'esc/pwned', data: 'x' },
        ]),
      ],
      ['esc/pwned'],
    );
    await rejects(
      [
        'import',
        layerTar('symlink-rel.tar', [
          { name: 'up', type: 'symlink', linkname: up() },
          { name: `up/${sentinel.slice(1)}/pwned`, data: 'x' },
        ]),
      ],
      ['pwned'],
    );
    // A symlink to a directory inside the layer is no door either: parents must be real directories.
    await rejects(
      [
        'import',
        layerTar('symlink-dir.tar', [
          { name: 'd/', type: 'dir' },
          { name: 'l', type: 'symlink', linkname: sentinel },
          { name: 'l/sub/file', data: 'overwritten' },
        ]),
      ],
      ['l/sub/file'],
    );
    assert.deepEqual(findNamed(sentinel, ['pwned']), []);
  });

  it('rejects hardlinks to files outside the layer', async () => {
    await rejects(
      ['import', layerTar('hardlink-etc.tar', [{ name: 'pw', type: 'hardlink', linkname: '/etc/passwd' }])],
      ['pw', '/etc/passwd'],
    );
    await rejects(
      [
        'import',
        layerTar('hardlink-up.tar', [{ name: 'pw', type: 'hardlink', linkname: `${up()}etc/passwd` }]),
      ],
      ['pw'],
    );
    await rejects(
      [
        'import',
        layerTar('hardlink-via-symlink.tar', [
          { name: 'esc', type: 'symlink', linkname: sentinel },
          { name: 'k', type: 'hardlink', linkname: 'esc/keep.txt' },
        ]),
      ],
      ['k'],
    );
  });

  it('rejects duplicate entries', async () => {
    await rejects(
      [
        'import',
        layerTar('dup.tar', [
          { name: 'a', data: '1' },
          { name: 'a', data: '2' },
        ]),
      ],
      ['`a`', /duplicate/],
    );
    await rejects(
      [
        'import',
        layerTar('dup-symlink.tar', [
          { name: 'x', type: 'symlink', linkname: sentinel },
          { name: 'x', data: 'replaces the link?' },
        ]),
      ],
      ['`x`'],
    );
  });

  it('rejects a truncated tar (inside a file body, inside a header)', async () => {
    const tar = fs.readFileSync(busyboxTar());
    const midBody = path.join(inputs, 'trunc-body.tar');
    fs.writeFileSync(midBody, tar.subarray(0, 1_000_000));
    await rejects(['import', midBody], [/truncated/]);
    const midHeader = path.join(inputs, 'trunc-header.tar');
    fs.writeFileSync(midHeader, tar.subarray(0, 512 + 100));
    await rejects(['import', midHeader], [/truncated/]);
    await rejects(['import', '-'], [/truncated/], { input: tar.subarray(0, 1_500_000) });
  });

  it('rejects corrupt gzip and zstd streams', { skip: needs('gzip', 'zstd') }, async () => {
    const gz = spawnSync('gzip', ['-c', busyboxTar()], { maxBuffer: 64 << 20 }).stdout;
    const variants: [string, Buffer, RegExp | undefined][] = [];
    const crc = Buffer.from(gz);
    crc[crc.length - 8]! ^= 0xff;
    variants.push(['gzip-crc.tar.gz', crc, /gzip/]);
    variants.push(['gzip-trunc.tar.gz', gz.subarray(0, gz.length >> 1), /gzip|truncated/]);
    const mangled = Buffer.from(gz);
    mangled.fill(0xff, 20, 60);
    variants.push(['gzip-mangled.tar.gz', mangled, undefined]);
    const zst = spawnSync('zstd', ['-c', busyboxTar()], { maxBuffer: 64 << 20 }).stdout;
    variants.push(['zstd-trunc.tar.zst', zst.subarray(0, zst.length >> 1), /zstd|truncated/]);
    for (const [name, bytes, mention] of variants) {
      const file = path.join(inputs, name);
      fs.writeFileSync(file, bytes);
      await rejects(['import', file], mention ? [mention] : []);
    }
  });

  it('rejects empty and non-archive input', async () => {
    const empty = path.join(inputs, 'empty');
    fs.writeFileSync(empty, '');
    const junk = path.join(inputs, 'junk');
    fs.writeFileSync(junk, Buffer.from('this is not a tar archive, not even close\n'.repeat(3)));
    await rejects(['import', empty], []);
    await rejects(['load', '-i', empty], [/empty/]);
    await rejects(['import', junk], []);
    await rejects(['load', '-i', junk], []);
    await rejects(['import', path.join(inputs, 'no-such-file.tar')], ['no-such-file.tar']);
    await rejects(['load', '-i', path.join(inputs, 'no-such-file.tar')], ['no-such-file.tar']);
  });

  describe('lying and malformed load archives', () => {
    let layout: string;
    let manifestDigest: string;
    let configDigest: string;
    let layerDigest: string;
    let docker: string;
    /** A fresh store per case, holding one image: a failure in one case cannot spill into the next. */
    let store: Sandbox;

    beforeEach(async () => {
      store = makeSandbox();
      await store.ok(['import', busyboxTar(), 'base:1']);
    });
    afterEach(() => store.cleanup());

    before(async () => {
      // Archives come from another store, so this store holds none of their blobs.
      const other = makeSandbox();
      try {
        await other.ok(['import', busyboxTar(), 'lying:1']);
        const oci = path.join(inputs, 'good-oci.tar');
        await other.ok(['save', '-o', oci, 'lying:1']);
        layout = path.join(inputs, 'good-oci');
        fs.mkdirSync(layout);
        assert.equal(spawnSync('tar', ['-C', layout, '-xf', oci]).status, 0);
        const dockerTar = path.join(inputs, 'good-docker.tar');
        await other.ok(['save', '--format', 'docker-archive', '-o', dockerTar, 'lying:1']);
        docker = path.join(inputs, 'good-docker');
        fs.mkdirSync(docker);
        assert.equal(spawnSync('tar', ['-C', docker, '-xf', dockerTar]).status, 0);
      } finally {
        other.cleanup();
      }
      const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')) as {
        manifests: { digest: string }[];
      };
      manifestDigest = index.manifests[0]!.digest;
      const manifest = JSON.parse(fs.readFileSync(blob(layout, manifestDigest), 'utf8')) as {
        config: { digest: string };
        layers: { digest: string }[];
      };
      configDigest = manifest.config.digest;
      layerDigest = manifest.layers[0]!.digest;
    });

    const blob = (dir: string, digest: string) => path.join(dir, 'blobs', 'sha256', digest.slice(7));

    /** A copy of a good archive tree, changed by `edit`, packed with GNU tar. */
    function variant(from: string, name: string, edit: (dir: string) => void): string {
      const dir = path.join(inputs, name);
      fs.cpSync(from, dir, { recursive: true });
      edit(dir);
      const file = `${dir}.tar`;
      assert.equal(spawnSync('tar', ['-C', dir, '-cf', file, '.']).status, 0);
      return file;
    }

    it('the untouched archives load (the failures below are the edits)', async () => {
      const scratch = makeSandbox();
      try {
        await scratch.ok(['load', '-i', path.join(inputs, 'good-oci.tar')]);
        await scratch.ok(['load', '-i', path.join(inputs, 'good-docker.tar')]);
      } finally {
        scratch.cleanup();
      }
    });

    it('a layer blob whose content does not match its digest is never stored', async () => {
      const file = variant(layout, 'bad-layer-digest', (d) =>
        fs.appendFileSync(blob(d, layerDigest), 'tampered'),
      );
      await rejects(['load', '-i', file], [layerDigest], { store });
      assert.ok(!fs.existsSync(blob(store.root, layerDigest)));
    });

    it('a config blob whose content does not match its digest is never stored', async () => {
      const file = variant(layout, 'bad-config-digest', (d) =>
        fs.writeFileSync(blob(d, configDigest), '{"tampered":true}'),
      );
      await rejects(['load', '-i', file], [configDigest], { store });
      assert.ok(!fs.existsSync(blob(store.root, configDigest)));
    });

    it('malformed index.json', async () => {
      const file = variant(layout, 'bad-index', (d) =>
        fs.writeFileSync(path.join(d, 'index.json'), '{"schemaVersion":2,'),
      );
      await rejects(['load', '-i', file], [/index/], { store });
      const wrongShape = variant(layout, 'bad-index-shape', (d) =>
        fs.writeFileSync(path.join(d, 'index.json'), '{"schemaVersion":2,"manifests":{"not":"an array"}}'),
      );
      await rejects(['load', '-i', wrongShape], [/index|manifests/], { store });
    });

    it('malformed manifest blob (stored under its true digest)', async () => {
      const bad = Buffer.from('{"schemaVersion":2,"config":');
      const digest = sha256(bad);
      const file = variant(layout, 'bad-manifest-blob', (d) => {
        fs.writeFileSync(blob(d, digest), bad);
        const index = fs.readFileSync(path.join(d, 'index.json'), 'utf8');
        fs.writeFileSync(
          path.join(d, 'index.json'),
          index.replace(manifestDigest, digest).replace(/"size":\d+/, `"size":${bad.length}`),
        );
      });
      await rejects(['load', '-i', file], [/manifest/], { store });
    });

    it('malformed config blob (stored under its true digest)', async () => {
      const badConfig = Buffer.from('{"architecture":"amd64","os":');
      const cdigest = sha256(badConfig);
      const file = variant(layout, 'bad-config-blob', (d) => {
        fs.writeFileSync(blob(d, cdigest), badConfig);
        const manifest = fs
          .readFileSync(blob(d, manifestDigest), 'utf8')
          .replace(configDigest, cdigest)
          .replace(/("config":\{[^}]*"size":)\d+/, `$1${badConfig.length}`);
        const mdigest = sha256(manifest);
        fs.writeFileSync(blob(d, mdigest), manifest);
        fs.rmSync(blob(d, manifestDigest));
        const index = fs.readFileSync(path.join(d, 'index.json'), 'utf8');
        fs.writeFileSync(
          path.join(d, 'index.json'),
          index
            .replace(manifestDigest, mdigest)
            .replace(/"size":\d+/, `"size":${Buffer.byteLength(manifest)}`),
        );
      });
      await rejects(['load', '-i', file], [/config/], { store });
    });

    it('malformed manifest.json of a docker-archive', async () => {
      const file = variant(docker, 'bad-docker-manifest', (d) =>
        fs.writeFileSync(path.join(d, 'manifest.json'), '[{"Config":'),
      );
      await rejects(['load', '-i', file], ['manifest.json'], { store });
    });

    it('a manifest that references a blob missing from the archive', async () => {
      const file = variant(layout, 'missing-layer', (d) => fs.rmSync(blob(d, layerDigest)));
      await rejects(['load', '-i', file], [layerDigest], { store });
      const noConfig = variant(layout, 'missing-config', (d) => fs.rmSync(blob(d, configDigest)));
      await rejects(['load', '-i', noConfig], [configDigest], { store });
      const noManifest = variant(layout, 'missing-manifest', (d) => fs.rmSync(blob(d, manifestDigest)));
      await rejects(['load', '-i', noManifest], [manifestDigest], { store });
    });

    it('a docker-archive whose manifest.json names a missing layer', async () => {
      const file = variant(docker, 'docker-missing-layer', (d) => {
        const m = JSON.parse(fs.readFileSync(path.join(d, 'manifest.json'), 'utf8')) as {
          Layers: string[];
        }[];
        fs.rmSync(path.join(d, m[0]!.Layers[0]!));
      });
      await rejects(['load', '-i', file], ['layer.tar'], { store });
    });
  });

  describe('unknown images', () => {
    for (const args of [
      ['rmi', 'nosuch:1'],
      ['rmi', '-f', 'nosuch:1'],
      ['inspect', 'nosuch:1'],
      ['history', 'nosuch:1'],
      ['tag', 'nosuch:1', 'other:2'],
      ['save', '-o', 'OUT', 'nosuch:1'],
      ['save', '-o', 'OUT', 'base:1', 'nosuch:1'],
      ['rmi', 'sha256:0000000000000000000000000000000000000000000000000000000000000000'],
    ]) {
      it(`skiff ${args.join(' ')}`, async () => {
        const out = path.join(s.dir, 'saved.tar');
        const real = args.map((a) => (a === 'OUT' ? out : a));
        const named = args.find((a) => a.includes('nosuch') || a.startsWith('sha256:'))!;
        await rejects(real, [named]);
        assert.ok(!fs.existsSync(out), 'save leaves no output file');
      });
    }
  });

  it('an unknown command is a usage error: one "Error:" line, exit 2', async () => {
    const r = await s.skiff(['frobnicate']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(oneLineError(r.stderr), /frobnicate/);
  });
});
