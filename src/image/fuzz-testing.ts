/**
 * The fuzzer of untrusted input (DESIGN.md, "Trust"), shared by the CI test (a fixed seed, a few
 * thousand cases) and `npm run bench:fuzz` (any seed, any number). Each case mutates a valid
 * input and feeds it to what reads it from outside:
 *
 *   tar       readTar, every body read
 *   apply     applyLayer into a fresh directory, with the tar-split recorder
 *   manifest  parseManifestOrIndex
 *   config    parseImageConfig
 *   load      loadArchive of an OCI layout into a real store
 *
 * Every input must be accepted, or refused with a SkiffError that did not come from Node's own
 * argument checks (no TypeError or RangeError in its causes, no catch-all APPLY_LAYER_FAILED).
 * Nothing may be left behind: apply writes nothing outside its root, and a tar it accepts
 * rebuilds byte for byte from the files and the record; a load leaves tmp/ empty, and a refused
 * one adds no blob, layer or row (an accepted one is removed again and collected).
 *
 * Case `i` of seed `s` depends on nothing but (s, i), so `--seed s --case i` replays it alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { applyLayer } from '../archive/apply-layer.js';
import { compressGzip } from '../archive/compression.js';
import { caseSeed, mutateTar, Random, randomLayerTar } from '../archive/fuzz-testing.js';
import { reassembleTar, TarSplitWriter } from '../archive/tar-split.js';
import { readTar } from '../archive/tar-reader.js';
import { writeTar } from '../archive/tar-writer.js';
import { parseImageConfig } from '../oci/config.js';
import { digestOf } from '../oci/digest.js';
import { parseManifestOrIndex } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import { checkStore } from '../store/check.js';
import { collectGarbage } from '../store/gc.js';
import { removeTree } from '../store/layer-store.js';
import type { Store } from '../store/store.js';
import { SkiffError } from '../util/errors.js';
import { loadArchive } from './load.js';

export const FUZZ_KINDS = ['tar', 'apply', 'manifest', 'config', 'load'] as const;
export type FuzzKind = (typeof FUZZ_KINDS)[number];

/** How often each kind comes up: the in-memory parsers are cheap, a load into a store is not. */
const WEIGHTS: Record<FuzzKind, number> = { tar: 30, apply: 30, manifest: 15, config: 15, load: 10 };

export interface FuzzFailure {
  index: number;
  kind: FuzzKind;
  problem: string;
}

export interface FuzzReport {
  cases: number;
  accepted: number;
  refused: number;
  byKind: Record<FuzzKind, { accepted: number; refused: number }>;
  failures: FuzzFailure[];
  /** Problems `system check` found in the load store at the end. */
  storeProblems: string[];
}

export interface FuzzOptions {
  seed: number;
  /** Cases 0 … cases−1, or only `only`. */
  cases: number;
  only?: number;
  /** A directory of its own for temp trees; the load store lives in it. */
  dir: string;
  store: Store;
  /** Called after each case, for progress. */
  onCase?: (index: number, kind: FuzzKind, outcome: 'accepted' | 'refused' | 'failed') => void;
}

class Failure extends Error {}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const byKind = Object.fromEntries(
    FUZZ_KINDS.map((k) => [k, { accepted: 0, refused: 0 }]),
  ) as FuzzReport['byKind'];
  const report: FuzzReport = { cases: 0, accepted: 0, refused: 0, byKind, failures: [], storeProblems: [] };
  const indexes =
    options.only !== undefined ? [options.only] : Array.from({ length: options.cases }, (_, i) => i);
  for (const index of indexes) {
    const rng = new Random(caseSeed(options.seed, index));
    const kind = pickKind(rng);
    let outcome: 'accepted' | 'refused' | 'failed';
    try {
      outcome = (await CASES[kind](rng, options, index)) ? 'accepted' : 'refused';
    } catch (err) {
      outcome = 'failed';
      report.failures.push({ index, kind, problem: describe(err) });
    }
    report.cases++;
    if (outcome !== 'failed') {
      report[outcome]++;
      byKind[kind][outcome]++;
    }
    options.onCase?.(index, kind, outcome);
  }
  const checked = await checkStore(options.store);
  report.storeProblems = checked.problems;
  const g = checked.garbage;
  if (g.tempFiles + g.unreferencedBlobs + g.unreferencedLayers > 0)
    report.storeProblems.push(`garbage left: ${JSON.stringify(g)}`);
  return report;
}

function pickKind(rng: Random): FuzzKind {
  let n = rng.int(Object.values(WEIGHTS).reduce((a, b) => a + b, 0));
  for (const kind of FUZZ_KINDS) {
    n -= WEIGHTS[kind];
    if (n < 0) return kind;
  }
  return 'tar';
}

function describe(err: unknown): string {
  if (err instanceof Failure) return err.message;
  const e = err as Error;
  return `${e?.constructor?.name ?? typeof err}: ${e?.message ?? String(err)}${e?.stack ? `\n${e.stack}` : ''}`;
}

/**
 * Runs `fn`: true when it accepts the input, false when it refuses it properly; throws a
 * Failure when the refusal is Node's internals, not skiff's own error.
 */
async function verdict(fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (err) {
    if (!(err instanceof SkiffError)) throw err;
    if (err.code === 'APPLY_LAYER_FAILED') throw new Failure(`refused with Node's message: ${err.message}`);
    for (let cause: unknown = err.cause; cause instanceof Error; cause = cause.cause) {
      if (cause instanceof TypeError || cause instanceof RangeError)
        throw new Failure(`refused with ${err.code} caused by ${cause.name}: ${err.message}`);
    }
    return false;
  }
}

async function* chunks(data: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += 4096) yield data.subarray(i, i + 4096);
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

const CASES: Record<FuzzKind, (rng: Random, o: FuzzOptions, index: number) => Promise<boolean>> = {
  async tar(rng) {
    const tar = mutateTar(rng, await randomLayerTar(rng));
    return verdict(async () => {
      for await (const { body } of readTar(chunks(tar))) for await (const _ of body) void _;
    });
  },

  async apply(rng, o, index) {
    const tar = mutateTar(rng, await randomLayerTar(rng));
    const base = path.join(o.dir, `apply-${index}`);
    const root = path.join(base, 'root');
    const split = path.join(base, 'tar-split.gz');
    fs.mkdirSync(root, { recursive: true });
    try {
      const recorder = new TarSplitWriter(split);
      const accepted = await verdict(async () => {
        try {
          await applyLayer(chunks(tar), root, { recorder });
        } finally {
          await recorder.close();
        }
      });
      const around = fs.readdirSync(base).sort().join(',');
      if (around !== 'root,tar-split.gz') throw new Failure(`apply wrote beside its root: ${around}`);
      if (fs.readdirSync(o.dir).some((n) => !/^(apply-\d+|store)$/.test(n)))
        throw new Failure(`apply wrote outside its directory: ${fs.readdirSync(o.dir).join(',')}`);
      if (accepted && !(await collect(reassembleTar(split, root))).equals(tar))
        throw new Failure('an accepted tar does not rebuild byte for byte from its files and record');
      return accepted;
    } finally {
      removeTree(base);
    }
  },

  async manifest(rng) {
    const bytes = mutateJson(rng, rng.chance(0.7) ? sampleManifest(rng) : sampleIndex(rng));
    const hint = rng.pick([
      undefined,
      MediaType.OciManifest,
      MediaType.OciIndex,
      MediaType.DockerManifest,
      'text/plain',
    ]);
    return verdict(async () => parseManifestOrIndex(bytes, hint));
  },

  async config(rng) {
    const bytes = mutateJson(rng, sampleConfig([digestOf('layer')]));
    return verdict(async () => parseImageConfig(bytes));
  },

  async load(rng, o) {
    const archive = await ociArchive(rng);
    const store = o.store;
    const before = storeContents(store);
    let loaded: { id: string }[] = [];
    const accepted = await verdict(async () => {
      loaded = await loadArchive(store, chunks(archive));
    });
    const tmp = fs.readdirSync(store.paths.tmp);
    if (tmp.length > 0) throw new Failure(`load left tmp/ not empty: ${tmp.join(', ')}`);
    if (!accepted && storeContents(store) !== before)
      throw new Failure(`a refused load changed the store:\n${before}\n→\n${storeContents(store)}`);
    if (accepted) {
      // Back to nothing: the next case starts from the same store.
      await store.locked('exclusive', () => {
        store.meta.transaction(() => {
          for (const { id } of loaded)
            for (const m of store.meta.manifestsOf(id)) store.meta.deleteManifest(m.digest);
        });
        collectGarbage(store, { dangling: true, temp: true });
      });
      if (storeContents(store) !== before) throw new Failure('an accepted load could not be removed again');
    }
    return accepted;
  },
};

/** Blobs, layers and image rows of a store, as one comparable string. */
function storeContents(store: Store): string {
  return JSON.stringify({
    blobs: [...store.content.list()].sort(),
    layers: [...store.layers.list()].sort(),
    images: store.meta.images().map((i) => i.id),
    layerRows: store.meta.layers().map((l) => l.diff_id),
    blobRows: store.meta.layerBlobs().map((b) => b.digest),
  });
}

// --- JSON documents ---------------------------------------------------------------------------

function sampleConfig(diffIds: string[]): Record<string, unknown> {
  return {
    created: '2024-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['sh'], Env: ['PATH=/bin'], ExposedPorts: { '80/tcp': {} }, Labels: { a: 'b' } },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: [{ created_by: 'fuzz', empty_layer: false }],
  };
}

function sampleManifest(rng: Random): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: rng.pick([MediaType.OciManifest, MediaType.DockerManifest]),
    config: { mediaType: MediaType.OciConfig, digest: digestOf('config'), size: 6 },
    layers: [{ mediaType: MediaType.OciLayerGzip, digest: digestOf('layer'), size: 5 }],
    annotations: { k: 'v' },
  };
}

function sampleIndex(rng: Random): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [
      {
        mediaType: MediaType.OciManifest,
        digest: digestOf('m'),
        size: 1,
        platform: { os: 'linux', architecture: rng.pick(['amd64', 'arm64']), variant: 'v8' },
      },
    ],
  };
}

function hostileJson(rng: Random): unknown {
  const deep = (n: number): unknown => {
    let v: unknown = [];
    for (let i = 0; i < n; i++) v = [v];
    return v;
  };
  return rng.pick<() => unknown>([
    () => null,
    () => true,
    () => 0,
    () => -1,
    () => 1.5,
    () => 1e308,
    () => -1e308,
    () => 2 ** 53 + 2,
    () => '',
    () => 'x'.repeat(rng.int(5000)),
    () => `sha256:${'a'.repeat(64)}`,
    () => 'sha256:zz',
    () => `sha512:${'b'.repeat(128)}`,
    () => 'md5:abc',
    () => '../../etc/passwd',
    () => 'a\u0000b',
    () => [],
    () => ({}),
    () => deep(rng.int(3000)),
    () => MediaType.OciLayerGzip,
    () => MediaType.OciIndex,
    () => 'application/vnd.docker.distribution.manifest.v1+json',
    () => ({ os: 'linux', architecture: 'amd64' }),
  ])();
}

/** A JSON value with 1–3 of its members replaced, removed or added; sometimes its text flipped. */
function mutateJson(rng: Random, doc: unknown): Buffer {
  const value = structuredClone(doc);
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const nodes: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
    const visit = (v: unknown, depth: number) => {
      if (depth > 6 || v === null || typeof v !== 'object') return;
      for (const [k, child] of Object.entries(v)) {
        nodes.push({ parent: v as Record<string, unknown>, key: Array.isArray(v) ? Number(k) : k });
        visit(child, depth + 1);
      }
    };
    visit(value, 0);
    if (nodes.length === 0) break;
    const { parent, key } = rng.pick(nodes);
    const p = parent as Record<string | number, unknown>;
    const r = rng.int(10);
    if (r < 6) p[key] = hostileJson(rng);
    else if (r < 8) {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete p[key];
    } else if (Array.isArray(parent)) parent.push(hostileJson(rng));
    else
      p[rng.pick(['extra', 'size', 'digest', 'mediaType', 'urls', 'subject', 'platform'])] = hostileJson(rng);
  }
  let text = Buffer.from(JSON.stringify(value), 'utf8');
  if (rng.chance(0.15) && text.length > 0) {
    text = Buffer.from(text);
    for (let k = 1 + rng.int(3); k > 0; k--) text[rng.int(text.length)] = rng.int(256);
  }
  if (rng.chance(0.05)) text = text.subarray(0, rng.int(text.length + 1));
  return text;
}

// --- OCI layout archives ------------------------------------------------------------------------

/**
 * An OCI layout tar of one image of one layer, with one part mutated: the layer tar (with the
 * digests that name it made right, so it reaches the unpacker), the config or the manifest (the
 * same), index.json, or the archive's own bytes.
 */
async function ociArchive(rng: Random): Promise<Buffer> {
  const target = rng.pick(['layer', 'layer', 'layer', 'config', 'manifest', 'index', 'archive', 'none']);
  let layerTar = await randomLayerTar(rng);
  if (target === 'layer') layerTar = mutateTar(rng, layerTar);
  const gzip = rng.chance(0.6);
  const layer = gzip ? await collect(compressGzip(chunks(layerTar))) : layerTar;
  const configDoc = sampleConfig([digestOf(layerTar)]);
  const config = target === 'config' ? mutateJson(rng, configDoc) : Buffer.from(JSON.stringify(configDoc));
  const manifestDoc = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: digestOf(config), size: config.length },
    layers: [
      {
        mediaType: gzip ? MediaType.OciLayerGzip : MediaType.OciLayer,
        digest: digestOf(layer),
        size: layer.length,
      },
    ],
  };
  const manifest =
    target === 'manifest' ? mutateJson(rng, manifestDoc) : Buffer.from(JSON.stringify(manifestDoc));
  const indexDoc = {
    schemaVersion: 2,
    manifests: [
      {
        mediaType: MediaType.OciManifest,
        digest: digestOf(manifest),
        size: manifest.length,
        annotations: { 'io.containerd.image.name': 'docker.io/library/fuzz:1' },
      },
    ],
  };
  const index = target === 'index' ? mutateJson(rng, indexDoc) : Buffer.from(JSON.stringify(indexDoc));
  const blob = (data: Buffer) => ({ name: `blobs/sha256/${digestOf(data).slice(7)}`, data });
  const files = [
    { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { name: 'index.json', data: index },
    ...[manifest, config, layer].map(blob),
  ];
  const archive = await collect(
    writeTar(
      files.map(({ name, data }) => ({
        entry: { name, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0 },
        body: data,
      })),
    ),
  );
  return target === 'archive' ? mutateTar(rng, archive) : archive;
}
