/**
 * An image of 151 layers runs: the overlay mount's options must fit in one page, which the
 * short lower-dir links (l/<16 hex>, given relative to the store root) make room for. The
 * image is an OCI layout written here by hand from GNU tar layers, then loaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { busyboxTar, makeSandbox, sha256sum } from './helpers.js';
import { discardRoot } from './container-testing.js';
import { needs } from '../src/util/test-requirements.js';

const EXTRA_LAYERS = 150;

test('an image of 151 layers mounts and runs', { skip: needs('root') }, async () => {
  const s = makeSandbox('skiff-deep-');
  try {
    const layout = path.join(s.dir, 'layout');
    const blobs = path.join(layout, 'blobs', 'sha256');
    fs.mkdirSync(blobs, { recursive: true });
    const addBlob = (file: string): { digest: string; size: number } => {
      const hex = sha256sum(file).replace(/^sha256:/, '');
      fs.copyFileSync(file, path.join(blobs, hex));
      return { digest: `sha256:${hex}`, size: fs.statSync(file).size };
    };
    const layers = [addBlob(busyboxTar())];
    for (let i = 0; i < EXTRA_LAYERS; i++) {
      const dir = path.join(s.dir, `l${i}`);
      fs.mkdirSync(path.join(dir, 'layers'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'layers', String(i)), `${i}\n`);
      const tar = path.join(s.dir, `l${i}.tar`);
      execFileSync('tar', ['-C', dir, '--numeric-owner', '-cf', tar, 'layers']);
      layers.push(addBlob(tar));
    }
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: ['sh'] },
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      }),
    );
    fs.writeFileSync(path.join(s.dir, 'config.json'), config);
    const configBlob = addBlob(path.join(s.dir, 'config.json'));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l })),
      }),
    );
    fs.writeFileSync(path.join(s.dir, 'manifest.json'), manifest);
    const manifestBlob = addBlob(path.join(s.dir, 'manifest.json'));
    fs.writeFileSync(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    fs.writeFileSync(
      path.join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            ...manifestBlob,
            annotations: { 'io.containerd.image.name': 'docker.io/library/deep:1' },
          },
        ],
      }),
    );
    const archive = path.join(s.dir, 'deep.tar');
    execFileSync('tar', ['-C', layout, '-cf', archive, '.']);

    await s.ok(['load', '-i', archive]);
    const run = await s.ok([
      'run',
      '--rm',
      '--network',
      'none',
      'deep:1',
      'sh',
      '-c',
      'ls /layers | wc -l; cat /layers/149',
    ]);
    assert.deepEqual(run.stdout.trim().split('\n'), [String(EXTRA_LAYERS), '149']);
    const mounts = fs.readFileSync('/proc/mounts', 'utf8');
    assert.ok(!mounts.includes(s.root), 'no overlay left mounted');
  } finally {
    await discardRoot(s);
  }
});
