/**
 * One build step's image: the parent's config with the step's change, its layer (if the step
 * made one) appended to rootfs.diff_ids, and a history entry saying what made it —
 * `empty_layer: true` for the steps that only change the config, as the image spec asks.
 */
import type { ContainerConfig, ImageConfig } from '../oci/config.js';
import type { Digest } from '../oci/digest.js';
import { hostPlatform } from '../oci/platform.js';
import { commitImage, type Committed } from '../image/commit.js';
import { readImage, resolveImage } from '../image/image.js';
import type { Store } from '../store/store.js';

export interface StepChange {
  /** `/bin/sh -c #(nop) ENV K=V` style text, as `docker history` shows it */
  createdBy: string;
  layer?: Digest;
  /** Edits the container config in place (ENV, WORKDIR, CMD, …). */
  config?: (config: ContainerConfig) => void;
  tags?: string[];
  /** The step's time; defaults to now. */
  created?: string;
}

/** The parent image's config, or a fresh one for `FROM scratch`. */
export function parentConfig(store: Store, parent: string | undefined): ImageConfig {
  if (parent === undefined) {
    const platform = hostPlatform();
    return {
      created: new Date(0).toISOString(),
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: {},
      rootfs: { type: 'layers', diff_ids: [] },
      history: [],
    };
  }
  return structuredClone(readImage(store, resolveImage(store, parent)).config);
}

export async function deriveImage(
  store: Store,
  parent: string | undefined,
  change: StepChange,
): Promise<Committed & { config: ImageConfig }> {
  const config = parentConfig(store, parent);
  const created = change.created ?? new Date().toISOString();
  const container: ContainerConfig = config.config ?? {};
  change.config?.(container);
  const next: ImageConfig = {
    ...config,
    created,
    config: container,
    rootfs: {
      type: 'layers',
      diff_ids: change.layer ? [...config.rootfs.diff_ids, change.layer] : config.rootfs.diff_ids,
    },
    history: [
      ...(config.history ?? []),
      { created, created_by: change.createdBy, ...(change.layer ? {} : { empty_layer: true }) },
    ],
  };
  const committed = await commitImage(store, { config: next, tags: change.tags });
  return { ...committed, config: next };
}
