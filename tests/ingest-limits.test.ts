/**
 * Limits on what comes in (DESIGN.md, "Trust"): a config over the metadata limit and an image of
 * more layers than skiff can mount are refused before anything is downloaded (a pull) or
 * unpacked (a load); a layer or an image over its uncompressed limit, and a layer that expands
 * like a decompression bomb, are stopped as they unpack. The limits come from the command's
 * flags over the store's settings.json. Each refusal is one line naming the input and what is
 * wrong, and leaves the store as it was: `system check` clean, no garbage, tmp/ empty.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import zlib from 'node:zlib';
import { writeTar } from '../src/archive/tar-writer.js';
import { MediaType } from '../src/oci/media-types.js';
import { pushBlob, raw, startRegistry, type TestRegistry } from '../src/registry/server/testing.js';
import { needs } from '../src/util/test-requirements.js';
import { oneLineError, sandbox, sha256, snapshotDiff, storeSnapshot, type Sandbox } from './helpers.js';

const MiB = 2 ** 20;

async function tarOf(files: { name: string; data: Buffer }[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  const entries = files.map(({ name, data }) => ({
    entry: {
      name,
      type: 'file' as const,
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: data.length,
      mtime: 1_700_000_000,
    },
    body: data,
  }));
  for await (const chunk of writeTar(entries)) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

/** A layer tar of one file of `size` bytes, random (incompressible) or zeros. */
function layerTar(name: string, size: number, fill: 'random' | 'zeros' = 'random'): Promise<Buffer> {
  return tarOf([{ name, data: fill === 'random' ? randomBytes(size) : Buffer.alloc(size) }]);
}

function configOf(diffIds: string[], pad = 0): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['sh'], Labels: pad > 0 ? { pad: 'x'.repeat(pad) } : {} },
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
}

interface Layer {
  /** The uncompressed tar. */
  tar: Buffer;
  gzip?: boolean;
}

const blobOf = (l: Layer): Buffer => (l.gzip ? zlib.gzipSync(l.tar) : l.tar);

function manifestOf(config: Buffer, layers: Layer[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: sha256(config), size: config.length },
      layers: layers.map((l) => {
        const blob = blobOf(l);
        return {
          mediaType: l.gzip ? MediaType.OciLayerGzip : MediaType.OciLayer,
          digest: sha256(blob),
          size: blob.length,
        };
      }),
    }),
  );
}

/** `name:1` on the registry: a config (padded by `pad` bytes) over `layers`. */
async function serve(registry: TestRegistry, name: string, layers: Layer[], pad = 0): Promise<void> {
  const config = configOf(
    layers.map((l) => sha256(l.tar)),
    pad,
  );
  await pushBlob(registry.url, name, config);
  for (const l of layers) await pushBlob(registry.url, name, blobOf(l));
  const res = await raw(registry.url, 'PUT', `/v2/${name}/manifests/1`, {
    body: manifestOf(config, layers),
    headers: { 'Content-Type': MediaType.OciManifest },
  });
  assert.equal(res.status, 201, `serve ${name}: ${res.body.toString()}`);
}

/** An OCI layout archive of the same image, as `skiff save` would write it. */
async function ociArchive(file: string, layers: Layer[], pad = 0): Promise<string> {
  const config = configOf(
    layers.map((l) => sha256(l.tar)),
    pad,
  );
  const manifest = manifestOf(config, layers);
  const index = JSON.stringify({
    schemaVersion: 2,
    manifests: [
      {
        mediaType: MediaType.OciManifest,
        digest: sha256(manifest),
        size: manifest.length,
        annotations: { 'io.containerd.image.name': 'docker.io/library/limits:1' },
      },
    ],
  });
  const blobs = new Map([config, manifest, ...layers.map(blobOf)].map((b) => [sha256(b).slice(7), b]));
  fs.writeFileSync(
    file,
    await tarOf([
      { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
      { name: 'index.json', data: Buffer.from(index) },
      ...[...blobs].map(([hex, data]) => ({ name: `blobs/sha256/${hex}`, data })),
    ]),
  );
  return file;
}

/** A docker-archive (`docker save`) of the image: layers as `<n>/layer.tar`, the config as `<hex>.json`. */
async function dockerArchive(file: string, layers: Layer[], pad = 0): Promise<string> {
  const config = configOf(
    layers.map((l) => sha256(l.tar)),
    pad,
  );
  const configName = `${sha256(config).slice(7)}.json`;
  const manifest = [
    { Config: configName, RepoTags: ['limits:1'], Layers: layers.map((_, i) => `${i}/layer.tar`) },
  ];
  fs.writeFileSync(
    file,
    await tarOf([
      { name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) },
      { name: configName, data: config },
      ...layers.map((l, i) => ({ name: `${i}/layer.tar`, data: blobOf(l) })),
    ]),
  );
  return file;
}

describe('limits on what comes in', { skip: needs('root') }, () => {
  let registry: TestRegistry;
  const requests: string[] = [];
  let host: string;
  let work: string;

  before(async () => {
    registry = await startRegistry({ log: (line) => requests.push(line) });
    host = registry.url.slice('http://'.length);
    work = fs.mkdtempSync(path.join(registry.root, '..', 'work-'));
  });
  after(async () => {
    await registry?.close();
  });

  /** Blob downloads the registry served for `name` since `from`. */
  const downloads = (name: string, from: number) =>
    requests.slice(from).filter((line) => line.startsWith(`GET /v2/${name}/blobs/`));

  /**
   * `skiff args` must fail with one line that mentions each of `mentions`, and leave the store as
   * it was: the same files, `system check` clean, no garbage, tmp/ empty.
   */
  async function refused(s: Sandbox, args: string[], mentions: (string | RegExp)[]): Promise<string> {
    const before = storeSnapshot(s.root);
    const r = await s.skiff(args);
    assert.notEqual(r.code, 0, `skiff ${args.join(' ')} must fail; stdout: ${r.stdout}`);
    const line = oneLineError(r.stderr);
    for (const m of mentions) {
      if (typeof m === 'string') assert.ok(line.includes(m), `error names ${m}: ${line}`);
      else assert.match(line, m);
    }
    assert.deepEqual(snapshotDiff(before, storeSnapshot(s.root)), [], 'the store is as it was');
    const report = await s.check();
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.garbage, { tempFiles: 0, unreferencedBlobs: 0, unreferencedLayers: 0 });
    assert.deepEqual(fs.readdirSync(path.join(s.root, 'tmp')), []);
    return line;
  }

  const store = async (t: TestContext, settings?: Record<string, unknown>): Promise<Sandbox> => {
    const s = sandbox(t, 'skiff-limits-');
    await s.ok(['images']);
    if (settings) fs.writeFileSync(path.join(s.root, 'settings.json'), JSON.stringify(settings));
    return s;
  };

  it('a config over the 4 MiB metadata limit: pull refuses it unfetched, load unread', async (t) => {
    const s = await store(t);
    const layers = [{ tar: await layerTar('a', 100) }];
    const pad = 5 * MiB;
    await serve(registry, 'limits/bigconfig', layers, pad);
    const from = requests.length;
    await refused(
      s,
      ['pull', `${host}/limits/bigconfig:1`],
      [`pull \`${host}/limits/bigconfig:1\`: config \``, 'more than the 4194304 (4 MiB) skiff reads for one'],
    );
    assert.deepEqual(downloads('limits/bigconfig', from), [], 'neither config nor layer was downloaded');

    const oci = await ociArchive(path.join(work, 'bigconfig-oci.tar'), layers, pad);
    await refused(
      s,
      ['load', '-i', oci],
      [
        /^Error: load archive: manifest sha256:\w+ config: blob sha256:\w+ is \d+ bytes, more than the 4194304/,
      ],
    );
    const docker = await dockerArchive(path.join(work, 'bigconfig-docker.tar'), layers, pad);
    await refused(
      s,
      ['load', '-i', docker],
      [/^Error: load archive: `\w+\.json` is \d+ bytes, more than the 4194304/],
    );
  });

  it('an image of more layers than one overlay mount takes: refused before any layer moves', async (t) => {
    const s = await store(t);
    const layers = await Promise.all(
      Array.from({ length: 201 }, async (_, i) => ({ tar: await layerTar(`f${i}`, 10) })),
    );
    await serve(registry, 'limits/deep', layers);
    const from = requests.length;
    await refused(
      s,
      ['pull', `${host}/limits/deep:1`],
      [`pull \`${host}/limits/deep:1\`: the image has 201 layers, more than the 200 skiff can mount`],
    );
    assert.deepEqual(downloads('limits/deep', from), [], 'nothing was downloaded');
    const oci = await ociArchive(path.join(work, 'deep.tar'), layers);
    await refused(
      s,
      ['load', '-i', oci],
      ['load archive: manifest sha256:', 'the image has 201 layers, more than the 200'],
    );
  });

  it('a decompression bomb stops past the floor, in pull, load and import; a flag may allow it', async (t) => {
    // 48 MiB of zeros gzip to ~48 KiB, a thousandfold; the floor is lowered to keep this fast.
    const s = await store(t, { expansionFloor: '8MiB' });
    const bomb: Layer = { tar: await layerTar('zeros', 48 * MiB, 'zeros'), gzip: true };
    const gz = blobOf(bomb);
    await serve(registry, 'limits/bomb', [bomb]);
    await refused(
      s,
      ['pull', `${host}/limits/bomb:1`],
      [
        `pull \`${host}/limits/bomb:1\`: layer \`${sha256(gz)}\` expands more than 100× its`,
        'compressed (past 8 MiB); a decompression bomb? (--max-expansion)',
      ],
    );
    const oci = await ociArchive(path.join(work, 'bomb-oci.tar'), [bomb]);
    await refused(s, ['load', '-i', oci], [`load archive: layer \`${sha256(gz)}\` expands more than 100×`]);
    const docker = await dockerArchive(path.join(work, 'bomb-docker.tar'), [bomb]);
    await refused(s, ['load', '-i', docker], ['load archive: layer `0/layer.tar` expands more than 100×']);
    const file = path.join(work, 'bomb.tar.gz');
    fs.writeFileSync(file, gz);
    await refused(s, ['import', file, 'bomb:1'], ['import: the layer expands more than 100×']);

    await s.ok(['pull', '--max-expansion', '5000', `${host}/limits/bomb:1`]);
    const report = await s.check();
    assert.deepEqual(report.problems, []);
  });

  it('a layer or an image over its uncompressed limit: flags, then settings.json', async (t) => {
    const s = await store(t, { maxImageSize: '3MiB' });
    const layers: Layer[] = [
      { tar: await layerTar('a', 2 * MiB) },
      { tar: await layerTar('b', 2 * MiB), gzip: true },
    ];
    await serve(registry, 'limits/sizes', layers);
    const name = `${host}/limits/sizes:1`;
    await refused(
      s,
      ['pull', '--max-layer-size', '1MiB', name],
      [
        `pull \`${name}\`: layer \`sha256:`,
        'is over 1 MiB uncompressed, the limit for one layer (--max-layer-size)',
      ],
    );
    await refused(
      s,
      ['pull', name],
      [`pull \`${name}\`: the image is over 3 MiB uncompressed, the limit for one image (--max-image-size)`],
    );
    const docker = await dockerArchive(path.join(work, 'sizes-docker.tar'), layers);
    await refused(
      s,
      ['load', '--max-layer-size', '1m', '-i', docker],
      ['load archive: layer `0/layer.tar` is over 1 MiB'],
    );
    await refused(s, ['load', '-i', docker], ['load archive: the image is over 3 MiB uncompressed']);
    await refused(
      s,
      ['pull', '--max-layer-size', 'lots', name],
      ['pull: --max-layer-size `lots`: not a size'],
    );

    await s.ok(['pull', '--max-image-size', '8MiB', name]);
    assert.deepEqual((await s.check()).problems, []);
  });
});
