/**
 * `skiff push`/`pull` against skopeo and podman, to and from Debian's docker-registry on
 * loopback, in one run:
 *
 *   node dist/bench/registry-push-pull.js [--mb 200]
 *
 * The image: the busybox rootfs + a layer of --mb MB random bytes + a layer of --mb MB of text
 * (files under /usr/share and /usr/include concatenated), loaded into a fresh skiff store from
 * a docker-archive (so skiff has only unpacked layers and must compress on push).
 *
 *   1. skiff push, cold (compression included), to a fresh registry;
 *   2. skopeo copy of the same image saved by skiff as an oci-archive (gzip blobs ready) to a
 *      fresh registry, against skiff push with its blobs ready to another fresh registry (no
 *      blob there to find or mount: the upload itself);
 *   3. podman push of the image loaded into a private podman store (podman compresses), to a
 *      fresh registry;
 *   4. skiff push after adding a 10 MB layer: the bytes uploaded must be that layer's blob;
 *   5. skiff pull into an empty store against podman pull into an empty private store.
 *
 * Times are wall clock for the whole command, process start included. Needs root. Not a test.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { textCorpus } from './text-corpus.js';
import { busyboxTar, podman, skiff, type Podman } from '../tests/helpers.js';
import { startRegistry, type Registry } from '../tests/registry-client-testing.js';

const MB = 1e6;
const i = process.argv.indexOf('--mb');
const layerMB = i >= 0 ? Number(process.argv[i + 1]) : 200;

function must(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 5).join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** A layer tar holding one file. */
function layerTar(work: string, name: string, data: Buffer): string {
  const dir = fs.mkdtempSync(path.join(work, 'layer-'));
  fs.mkdirSync(path.join(dir, 'data'));
  fs.writeFileSync(path.join(dir, 'data', name), data);
  const tar = path.join(work, `${name}.tar`);
  must('tar', ['-C', dir, '--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '-cf', tar, 'data']);
  fs.rmSync(dir, { recursive: true });
  return tar;
}

/** A docker-archive of the given layer tars, tagged `tag`. */
function dockerArchive(work: string, layers: string[], tag: string, out: string): void {
  const dir = fs.mkdtempSync(path.join(work, 'archive-'));
  const names = layers.map((layer, n) => {
    fs.mkdirSync(path.join(dir, `l${n}`));
    fs.linkSync(layer, path.join(dir, `l${n}`, 'layer.tar'));
    return `l${n}/layer.tar`;
  });
  const diffIds = layers.map((l) => sha256sumFile(l));
  const config = {
    architecture: 'amd64',
    os: 'linux',
    created: '2026-01-01T00:00:00Z',
    config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  fs.writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify([{ Config: 'config.json', RepoTags: [tag], Layers: names }]),
  );
  must('tar', ['-C', dir, '-cf', out, '.']);
  fs.rmSync(dir, { recursive: true });
}

function sha256sumFile(file: string): string {
  return `sha256:${must('sha256sum', [file]).split(' ')[0]}`;
}

async function timed(
  _what: string,
  fn: () => Promise<string | void>,
): Promise<{ seconds: number; out: string }> {
  const t0 = performance.now();
  const out = (await fn()) ?? '';
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, out };
}

async function sk(root: string, args: string[]): Promise<string> {
  const r = await skiff(args, { root });
  if (r.code !== 0) throw new Error(`skiff ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function uploaded(out: string): number {
  return Number(/\((\d+) bytes\)/.exec(out)?.[1] ?? NaN);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/registry-push-pull needs root');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-bench-registry-'));
  const registries: Registry[] = [];
  const fresh = async (name: string): Promise<string> => {
    const r = await startRegistry(path.join(work, name));
    registries.push(r);
    return r.host;
  };
  const podmans: Podman[] = [];
  try {
    const host = await fresh('registry');
    const random = layerTar(work, 'random.bin', randomBytes(layerMB * MB));
    const text = layerTar(work, 'text.txt', textCorpus(layerMB * MB));
    const extra = layerTar(work, 'extra.bin', Buffer.concat([randomBytes(5 * MB), textCorpus(5 * MB)]));
    const base = busyboxTar();
    const archive = path.join(work, 'image.tar');
    const archive2 = path.join(work, 'image2.tar');
    dockerArchive(work, [base, random, text], `${host}/bench/app:1`, archive);
    dockerArchive(work, [base, random, text, extra], `${host}/bench/app:2`, archive2);
    const imageMB = (fs.statSync(base).size + fs.statSync(random).size + fs.statSync(text).size) / MB;

    const store = path.join(work, 'skiff');
    await sk(store, ['load', '-i', archive]);
    const cold = await timed('skiff push', () => sk(store, ['push', `${host}/bench/app:1`]));
    const warmHost = await fresh('registry-warm');
    const warm = await timed('skiff push (blobs ready)', () =>
      sk(store, ['push', `${host}/bench/app:1`, `${warmHost}/warm/app:1`]),
    );
    const oci = path.join(work, 'image-oci.tar');
    await sk(store, ['save', '-o', oci, `${host}/bench/app:1`]);
    const skopeoHost = await fresh('registry-skopeo');
    const skopeo = await timed('skopeo copy', async () =>
      must('skopeo', [
        'copy',
        '--dest-tls-verify=false',
        `oci-archive:${oci}`,
        `docker://${skopeoHost}/skopeo/app:1`,
      ]),
    );

    const pm = podman(path.join(work, 'podman-push'), 'overlay');
    podmans.push(pm);
    await pm.ok(['load', '-i', archive]);
    const podmanHost = await fresh('registry-podman');
    const podmanPush = await timed('podman push', async () => {
      await pm.ok([
        'push',
        '--tls-verify=false',
        `${host}/bench/app:1`,
        `docker://${podmanHost}/podman/app:1`,
      ]);
    });
    await pm.cleanup();

    await sk(store, ['load', '-i', archive2]);
    const repush = await timed('skiff push +10 MB', () => sk(store, ['push', `${host}/bench/app:2`]));
    const inspected = JSON.parse(await sk(store, ['inspect', '--type', 'image', `${host}/bench/app:2`])) as {
      Id: string;
      Manifest: { content: { layers: { size: number }[] } };
    }[];
    const extraBlob = inspected[0]!.Manifest.content.layers[3]!.size;
    const configSize = fs.statSync(path.join(store, 'blobs', 'sha256', inspected[0]!.Id.slice(7))).size;

    const pullStore = path.join(work, 'skiff-pull');
    const pull = await timed('skiff pull', () => sk(pullStore, ['pull', `${host}/bench/app:1`]));
    const pmPull = podman(path.join(work, 'podman-pull'), 'overlay');
    podmans.push(pmPull);
    const podmanPull = await timed('podman pull', async () => {
      await pmPull.ok(['pull', '--tls-verify=false', `${host}/bench/app:1`]);
    });

    const row = (name: string, s: number, extraText = '') =>
      console.log(
        `  ${name.padEnd(34)} ${s.toFixed(2).padStart(7)} s ${(imageMB / s).toFixed(0).padStart(6)} MB/s${extraText}`,
      );
    console.log(
      `image: busybox + ${layerMB} MB random + ${layerMB} MB text = ${imageMB.toFixed(0)} MB uncompressed; registries: docker-registry on loopback, a fresh one per contender`,
    );
    console.log('push, fresh repository each:');
    row('skiff push (compresses)', cold.seconds, `   uploaded ${(uploaded(cold.out) / MB).toFixed(1)} MB`);
    row('podman push (compresses)', podmanPush.seconds);
    row(
      'skiff push (gzip blobs ready)',
      warm.seconds,
      `   uploaded ${(uploaded(warm.out) / MB).toFixed(1)} MB`,
    );
    row(
      'skopeo copy oci-archive (ready)',
      skopeo.seconds,
      `  skiff/skopeo ${(warm.seconds / skopeo.seconds).toFixed(2)}`,
    );
    console.log(`  skiff/podman ${(cold.seconds / podmanPush.seconds).toFixed(2)}`);
    console.log('re-push after adding a 10 MB layer:');
    console.log(
      `  skiff push ${repush.seconds.toFixed(2)} s, uploaded ${uploaded(repush.out)} bytes = new layer blob ${extraBlob} + config ${configSize}: ${uploaded(repush.out) === extraBlob + configSize ? 'yes' : 'NO'}`,
    );
    console.log('pull into an empty store:');
    row('skiff pull', pull.seconds);
    row('podman pull (overlay)', podmanPull.seconds);
    console.log(`  skiff/podman ${(pull.seconds / podmanPull.seconds).toFixed(2)}`);
  } finally {
    for (const p of podmans) await p.cleanup();
    for (const r of registries) await r.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
