/**
 * A RUN step: the command runs in a container of the runtime over the parent image, its
 * output goes to the caller, and what it changed — the overlay upper dir, whiteouts included —
 * becomes the new layer (packed in OCI form by archive/pack-dir, so the same changes always
 * give the same diff ID). The container is removed whatever happens; a failing command leaves
 * no layer behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { packDir } from '../archive/pack-dir.js';
import type { Digest } from '../oci/digest.js';
import { attach, type Attached } from '../runtime/attach.js';
import { rootfsDirs } from '../runtime/rootfs.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';
import { FailedPrecondition } from '../util/errors.js';

export interface RunStepInput {
  /** The parent image (ID or name). */
  image: string;
  /** The process: `['/bin/sh', '-c', text]` for the shell form. */
  command: string[];
  env?: string[];
  workdir?: string;
  user?: string;
  /** RUN --network: the default is the bridge, as BuildKit's sandbox has a network. */
  network?: 'bridge' | 'none' | 'host';
  /** RUN --mount: `host:target[:ro]` binds and tmpfs targets; none of it lands in the layer. */
  volumes?: string[];
  tmpfs?: string[];
  /** Where the command's stdout and stderr go, interleaved as written. */
  output?: Writable;
  /** Names the step in errors ("Dockerfile:7"). */
  where?: string;
  /** The parent image's layer directories, topmost first: tells a mount's stub from the image's own. */
  below?: string[];
}

export interface RunStepResult {
  layer: { diffId: Digest; size: number };
}

export async function runStep(store: Store, runtime: Runtime, input: RunStepInput): Promise<RunStepResult> {
  const row = runtime.create({
    image: input.image,
    entrypoint: [],
    command: input.command,
    env: input.env,
    workdir: input.workdir,
    user: input.user,
    network: input.network ?? 'bridge',
    volumes: input.volumes,
    tmpfs: input.tmpfs,
    labels: { 'io.skiff.build': 'run' },
  });
  try {
    const sink = input.output ?? new PassThrough().resume();
    let attached: Attached | undefined;
    await runtime.start(row.id, {
      beforeStart: (bundle) => {
        attached = attach(bundle, { stdout: sink, stderr: sink });
      },
    });
    await attached?.done;
    attached?.close();
    const code = await runtime.wait(row.id);
    if (code !== 0) {
      const command = input.command.join(' ');
      throw new FailedPrecondition(
        `${input.where ?? 'RUN'}: \`${command.length > 80 ? `${command.slice(0, 77)}...` : command}\` exited with status ${code}`,
        { code: 'RUN_FAILED' },
      );
    }
    const { upper } = rootfsDirs(runtime.containerDir(row.id));
    removeStubs(upper, mountTargets(input), input.below ?? []);
    const layer = await store.locked('shared', async () => {
      const unpacked = await store.layers.unpack(packDir(upper));
      store.meta.addLayer(unpacked);
      return unpacked;
    });
    return { layer: { diffId: layer.diffId, size: layer.size } };
  } finally {
    await runtime.remove(row.id, { force: true });
  }
}

/** RUN's mounts, and the files the runtime itself binds over the image's. */
function mountTargets(input: RunStepInput): string[] {
  const targets = (input.volumes ?? []).map((v) => v.split(':')[1]!);
  return [
    ...targets,
    ...(input.tmpfs ?? []).map((t) => t.split(':')[0]!),
    '/etc/hosts',
    '/etc/resolv.conf',
    '/etc/hostname',
  ];
}

/**
 * The runtime makes a mount's target (and missing parents) in the container's root when the
 * image lacks it; those empty stubs are not the command's doing and stay out of the layer, as
 * with BuildKit. A stub is an empty directory or file at the target or above it that no
 * layer below has.
 */
function removeStubs(upper: string, targets: string[], below: string[]): void {
  for (const target of targets) {
    for (let p = path.posix.normalize(target); p !== '/'; p = path.posix.dirname(p)) {
      const inUpper = path.join(upper, p);
      const st = fs.lstatSync(inUpper, { throwIfNoEntry: false });
      if (st === undefined) continue;
      const empty = st.isDirectory() ? fs.readdirSync(inUpper).length === 0 : st.isFile() && st.size === 0;
      if (!empty || below.some((layer) => fs.existsSync(path.join(layer, p)))) break;
      if (st.isDirectory()) fs.rmdirSync(inUpper);
      else fs.unlinkSync(inUpper);
    }
  }
}
