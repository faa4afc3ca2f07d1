/**
 * Runs a stage's steps over its base image with the build cache. A step is what one
 * Dockerfile instruction becomes once its variables are expanded and its inputs checksummed:
 * a command to RUN, files to COPY, or a change of the image config. Each step's image is
 * committed, so the next build can start from any of them; a step whose key (parent,
 * instruction, args, inputs) was seen before is not run again — a fully cached rebuild runs
 * nothing. The progress reads like `docker build`'s classic output.
 */
import type { Writable } from 'node:stream';
import type { ContainerConfig } from '../oci/config.js';
import type { Digest } from '../oci/digest.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';
import { BuildCache, type StepKey } from './cache.js';
import { copyLayer, type CopyEntry, type CopyLayerOptions } from './copy-layer.js';
import { deriveImage } from './derive-image.js';
import { runStep } from './run-step.js';
import { FailedPrecondition, SkiffError } from '../util/errors.js';
import { readImage, resolveImage } from '../image/image.js';
import { ImageView } from './image-view.js';
import { answersAlike, RecordingView, type ParentView, type ViewQuery } from './parent-view.js';

interface StepBase {
  /** The instruction after expansion, as history and the cache key read it. */
  text: string;
  /** "Dockerfile:7", for errors */
  where: string;
  /** the build args this step can see */
  args?: Record<string, string>;
  /** Make the image without the parent's ONBUILD triggers (they ran in this stage). */
  dropOnBuild?: boolean;
}

export type Step =
  | (StepBase & {
      kind: 'run';
      command: string[];
      env: string[];
      workdir?: string;
      user?: string;
      network?: 'bridge' | 'none' | 'host';
      /** `host:target[:ro]` binds and tmpfs targets (RUN --mount) */
      volumes?: string[];
      tmpfs?: string[];
      /** what the mounts show (context checksums, image IDs), for the key */
      inputs?: string;
    })
  | (StepBase & {
      kind: 'copy';
      plan: CopyEntry[];
      options: CopyLayerOptions;
      /** `--chown` by name, looked up in the parent image's /etc/passwd and /etc/group when it runs */
      chown?: string;
      inputs: string;
      /** each input's own digest, by path or URL, for `--explain-cache` */
      files?: Record<string, string>;
      /** `--link`: the layer is made without looking at the parent, and reused over any parent */
      link?: boolean;
    })
  | (StepBase & {
      kind: 'config';
      apply: (config: ContainerConfig) => void;
      /** WORKDIR: the directory to make when the image lacks it, owned by `user` */
      mkdir?: { path: string; user?: string };
    });

export type BuildEvent =
  | { type: 'step'; index: number; total: number; text: string }
  | { type: 'cached'; index: number; imageId: Digest }
  | { type: 'miss'; index: number; why: string }
  | { type: 'done'; index: number; imageId: Digest; ms: number };

export interface ExecuteOptions {
  noCache?: boolean;
  /** Step output (RUN's stdout and stderr). */
  output?: Writable;
  onEvent?: (event: BuildEvent) => void;
  /** Numbering across stages: the first step's index and the build's step count. */
  firstIndex?: number;
  total?: number;
  /** The base's ONBUILD triggers ran as this stage's first steps: the first step's image drops them. */
  dropOnBuild?: boolean;
}

export async function executeSteps(
  store: Store,
  runtime: Runtime,
  base: Digest | undefined,
  steps: Step[],
  options: ExecuteOptions = {},
): Promise<Digest | undefined> {
  const cache = new BuildCache(store.meta.db);
  const emit = (e: BuildEvent) => options.onEvent?.(e);
  let current = base;
  for (const [i, original] of steps.entries()) {
    const index = (options.firstIndex ?? 1) + i;
    // The base's triggers ran: the stage's first image drops them, and its key says so.
    const step = i === 0 && options.dropOnBuild ? { ...original, dropOnBuild: true } : original;
    emit({ type: 'step', index, total: options.total ?? steps.length, text: step.text });
    const key: StepKey = {
      parent: current ?? 'scratch',
      instruction: step.text,
      args: step.args ?? {},
      inputs: `${step.kind === 'config' ? (step.mkdir ? 'mkdir' : '') : (step.inputs ?? '')}${step.dropOnBuild ? ' onbuild-ran' : ''}`,
      files: step.kind === 'copy' ? step.files : undefined,
    };
    const hit = options.noCache ? undefined : cache.lookup(key);
    if (hit) {
      emit({ type: 'cached', index, imageId: hit });
      current = hit;
      continue;
    }
    // `COPY --link`: its layer does not depend on the parent, so one made over another parent
    // is taken as it is and put on this one (BuildKit's rebase).
    // (Not with an owner by name: that depends on the parent's /etc/passwd.)
    const linkKey =
      step.kind === 'copy' && step.link && step.chown === undefined ? { ...key, parent: 'link' } : undefined;
    const linked = linkKey && !options.noCache ? cache.lookup(linkKey) : undefined;
    const why = options.noCache ? '--no-cache' : cache.explainMiss(key);
    const miss = (reused?: string) => emit({ type: 'miss', index, why: reused ? `${why}; ${reused}` : why });
    // A plain COPY whose layer was made over another parent: reused if this one answers alike.
    const overAnyParent =
      step.kind === 'copy' && !step.link && !options.noCache ? cache.lookupOverAnyParent(key) : undefined;
    const started = performance.now();
    let queries: ViewQuery[] | undefined;
    try {
      if (linked) {
        miss('its --link layer is reused');
        current = (
          await deriveImage(store, current, {
            createdBy: step.text,
            layer: topLayer(store, linked),
            config: step.dropOnBuild ? (c) => delete c.OnBuild : undefined,
          })
        ).id;
      } else {
        const made = await runOne(store, runtime, current, step, { ...options, miss, overAnyParent });
        current = made.id;
        queries = made.queries;
      }
    } catch (err) {
      // Every error of a step names its Dockerfile line.
      if (err instanceof SkiffError && !err.message.startsWith(`${step.where}:`)) {
        err.message = `${step.where}: ${err.message}`;
      }
      throw err;
    }
    cache.record(key, current);
    if (linkKey && !linked) cache.record(linkKey, current);
    if (queries !== undefined) cache.recordOverAnyParent(key, current, queries);
    emit({ type: 'done', index, imageId: current, ms: performance.now() - started });
  }
  return current;
}

interface RunOneOptions extends ExecuteOptions {
  /** Reports the miss, with how the result was reused, if it was. */
  miss: (reused?: string) => void;
  /** For a COPY: the layer it made over another parent, and what it asked of that one. */
  overAnyParent?: { imageId: Digest; queries: ViewQuery[] };
}

/** Makes a step's image; a COPY also says what it asked of its parent, for later reuse. */
async function runOne(
  store: Store,
  runtime: Runtime,
  parent: Digest | undefined,
  step: Step,
  options: RunOneOptions,
): Promise<{ id: Digest; queries?: ViewQuery[] }> {
  if (step.kind !== 'copy') options.miss();
  const dropped = step.dropOnBuild ? (c: ContainerConfig) => delete c.OnBuild : undefined;
  switch (step.kind) {
    case 'run':
      return (async () => {
        if (parent === undefined) {
          throw new FailedPrecondition(`${step.where}: RUN needs a base image with a shell, not scratch`);
        }
        const { layer } = await runStep(store, runtime, {
          image: parent,
          command: step.command,
          env: step.env,
          workdir: step.workdir,
          user: step.user,
          network: step.network,
          volumes: step.volumes,
          tmpfs: step.tmpfs,
          output: options.output,
          where: step.where,
          below: parentLayers(store, parent),
        });
        return deriveImage(store, parent, { createdBy: step.text, layer: layer.diffId, config: dropped });
      })();
    case 'copy':
      return ImageView.with(store, parent, async (view) => {
        const earlier = options.overAnyParent;
        if (earlier !== undefined && answersAlike(view, earlier.queries)) {
          options.miss('the layer it made over another parent is reused (this one answers its paths alike)');
          const layer = topLayer(store, earlier.imageId);
          return deriveImage(store, parent, { createdBy: step.text, layer, config: dropped });
        }
        options.miss();
        // --link: made as over an empty image, so that it fits on any parent; else what it
        // asks of the parent is written down, so the layer can serve another parent too.
        const recorder = step.link ? undefined : new RecordingView(view);
        const chown =
          step.chown === undefined ? step.options.chown : ownerIn(recorder ?? view, step.chown, step.where);
        const layer = await copyLayer(store, step.plan, { ...step.options, chown, view: recorder });
        const image = await deriveImage(store, parent, {
          createdBy: step.text,
          layer: layer.diffId,
          config: dropped,
        });
        return { id: image.id, queries: recorder?.queries };
      });
    case 'config': {
      const config = (c: ContainerConfig) => {
        step.apply(c);
        dropped?.(c);
      };
      const { mkdir } = step;
      if (mkdir === undefined) return deriveImage(store, parent, { createdBy: step.text, config });
      // WORKDIR makes its directory, owned by the stage's USER, when the image lacks it.
      return ImageView.with(store, parent, async (view) => {
        if (view.isDir(mkdir.path)) return deriveImage(store, parent, { createdBy: step.text, config });
        const chown = mkdir.user ? ownerIn(view, mkdir.user, step.where, 'USER ') : undefined;
        const layer = await copyLayer(store, [{ mkdir: true, dest: mkdir.path }], { chown, view });
        return deriveImage(store, parent, { createdBy: step.text, layer: layer.diffId, config });
      });
    }
  }
}

/** The last layer of an image: the one its last step made. */
function topLayer(store: Store, image: Digest): Digest {
  return readImage(store, resolveImage(store, image)).config.rootfs.diff_ids.at(-1)!;
}

/** The image's layer directories, topmost first. */
function parentLayers(store: Store, image: Digest): string[] {
  const { diff_ids } = readImage(store, resolveImage(store, image)).config.rootfs;
  return diff_ids.map((d) => store.layers.diffDir(d)).reverse();
}

/** `--chown=name[:group]` (or USER) as the image's own /etc/passwd and /etc/group say. */
function ownerIn(
  view: ParentView,
  spec: string,
  where: string,
  what = '--chown=',
): { uid: number; gid: number } {
  try {
    return view.owner(spec);
  } catch (err) {
    throw new FailedPrecondition(`${where}: ${what}${spec}: ${(err as Error).message}`, { cause: err });
  }
}
