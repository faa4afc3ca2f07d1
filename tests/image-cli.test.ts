/**
 * The image verbs end to end through the real CLI: import → images (total, shared and unique
 * sizes) → tag → inspect → history → save (OCI layout and docker-archive) → rmi → load → the
 * same image back → system check → rmi all → system prune. Digests are judged by coreutils'
 * sha256sum and archives by GNU tar, never by skiff's own code.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import {
  busyboxTar,
  ls,
  makeSandbox,
  oneLineError,
  run,
  sandbox,
  sha256,
  sha256sum,
  skiff,
  tableRows,
  type Sandbox,
} from './helpers.js';
import { needs } from '../src/util/test-requirements.js';

interface ImageRow {
  id: string;
  tags: string[];
  manifests: string[];
  created: string;
  size: number;
  shared: number;
  unique: number;
  layers: number;
}

interface Inspect {
  Id: string;
  RepoTags: string[];
  Size: number;
  Config: { Cmd?: string[] };
  RootFS: { Type: string; Layers: string[] };
  Manifest: {
    digest: string;
    mediaType: string;
    size: number;
    content: { config: { digest: string; size: number }; layers: { digest: string; size: number }[] };
  };
  Layers: { diffId: string; size: number; blobs: { digest: string; mediaType: string; size: number }[] }[];
  History: { created_by?: string; comment?: string }[];
}

async function images(s: Sandbox): Promise<ImageRow[]> {
  return JSON.parse((await s.ok(['images', '--format', 'json'])).stdout) as ImageRow[];
}

async function inspect(s: Sandbox, name: string): Promise<Inspect> {
  const all = JSON.parse((await s.ok(['inspect', name])).stdout) as Inspect[];
  assert.equal(all.length, 1);
  return all[0]!;
}

function tarList(file: string): string[] {
  const r = spawnSync('tar', ['-tf', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tar -tf ${file}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

function tarRead(file: string, member: string): Buffer {
  const r = spawnSync('tar', ['-xOf', file, member], { maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `tar -xOf ${file} ${member}: ${r.stderr}`);
  return r.stdout;
}

/** Parses "Total reclaimed space: … (N bytes)". */
function bytesFreed(out: string): number {
  const m = /\((\d+) bytes?\)/.exec(out);
  assert.ok(m, `prune output names the bytes freed: ${out}`);
  return Number(m[1]);
}

describe('image lifecycle through the CLI', { skip: needs('root') }, () => {
  let s: Sandbox;
  let rootfs: string;
  let diffId: string;
  let baseId: string;
  let otherId: string;
  let soloId: string;
  let layerSize: number;

  before(() => {
    s = makeSandbox();
    rootfs = busyboxTar();
    diffId = sha256sum(rootfs);
    layerSize = fs.statSync(rootfs).size;
  });
  after(() => s.cleanup());

  it('imports a rootfs tar and prints its image ID', async () => {
    const r = await s.ok(['import', rootfs, 'base:1']);
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
    baseId = r.stdout.trim();
    assert.equal(r.stderr, '');
  });

  it('inspect: the diff ID is the sha256sum of the tar, the ID the config digest', async () => {
    const i = await inspect(s, 'base:1');
    assert.equal(i.Id, baseId);
    assert.deepEqual(i.RepoTags, ['docker.io/library/base:1']);
    assert.deepEqual(i.RootFS, { Type: 'layers', Layers: [diffId] });
    assert.equal(i.Layers.length, 1);
    assert.equal(i.Layers[0]!.diffId, diffId);
    assert.equal(i.Layers[0]!.size, layerSize);
    assert.equal(i.Manifest.content.config.digest, baseId);
    assert.equal(
      i.Manifest.size,
      fs.statSync(path.join(s.root, 'blobs/sha256', i.Manifest.digest.slice(7))).size,
    );
    // The config blob is stored under its digest, and hashes to it.
    assert.equal(sha256sum(path.join(s.root, 'blobs/sha256', baseId.slice(7))), baseId);
    assert.equal(i.History[0]?.created_by, 'skiff import');
    assert.ok(fs.existsSync(path.join(s.root, 'layers', diffId.slice(7), 'diff', 'bin', 'busybox')));
    assert.ok(fs.existsSync(path.join(s.root, 'layers', diffId.slice(7), 'tar-split.gz')));
  });

  it('a second import of the same tar reuses the layer; -c and -m reach the config', async () => {
    const r = await s.ok(['import', rootfs, 'other:1', '-c', 'CMD ["sh"]', '-m', 'second copy']);
    otherId = r.stdout.trim();
    assert.notEqual(otherId, baseId);
    assert.deepEqual(ls(path.join(s.root, 'layers')), [diffId.slice(7)]);
    const i = await inspect(s, 'other:1');
    assert.deepEqual(i.Config.Cmd, ['sh']);
    assert.equal(i.History[0]?.comment, 'second copy');
    assert.deepEqual(i.RootFS.Layers, [diffId]);
  });

  it('images: two images on one layer share it; their unique part is the config', async () => {
    const list = await images(s);
    assert.equal(list.length, 2);
    for (const [name, id] of [
      ['base', baseId],
      ['other', otherId],
    ] as const) {
      const row = list.find((x) => x.id === id);
      assert.ok(row, `${name} is listed`);
      const configSize = (await inspect(s, id)).Manifest.content.config.size;
      assert.deepEqual(row.tags, [`docker.io/library/${name}:1`]);
      assert.equal(row.layers, 1);
      assert.equal(row.shared, layerSize, `${name}: shared = the layer`);
      assert.equal(row.unique, configSize, `${name}: unique = its config`);
      assert.equal(row.size, layerSize + configSize, `${name}: size = layer + config`);
    }
    const table = tableRows((await s.ok(['images'])).stdout);
    assert.deepEqual(table[0], ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'SHARED', 'UNIQUE']);
    assert.equal(table.length, 3);
    for (const row of table.slice(1)) {
      assert.equal(row.length, 7, `row ${row.join('|')}`);
      assert.match(row[2]!, /^[0-9a-f]{12}$/);
      assert.notEqual(row[5], '0B', 'SHARED is the layer');
      assert.match(row[6]!, /^\d{3}B$/, 'UNIQUE is a config of a few hundred bytes');
    }
    const q = (await s.ok(['images', '-q'])).stdout.split('\n').filter(Boolean).sort();
    assert.deepEqual(q, [baseId.slice(7, 19), otherId.slice(7, 19)].sort());
  });

  it('images: a different image shares nothing and shows its own unique part', async () => {
    const dir = path.join(s.dir, 'solo');
    fs.mkdirSync(path.join(dir, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'etc', 'motd'), 'a different layer\n');
    const tar = path.join(s.dir, 'solo.tar');
    assert.equal(spawnSync('tar', ['-C', dir, '--numeric-owner', '-cf', tar, '.']).status, 0);
    soloId = (await s.ok(['import', tar, 'solo:1'])).stdout.trim();
    const list = await images(s);
    const solo = list.find((x) => x.id === soloId)!;
    const soloConfig = (await inspect(s, 'solo:1')).Manifest.content.config.size;
    assert.equal(solo.shared, 0);
    assert.equal(solo.unique, fs.statSync(tar).size + soloConfig);
    assert.equal(solo.size, solo.unique);
    assert.equal(list.find((x) => x.id === baseId)!.shared, layerSize, 'base still shares with other only');
    assert.equal(ls(path.join(s.root, 'layers')).length, 2);
  });

  it('tag gives the same image a second name', async () => {
    const r = await s.ok(['tag', 'base:1', 'base:latest']);
    assert.equal(r.stdout, '');
    const row = (await images(s)).find((x) => x.id === baseId)!;
    assert.deepEqual([...row.tags].sort(), ['docker.io/library/base:1', 'docker.io/library/base:latest']);
    assert.equal((await inspect(s, 'base')).Id, baseId, '`base` means base:latest');
    assert.equal((await inspect(s, 'docker.io/library/base:latest')).Id, baseId);
  });

  it('history lists the import step', async () => {
    const rows = JSON.parse((await s.ok(['history', 'base:1', '--format', 'json'])).stdout) as {
      id: string;
      createdBy: string;
      size: number;
    }[];
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.id, baseId);
    assert.equal(rows[0]!.createdBy, 'skiff import');
    assert.equal(rows[0]!.size, layerSize);
    const table = tableRows((await s.ok(['history', 'other:1'])).stdout);
    assert.deepEqual(table[0], ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT']);
    assert.equal(table.length, 2);
    assert.equal(table[1]![0], otherId.slice(7, 19));
    assert.ok(table[1]!.includes('second copy'));
  });

  it('save writes an OCI layout tar whose blobs hash to their names', async () => {
    const out = path.join(s.dir, 'base-oci.tar');
    const r = await s.ok(['save', '-o', out, 'base:1']);
    assert.equal(r.stdout, '');
    const names = tarList(out);
    assert.ok(names.includes('oci-layout') && names.includes('index.json'), names.join(' '));
    assert.deepEqual(JSON.parse(tarRead(out, 'oci-layout').toString()), { imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(tarRead(out, 'index.json').toString()) as {
      manifests: { digest: string; size: number; annotations: Record<string, string> }[];
    };
    assert.equal(index.manifests.length, 1);
    const top = index.manifests[0]!;
    assert.equal(top.annotations['io.containerd.image.name'], 'docker.io/library/base:1');
    assert.equal(top.annotations['org.opencontainers.image.ref.name'], '1');
    const blobs = names.filter((n) => /^(\.\/)?blobs\/sha256\/[0-9a-f]{64}$/.test(n));
    assert.equal(blobs.length, 3, 'manifest, config, one layer');
    for (const b of blobs) assert.equal(sha256(tarRead(out, b)), `sha256:${b.split('/').pop()}`, b);
    const manifestBytes = tarRead(out, `blobs/sha256/${top.digest.slice(7)}`);
    assert.equal(manifestBytes.length, top.size);
    const manifest = JSON.parse(manifestBytes.toString()) as {
      config: { digest: string };
      layers: { digest: string; mediaType: string }[];
    };
    assert.equal(manifest.config.digest, baseId);
    assert.equal(manifest.layers.length, 1);
    // Whatever the compression, the layer uncompresses to the diff ID.
    const layer = path.join(s.dir, 'layer.blob');
    fs.writeFileSync(layer, tarRead(out, `blobs/sha256/${manifest.layers[0]!.digest.slice(7)}`));
    const mediaType = manifest.layers[0]!.mediaType;
    const decompressor = mediaType.endsWith('+gzip')
      ? 'gzip'
      : mediaType.endsWith('+zstd')
        ? 'zstd'
        : undefined;
    const unpacked = decompressor
      ? spawnSync(decompressor, ['-dc', layer], { maxBuffer: 64 << 20 }).stdout
      : fs.readFileSync(layer);
    assert.equal(sha256(unpacked), diffId);
    // The compressed blob is remembered against the layer (DESIGN.md: never compressed twice).
    const blobsOfLayer = (await inspect(s, 'base:1')).Layers[0]!.blobs.map((b) => b.digest);
    assert.ok(blobsOfLayer.includes(manifest.layers[0]!.digest), blobsOfLayer.join(' '));
  });

  it('save --format docker-archive writes the classic layout; layer.tar is the diff ID', async () => {
    const out = path.join(s.dir, 'base-docker.tar');
    await s.ok(['save', '--format', 'docker-archive', '-o', out, 'base:1']);
    const manifest = JSON.parse(tarRead(out, 'manifest.json').toString()) as {
      Config: string;
      RepoTags: string[];
      Layers: string[];
    }[];
    assert.equal(manifest.length, 1);
    assert.deepEqual(manifest[0]!.RepoTags, ['base:1']);
    assert.equal(sha256(tarRead(out, manifest[0]!.Config)), baseId);
    assert.equal(manifest[0]!.Layers.length, 1);
    assert.equal(sha256(tarRead(out, manifest[0]!.Layers[0]!)), diffId);
  });

  it('save to stdout gives the same archive as -o', async () => {
    const r = await s.ok(['save', 'base:1']);
    assert.deepEqual(r.stdoutBytes, fs.readFileSync(path.join(s.dir, 'base-oci.tar')));
  });

  it('rmi untags, then deletes the image', async () => {
    const r1 = await s.ok(['rmi', 'base:1']);
    assert.match(r1.stdout, /^Untagged: base:1$/m);
    assert.doesNotMatch(r1.stdout, /Deleted/, 'base:latest still names it');
    const r2 = await s.ok(['rmi', 'base:latest', 'other:1', 'solo:1']);
    for (const id of [baseId, otherId, soloId]) assert.match(r2.stdout, new RegExp(`^Deleted: ${id}$`, 'm'));
    assert.deepEqual(await images(s), []);
    assert.deepEqual((await s.check()).problems, []);
  });

  it('load of the OCI tar brings back the same ID and tag', async () => {
    const r = await s.ok(['load', '-i', path.join(s.dir, 'base-oci.tar')]);
    assert.equal(r.stdout, 'Loaded image: base:1\n');
    const i = await inspect(s, 'base:1');
    assert.equal(i.Id, baseId);
    assert.deepEqual(i.RepoTags, ['docker.io/library/base:1']);
    assert.deepEqual(i.RootFS.Layers, [diffId]);
    await s.ok(['rmi', 'base:1']);
  });

  it('load of the docker-archive from stdin brings back the same ID and tag', async () => {
    const r = await s.ok(['load'], { input: { file: path.join(s.dir, 'base-docker.tar') } });
    assert.equal(r.stdout, 'Loaded image: base:1\n');
    const i = await inspect(s, 'base:1');
    assert.equal(i.Id, baseId);
    assert.deepEqual(i.RootFS.Layers, [diffId]);
    assert.ok(fs.existsSync(path.join(s.root, 'layers', diffId.slice(7), 'diff', 'bin', 'busybox')));
  });

  it('system check finds no damage', async () => {
    const r = await s.skiff(['system', 'check']);
    assert.equal(r.code, 0, r.stderr);
    const report = await s.check();
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.garbage, { tempFiles: 0, unreferencedBlobs: 0, unreferencedLayers: 0 });
  });

  it('rmi of everything, then prune frees the garbage and leaves blobs/ and layers/ empty', async () => {
    await s.ok(['rmi', 'base:1']);
    assert.deepEqual(await images(s), []);
    // What a crash can leave: a complete blob nothing references, and a temp file.
    const orphan = Buffer.alloc(4096, 'orphan');
    fs.writeFileSync(path.join(s.root, 'blobs/sha256', sha256(orphan).slice(7)), orphan);
    fs.writeFileSync(path.join(s.root, 'tmp', 'ingest-crashed'), Buffer.alloc(1000));
    const report = await s.check();
    assert.deepEqual(report.problems, []);
    assert.equal(report.garbage.unreferencedBlobs, 1);
    assert.equal(report.garbage.tempFiles, 1);
    const r = await s.ok(['system', 'prune']);
    assert.ok(bytesFreed(r.stdout) >= orphan.length + 1000, r.stdout);
    for (const sub of ['blobs/sha256', 'layers', 'tmp'])
      assert.deepEqual(ls(path.join(s.root, sub)), [], sub);
    const again = await s.check();
    assert.deepEqual(again.garbage, { tempFiles: 0, unreferencedBlobs: 0, unreferencedLayers: 0 });
    assert.equal(bytesFreed((await s.ok(['system', 'prune'])).stdout), 0, 'a second prune frees nothing');
  });
});

test('importing the same tar twice keeps one layer directory', { skip: needs('root') }, async (t) => {
  const s = sandbox(t);
  const a = (await s.ok(['import', busyboxTar(), 'a:1'])).stdout.trim();
  const b = (await s.ok(['import', busyboxTar(), 'b:1'])).stdout.trim();
  assert.notEqual(a, b, 'two imports are two images (created differs)');
  assert.deepEqual(ls(path.join(s.root, 'layers')), [sha256sum(busyboxTar()).slice(7)]);
  assert.deepEqual(ls(path.join(s.root, 'tmp')), []);
});

test(
  'gzip and zstd rootfs tars (file and stdin) import to the diff ID of the plain tar',
  { skip: needs('root', 'gzip', 'zstd') },
  async (t) => {
    const s = sandbox(t);
    const plain = busyboxTar();
    const diffId = sha256sum(plain);
    const gz = path.join(s.dir, 'rootfs.tar.gz');
    const zst = path.join(s.dir, 'rootfs.tar.zst');
    assert.equal((await run('bash', ['-c', `gzip -c "$1" > "$2"`, '-', plain, gz])).code, 0);
    assert.equal((await run('zstd', ['-q', '-o', zst, plain])).code, 0);
    const layersOf = async (name: string) => (await inspect(s, name)).RootFS.Layers;
    await s.ok(['import', gz, 'gz:1']);
    await s.ok(['import', zst, 'zst:1']);
    await s.ok(['import', '-', 'stdin-gz:1'], { input: { file: gz } });
    await s.ok(['import', '-', 'stdin-zst:1'], { input: { file: zst } });
    for (const name of ['gz:1', 'zst:1', 'stdin-gz:1', 'stdin-zst:1'])
      assert.deepEqual(await layersOf(name), [diffId], name);
    assert.deepEqual(ls(path.join(s.root, 'layers')), [diffId.slice(7)]);
    assert.deepEqual((await s.check()).problems, []);
  },
);

test('SKIFF_ROOT selects the store like --root', { skip: needs('root') }, async (t) => {
  const s = sandbox(t);
  const r = await skiff(['import', busyboxTar(), 'env:1'], { env: { SKIFF_ROOT: s.root } });
  assert.equal(r.code, 0, r.stderr);
  const list = JSON.parse((await s.ok(['images', '--format', 'json'])).stdout) as ImageRow[];
  assert.deepEqual(
    list.map((x) => x.tags),
    [['docker.io/library/env:1']],
  );
});

test('a usage error exits 2 with one line', { skip: needs('root') }, async (t) => {
  const s = sandbox(t);
  for (const args of [['import'], ['images', '--bogus'], ['tag', 'only-one']]) {
    const r = await s.skiff(args);
    assert.equal(r.code, 2, `skiff ${args.join(' ')}: ${r.stderr}`);
    oneLineError(r.stderr);
  }
});

test(
  'images NAME finds an image by any name the other verbs take, a registry port included',
  { skip: needs('root') },
  async (t) => {
    const s = sandbox(t);
    const big = (await s.ok(['import', busyboxTar(), '127.0.0.1:5055/alice/big:v1'])).stdout.trim();
    const other = (await s.ok(['import', busyboxTar(), 'alice/big:v2'])).stdout.trim();
    const ids = async (...args: string[]) =>
      (await s.ok(['images', '-q', '--no-trunc', ...args])).stdout.split('\n').filter(Boolean);
    assert.deepEqual(await ids('127.0.0.1:5055/alice/big'), [big]);
    assert.deepEqual(await ids('127.0.0.1:5055/alice/big:v1'), [big]);
    assert.deepEqual(await ids('127.0.0.1:5055/alice/big:v2'), []);
    assert.deepEqual(await ids('alice/big'), [other], 'Docker Hub names are normalised as pull reads them');
    assert.deepEqual(await ids('docker.io/alice/big:v2'), [other]);
    // Only the rows it names, as Docker shows them; sizes as in the whole list.
    await s.ok(['tag', '127.0.0.1:5055/alice/big:v1', 'elsewhere:1']);
    const rows = tableRows((await s.ok(['images', '127.0.0.1:5055/alice/big'])).stdout);
    assert.deepEqual(
      rows.slice(1).map((r) => r.slice(0, 2)),
      [['127.0.0.1:5055/alice/big', 'v1']],
    );
    const all = JSON.parse((await s.ok(['images', '--format', 'json'])).stdout) as ImageRow[];
    const one = JSON.parse(
      (await s.ok(['images', '--format', 'json', '127.0.0.1:5055/alice/big'])).stdout,
    ) as ImageRow[];
    assert.deepEqual(one, [{ ...all.find((i) => i.id === big)!, tags: ['127.0.0.1:5055/alice/big:v1'] }]);
  },
);
