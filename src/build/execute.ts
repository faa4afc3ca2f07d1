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
import { FailedPrecondition } from '../util/errors.js';

interface StepBase {
  /** The instruction after expansion, as history and the cache key read it. */
  text: string;
  /** "Dockerfile:7", for errors */
  where: string;
  /** the build args this step can see */
  args?: Record<string, string>;
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
  | (StepBase & { kind: 'copy'; plan: CopyEntry[]; options: CopyLayerOptions; inputs: string })
  | (StepBase & { kind: 'config'; apply: (config: ContainerConfig) => void });

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
  for (const [i, step] of steps.entries()) {
    const index = (options.firstIndex ?? 1) + i;
    emit({ type: 'step', index, total: options.total ?? steps.length, text: step.text });
    const key: StepKey = {
      parent: current ?? 'scratch',
      instruction: step.text,
      args: step.args ?? {},
      inputs: step.kind === 'config' ? '' : (step.inputs ?? ''),
    };
    const hit = options.noCache ? undefined : cache.lookup(key);
    if (hit) {
      emit({ type: 'cached', index, imageId: hit });
      current = hit;
      continue;
    }
    emit({ type: 'miss', index, why: options.noCache ? '--no-cache' : cache.explainMiss(key) });
    const started = performance.now();
    current = (await runOne(store, runtime, current, step, options)).id;
    cache.record(key, current);
    emit({ type: 'done', index, imageId: current, ms: performance.now() - started });
  }
  return current;
}

function runOne(
  store: Store,
  runtime: Runtime,
  parent: Digest | undefined,
  step: Step,
  options: ExecuteOptions,
) {
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
        });
        return deriveImage(store, parent, { createdBy: step.text, layer: layer.diffId });
      })();
    case 'copy':
      return (async () => {
        const layer = await copyLayer(store, step.plan, step.options);
        return deriveImage(store, parent, { createdBy: step.text, layer: layer.diffId });
      })();
    case 'config':
      return deriveImage(store, parent, { createdBy: step.text, config: step.apply });
  }
}
